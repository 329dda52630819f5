"""Builders for queue tests: patients, staff logins, services, desks and waiting tickets."""

import datetime
import itertools

from accounts.models import ClinicMembership, User
from patients.models import Patient
from queueing.models import Service
from queueing.services.setup import desk_create, service_create
from queueing.services.tickets import ticket_issue

_cpfs = itertools.count(10_000_000_001)
_emails = itertools.count(1)


def patient(*, birth_date: datetime.date | None = datetime.date(1990, 5, 17), name="Ana Souza"):
    return Patient.objects.create(cpf=f"{next(_cpfs):011d}", full_name=name, birth_date=birth_date)


def staff(clinic, role: str = "receptionist") -> User:
    """A user with an active membership at `clinic`; call in the public schema or any."""
    user = User.objects.create_user(f"staff{next(_emails)}@test.clinico", "pw-irrelevant-123")
    ClinicMembership.objects.create(user=user, clinic=clinic, role=role)
    return user


def reception() -> Service:
    return Service.objects.get(is_default=True)


def service(name: str = "Triagem", prefix: str = "T", **kwargs) -> Service:
    return service_create(name=name, prefix=prefix, **kwargs)


def desk(name: str, *services: Service, is_active: bool = True):
    return desk_create(name=name, service_ids=[s.pk for s in services], is_active=is_active)


def waiting(svc: Service, *, reason: str = "", birth_date=datetime.date(1990, 5, 17), **kwargs):
    """A waiting ticket of a new patient."""
    return ticket_issue(
        patient=patient(birth_date=birth_date), service=svc, priority_reason=reason, **kwargs
    )
