"""Writes of the clinic's set-up: services (lines with a ticket prefix) and desks."""

import enum
import re
from collections.abc import Iterable
from typing import Final, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from events.services import event_record
from queueing.models import Desk, PriorityPolicy, Service

DEFAULT_SERVICE_NAME = "Recepção"
DEFAULT_SERVICE_PREFIX = "R"
PREFIX_RE = re.compile(r"[A-Z]{1,3}")


class _Unset(enum.Enum):
    """An argument left out: unlike None (a value some fields take), it changes nothing."""

    UNSET = enum.auto()


_UNSET: Final = _Unset.UNSET
Unset = Literal[_Unset.UNSET]


@transaction.atomic
def service_create_default() -> Service:
    """The service every new clinic starts with, so check-in works on day one."""
    service = Service(name=DEFAULT_SERVICE_NAME, prefix=DEFAULT_SERVICE_PREFIX, is_default=True)
    service.full_clean()
    service.save()
    return service


def _service_validate(service: Service) -> None:
    """Field-named errors for the rules the table's constraints also enforce."""
    errors: dict[str, str] = {}
    service.name = (service.name or "").strip()
    if not service.name:
        errors["name"] = _("Name is required.")
    elif Service.objects.filter(name__iexact=service.name).exclude(pk=service.pk).exists():
        errors["name"] = _('A service named "%(name)s" already exists.') % {"name": service.name}
    if not PREFIX_RE.fullmatch(service.prefix or ""):
        errors["prefix"] = _("The prefix is 1 to 3 upper-case letters (A-Z), e.g. R, TRI.")
    elif Service.objects.filter(prefix=service.prefix).exclude(pk=service.pk).exists():
        errors["prefix"] = _('Prefix "%(prefix)s" is already used by another service.') % {
            "prefix": service.prefix
        }
    if service.priority_policy == PriorityPolicy.INTERLEAVE and not (
        service.interleave_after and service.interleave_after >= 1
    ):
        errors["interleave_after"] = _(
            "With the interleave policy, say after how many priority calls (1 or more) a "
            "normal ticket is called."
        )
    if service.is_default and not service.is_active:
        errors["is_active"] = _(
            "This is the default service, which takes check-ins without a service; "
            "it cannot be deactivated."
        )
    if errors:
        raise ValidationError(errors)
    service.full_clean()


@transaction.atomic
def service_create(
    *,
    name: str,
    prefix: str,
    is_active: bool = True,
    target_wait_minutes: int = 30,
    priority_policy: str = PriorityPolicy.STRICT,
    interleave_after: int | None = None,
    appointment_early_minutes: int = 30,
    appointment_late_minutes: int = 15,
    display_order: int = 0,
) -> Service:
    """A new service (line) of the clinic, numbered from 1 each day with its own prefix."""
    service = Service(
        name=name,
        prefix=prefix,
        is_active=is_active,
        target_wait_minutes=target_wait_minutes,
        priority_policy=priority_policy,
        interleave_after=interleave_after,
        appointment_early_minutes=appointment_early_minutes,
        appointment_late_minutes=appointment_late_minutes,
        display_order=display_order,
    )
    _service_validate(service)
    service.save()
    return service


@transaction.atomic
def service_update(
    *,
    service: Service,
    name: str | Unset = _UNSET,
    prefix: str | Unset = _UNSET,
    is_active: bool | Unset = _UNSET,
    target_wait_minutes: int | Unset = _UNSET,
    priority_policy: str | Unset = _UNSET,
    interleave_after: int | None | Unset = _UNSET,
    appointment_early_minutes: int | Unset = _UNSET,
    appointment_late_minutes: int | Unset = _UNSET,
    display_order: int | Unset = _UNSET,
) -> Service:
    """Change a service; tickets already issued keep their display codes."""
    service = Service.objects.select_for_update().get(pk=service.pk)
    changes = {
        "name": name,
        "prefix": prefix,
        "is_active": is_active,
        "target_wait_minutes": target_wait_minutes,
        "priority_policy": priority_policy,
        "interleave_after": interleave_after,
        "appointment_early_minutes": appointment_early_minutes,
        "appointment_late_minutes": appointment_late_minutes,
        "display_order": display_order,
    }
    for field_name, value in changes.items():
        if value is not _UNSET:
            setattr(service, field_name, value)
    _service_validate(service)
    service.save()
    return service


def _desk_services(service_ids: Iterable[int]) -> list[Service]:
    ids = sorted(set(service_ids))
    if not ids:
        raise ValidationError({"services": _("A desk serves at least one service.")})
    services = list(Service.objects.filter(pk__in=ids))
    missing = sorted(set(ids) - {s.pk for s in services})
    if missing:
        raise ValidationError(
            {
                "services": _("Unknown service id(s): %(ids)s.")
                % {"ids": ", ".join(str(i) for i in missing)}
            }
        )
    return services


def _desk_validate_name(desk: Desk) -> None:
    desk.name = (desk.name or "").strip()
    if not desk.name:
        raise ValidationError({"name": _("Name is required.")})
    if Desk.objects.filter(name__iexact=desk.name).exclude(pk=desk.pk).exists():
        raise ValidationError(
            {"name": _('A desk named "%(name)s" already exists.') % {"name": desk.name}}
        )


@transaction.atomic
def desk_create(*, name: str, service_ids: Iterable[int], is_active: bool = True) -> Desk:
    """A desk or consulting room that calls tickets of the given services."""
    desk = Desk(name=name, is_active=is_active)
    _desk_validate_name(desk)
    services = _desk_services(service_ids)
    desk.full_clean()
    desk.save()
    desk.services.set(services)
    return desk


@transaction.atomic
def desk_update(
    *,
    desk: Desk,
    name: str | Unset = _UNSET,
    service_ids: Iterable[int] | Unset = _UNSET,
    is_active: bool | Unset = _UNSET,
) -> Desk:
    """Rename a desk, change the services it calls or (de)activate it."""
    desk = Desk.objects.select_for_update().get(pk=desk.pk)
    if name is not _UNSET:
        desk.name = name
        _desk_validate_name(desk)
    switched = is_active is not _UNSET and is_active != desk.is_active
    if is_active is not _UNSET:
        desk.is_active = is_active
    services = _desk_services(service_ids) if service_ids is not _UNSET else None
    desk.full_clean()
    desk.save()
    if services is not None:
        desk.services.set(services)
    if switched:
        # The waiting room's panels show the desk (or stop showing it) at once.
        kind = "desk.activated" if desk.is_active else "desk.deactivated"
        event_record(kind=kind, at=timezone.now(), desk_id=desk.pk, data={"desk": desk.name})
    return desk
