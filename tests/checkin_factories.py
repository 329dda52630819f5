"""Factories of the check-in tests: staff with a role at a clinic, valid CPFs, requests."""

import itertools

from rest_framework.test import APIClient
from validate_docbr import CPF

from accounts.models import ClinicMembership, User
from tenants.selectors import clinic_hostname

_user_numbers = itertools.count(1)


def cpf_from_number(number: int) -> str:
    """A valid CPF (11 digits) derived from `number`: distinct numbers, distinct CPFs."""
    base = f"{number:09d}"[-9:]
    if len(set(base)) == 1:
        base = f"{(number + 1) % 10**9:09d}"
    generator = CPF()
    digits = list(base)
    digits.append(generator._generate_first_digit(digits))
    digits.append(generator._generate_second_digit(digits))
    return "".join(digits)


def staff_user(clinic, role: str) -> User:
    user = User.objects.create_user(
        f"{role}{next(_user_numbers)}@{clinic.schema_name.replace('_', '-')}.test", "pw"
    )
    ClinicMembership.objects.create(user=user, clinic=clinic, role=role)
    return user


def staff_client(clinic, role: str = "receptionist", user: User | None = None) -> APIClient:
    """An API client on the clinic's host, signed in as a new staff member with `role`."""
    client = APIClient(HTTP_HOST=clinic_hostname(clinic=clinic))
    client.force_authenticate(user=user or staff_user(clinic, role))
    return client


def new_patient_body(cpf: str, **extra) -> dict:
    return {
        "cpf": cpf,
        "patient": {"full_name": "Maria da Silva", "birth_date": "1990-03-14"},
        **extra,
    }
