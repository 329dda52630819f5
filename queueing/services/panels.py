"""Writes of the clinic's waiting-room panels: create, change, delete, new key."""

import hashlib
import secrets
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from queueing.models import Desk, Panel, Service
from queueing.services.setup import _UNSET, Unset

DEFAULT_PANEL_NAME = "Painel principal"


def panel_key_new() -> str:
    """A fresh panel key: 32 random URL-safe characters."""
    return secrets.token_urlsafe(24)


def panel_key_hash(key: str) -> str:
    """The digest a panel's key is stored and looked up by (keys are random: no salt needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def _panel_validate(panel: Panel) -> None:
    panel.name = (panel.name or "").strip()
    if not panel.name:
        raise ValidationError({"name": _("Name is required.")})
    if Panel.objects.filter(name__iexact=panel.name).exclude(pk=panel.pk).exists():
        raise ValidationError(
            {"name": _('A panel named "%(name)s" already exists.') % {"name": panel.name}}
        )
    if not Decimal("0.5") <= Decimal(panel.voice_rate) <= Decimal("2"):
        raise ValidationError(
            {"voice_rate": _("The voice rate is between 0.5 and 2 (1 is normal).")}
        )
    panel.full_clean(exclude=["key_hash"])


def _panel_targets(
    *, desk_ids: Iterable[int], service_ids: Iterable[int]
) -> tuple[list[Desk], list[Service]]:
    desk_ids, service_ids = sorted(set(desk_ids)), sorted(set(service_ids))
    desks = list(Desk.objects.filter(pk__in=desk_ids))
    services = list(Service.objects.filter(pk__in=service_ids))
    if missing := sorted(set(desk_ids) - {d.pk for d in desks}):
        raise ValidationError(
            {"desks": _("Unknown desk id(s): %(ids)s.") % {"ids": ", ".join(map(str, missing))}}
        )
    if missing := sorted(set(service_ids) - {s.pk for s in services}):
        raise ValidationError(
            {
                "services": _("Unknown service id(s): %(ids)s.")
                % {"ids": ", ".join(map(str, missing))}
            }
        )
    return desks, services


@transaction.atomic
def panel_create(
    *,
    name: str,
    desk_ids: Iterable[int] = (),
    service_ids: Iterable[int] = (),
    voice_enabled: bool = False,
    voice_rate: Decimal | float = Decimal(1),
    is_default: bool = False,
    key: str | None = None,
) -> tuple[Panel, str]:
    """A new panel showing the given desks' and services' calls (none: every desk), and its key.

    The key is returned once; only its digest is kept.
    """
    key = key or panel_key_new()
    panel = Panel(
        name=name,
        key_hash=panel_key_hash(key),
        is_default=is_default,
        voice_enabled=voice_enabled,
        voice_rate=Decimal(str(voice_rate)),
    )
    _panel_validate(panel)
    desks, services = _panel_targets(desk_ids=desk_ids, service_ids=service_ids)
    panel.save()
    panel.desks.set(desks)
    panel.services.set(services)
    return panel, key


@transaction.atomic
def panel_create_default(*, key: str | None = None) -> tuple[Panel, str]:
    """The panel every new clinic starts with: every desk's calls."""
    return panel_create(name=DEFAULT_PANEL_NAME, is_default=True, key=key)


@transaction.atomic
def panel_update(
    *,
    panel: Panel,
    name: str | Unset = _UNSET,
    desk_ids: Iterable[int] | Unset = _UNSET,
    service_ids: Iterable[int] | Unset = _UNSET,
    voice_enabled: bool | Unset = _UNSET,
    voice_rate: Decimal | float | Unset = _UNSET,
) -> Panel:
    """Rename a panel, change what it shows or how it speaks; its key stays."""
    panel = Panel.objects.select_for_update().get(pk=panel.pk)
    if name is not _UNSET:
        panel.name = name
    if voice_enabled is not _UNSET:
        panel.voice_enabled = voice_enabled
    if voice_rate is not _UNSET:
        panel.voice_rate = Decimal(str(voice_rate))
    _panel_validate(panel)
    desks, services = _panel_targets(
        desk_ids=() if desk_ids is _UNSET else desk_ids,
        service_ids=() if service_ids is _UNSET else service_ids,
    )
    panel.save()
    if desk_ids is not _UNSET:
        panel.desks.set(desks)
    if service_ids is not _UNSET:
        panel.services.set(services)
    return panel


@transaction.atomic
def panel_key_rotate(*, panel: Panel) -> tuple[Panel, str]:
    """A new key for `panel`: the TV holding the old key or its cookie is refused from now on."""
    panel = Panel.objects.select_for_update().get(pk=panel.pk)
    key = panel_key_new()
    panel.key_hash = panel_key_hash(key)
    panel.key_rotated_at = timezone.now()
    panel.save(update_fields=["key_hash", "key_rotated_at"])
    return panel, key


@transaction.atomic
def panel_delete(*, panel: Panel) -> None:
    """Remove a panel (its TV is refused); the default panel stays."""
    if panel.is_default:
        raise ValidationError(
            {"non_field_errors": [_("The default panel cannot be deleted; rename or change it.")]}
        )
    panel.delete()
