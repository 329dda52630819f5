"""Check-in by CPF: store the request, publish its task, turn it into a ticket.

The CheckIn row is the record of the request. It is written before anything is published, so a
broker outage never loses a check-in: the request still answers 202 and the sweeper republishes
whatever is left pending (`checkin_republish`), found through the public index of pending
check-ins that a trigger keeps in the check-in's own transaction (migration 0004).
"""

import datetime
import functools
import hashlib
import json
import logging
import time
import uuid
from typing import Any

from amqp.exceptions import AMQPError
from celery import current_app
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError

from accounts.models import User
from audit.models import AccessAction
from audit.services import AccessActor, access_record
from common.rows import ColumnList, columns, from_row
from patients.selectors import patient_exists
from patients.services import patient_lock_or_register
from queueing.models import (
    CheckIn,
    CheckInStatus,
    PriorityReason,
    Service,
)
from queueing.selectors.checkins import CHECKIN_PENDING_INDEX
from queueing.services.arrivals import arrival_rank
from queueing.services.ticket_sql import CheckInQueued
from queueing.services.tickets import ticket_issue_unless_open

logger = logging.getLogger(__name__)

# The registered name of the task that runs `checkin_process` (queueing.tasks).
CHECKIN_PROCESS_TASK = "queueing.checkin_process_task"

# Reasons a receptionist may declare; the age tiers (60+, 80+) come from the birth date.
DECLARABLE_PRIORITY_REASONS = tuple(
    reason
    for reason in PriorityReason.values
    if reason not in (PriorityReason.AGE_60, PriorityReason.AGE_80)
)
REQUIRED_REGISTRATION_FIELDS = ("full_name", "birth_date")

# After a failed publish this process stops trying for a few seconds: requests stay fast while
# the broker is down, and the sweeper republishes what they left pending.
BROKER_RETRY_AFTER_SECONDS = 5.0
_broker_down_until = 0.0
BROKER_ERRORS = (KombuOperationalError, AMQPError, ConnectionError, OSError, TimeoutError)


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was already used for a different check-in request."""

    def __init__(self, checkin: CheckIn):
        super().__init__("Idempotency-Key reused with a different request.")
        self.checkin = checkin


def _registration_normalized(registration: dict | None) -> dict:
    """Registration as stored in JSON: known keys, dates as ISO text, empty values dropped."""
    normalized = {}
    for key, value in (registration or {}).items():
        if value in (None, ""):
            continue
        if isinstance(value, datetime.date):
            value = value.isoformat()
        normalized[key] = value.strip() if isinstance(value, str) else value
    return normalized


def _service_for_checkin(*, service_id: int | None) -> Service:
    """The service a check-in asks for (the clinic's default when None), or why it can't be."""
    if service_id is None:
        service = Service.objects.filter(is_default=True, is_active=True).first()
        if service is None:
            raise ValidationError(
                {"service": _("This clinic has no active default service; choose a service.")}
            )
        return service
    service = Service.objects.filter(pk=service_id).first()
    if service is None:
        raise ValidationError(
            {"service": _("There is no service with id %(id)s.") % {"id": service_id}}
        )
    if not service.is_active:
        raise ValidationError(
            {"service": _('The service "%(name)s" is not active.') % {"name": service.name}}
        )
    return service


_CHECKIN_INSERT_COLUMNS = ColumnList(
    CheckIn,
    (
        "id",
        "cpf",
        "registration",
        "service_id",
        "priority_reason",
        "idempotency_key",
        "status",
        "failure_reason",
        "created_by_id",
        "partner_client_id",
        "actor_email",
        "actor_role",
        "actor_address",
        "created_at",
        "last_published_at",
        "publish_count",
    ),
    insert=True,
)
# The check-in row and the check of its service in one statement: no row when the service is
# missing or inactive (then `_service_for_checkin` says which).
_CHECKIN_INSERT_SQL = f"""
    INSERT INTO {CheckIn._meta.db_table} ({_CHECKIN_INSERT_COLUMNS.sql()})
    SELECT %(id)s, %(cpf)s, %(registration)s::jsonb, s.id, %(priority_reason)s, NULL,
           %(pending)s, '', %(actor)s, %(partner)s, %(actor_email)s, %(actor_role)s,
           %(actor_address)s, %(now)s, %(now)s, 1
    FROM {Service._meta.db_table} s
    WHERE s.is_active AND {{service}}
    ORDER BY s.id LIMIT 1
    RETURNING service_id
"""


def _checkin_insert(checkin: CheckIn, *, service_id: int | None) -> bool:
    """Insert `checkin` for the requested service; False (nothing written) if it can't be used."""
    sql = _CHECKIN_INSERT_SQL.format(
        service="s.is_default" if service_id is None else "s.id = %(service)s"
    )
    params = {
        "id": str(checkin.pk),
        "cpf": checkin.cpf,
        "registration": json.dumps(checkin.registration),
        "priority_reason": checkin.priority_reason,
        "pending": str(CheckInStatus.PENDING),
        "actor": checkin.created_by_id,
        "partner": checkin.partner_client_id,
        "actor_email": checkin.actor_email,
        "actor_role": checkin.actor_role,
        "actor_address": checkin.actor_address,
        "now": checkin.created_at,
        "service": service_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    checkin.service_id = row[0]
    checkin._state.adding = False
    return True


def _registration_for_new_patient(*, cpf: str, registration: dict) -> dict:
    """The registration to store: as sent, or a pending check-in's for the same new CPF."""
    missing = [field for field in REQUIRED_REGISTRATION_FIELDS if not registration.get(field)]
    if not missing or patient_exists(cpf=cpf):
        return registration
    earlier = (
        CheckIn.objects.filter(cpf=cpf, status=CheckInStatus.PENDING)
        .exclude(registration={})
        .values_list("registration", flat=True)
        .first()
    )
    if earlier and all(earlier.get(field) for field in REQUIRED_REGISTRATION_FIELDS):
        return {**earlier, **registration}
    raise ValidationError(
        {
            f"patient.{field}": _("Required: this CPF is not registered at this clinic yet.")
            for field in missing
        }
    )


def checkin_request_hash(*, cpf: str, registration: dict) -> str:
    """A keyed hash of the CPF (32 characters) then of the registration (32), for replays."""
    registration_json = json.dumps(registration, sort_keys=True)
    cpf_part = salted_hmac("checkin.cpf", cpf, algorithm="sha256").hexdigest()[:32]
    registration_part = salted_hmac(
        "checkin.registration", registration_json, algorithm="sha256"
    ).hexdigest()[:32]
    return cpf_part + registration_part


def _same_request(
    checkin: CheckIn, *, cpf: str, service: Service, priority_reason: str, registration: dict
) -> bool:
    if checkin.service_id != service.pk or checkin.priority_reason != priority_reason:
        return False
    if checkin.request_hash and not checkin.cpf:
        # Past the retention window only the hash is left; no registration replays the same.
        replay = checkin_request_hash(cpf=cpf, registration=registration)
        return replay[:32] == checkin.request_hash[:32] and (
            not registration or replay[32:] == checkin.request_hash[32:]
        )
    return checkin.cpf == cpf and checkin.registration == registration


def idempotency_key_scoped(
    *, key: str, actor: User | None = None, partner_client_id: str = ""
) -> str:
    """The stored form of a caller's Idempotency-Key: scoped to its principal (64 characters).

    Keys are the caller's own, as with Stripe: another user or partner sending the same key
    makes its own check-in and never gets this caller's. Check-ins with neither a user nor a
    partner (the totem) share the clinic's scope.
    """
    if actor is not None:
        principal = f"user:{actor.pk}"
    elif partner_client_id:
        principal = f"partner:{partner_client_id}"
    else:
        principal = "clinic"
    return hashlib.sha256(f"{principal}\x1f{key}".encode()).hexdigest()


@transaction.atomic
def checkin_create(
    *,
    cpf: str,
    registration: dict | None = None,
    service_id: int | None = None,
    priority_reason: str = "",
    idempotency_key: str | None = None,
    actor: User | None = None,
    partner_client_id: str = "",
    actor_email: str = "",
    actor_role: str = "",
    actor_address: str = "",
) -> tuple[CheckIn, bool]:
    """Store a pending check-in and publish its task after commit; (check-in, created).

    `cpf` is already validated (11 digits). A repeated `idempotency_key` returns the first
    check-in (created False); reused with a different request it raises IdempotencyKeyReused.
    Without a key, the row is one INSERT that also checks the service. Keys are scoped to the
    caller (`idempotency_key_scoped`). `actor_email`, `actor_role` and `actor_address` go into
    the access-trail entry written when the check-in is processed.
    """
    if priority_reason and priority_reason not in DECLARABLE_PRIORITY_REASONS:
        raise ValidationError(
            {
                "priority_reason": _(
                    "Age priority is computed from the birth date; do not declare it."
                )
            }
        )
    registration = _registration_normalized(registration)
    if idempotency_key:
        idempotency_key = idempotency_key_scoped(
            key=idempotency_key, actor=actor, partner_client_id=partner_client_id
        )
        service = _service_for_checkin(service_id=service_id)
        request = {
            "cpf": cpf,
            "service": service,
            "priority_reason": priority_reason,
            "registration": registration,
        }
        existing = CheckIn.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return _replayed(existing, **request)
    now = timezone.now()
    checkin = CheckIn(
        id=uuid.uuid4(),
        cpf=cpf,
        registration=_registration_for_new_patient(cpf=cpf, registration=registration),
        priority_reason=priority_reason,
        idempotency_key=idempotency_key or None,
        created_by=actor,
        partner_client_id=partner_client_id,
        actor_email=actor_email or (actor.email if actor is not None else ""),
        actor_role=actor_role,
        actor_address=actor_address[:45],
        created_at=now,
        # The publish after commit is recorded here, saving the request a second write.
        last_published_at=now,
        publish_count=1,
    )
    # The actor was just read and the service is checked by the insert itself.
    checkin.full_clean(
        exclude=["service", "created_by"], validate_unique=False, validate_constraints=False
    )
    if not idempotency_key:
        if not _checkin_insert(checkin, service_id=service_id):
            checkin.service = _service_for_checkin(service_id=service_id)  # raises why, or
            checkin.save(force_insert=True)  # the service was (re)activated meanwhile
    else:
        checkin.service = service
        try:
            with transaction.atomic():
                checkin.save(force_insert=True)
        except IntegrityError:
            # A concurrent request with the same key won the insert; answer with its check-in.
            existing = CheckIn.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:
                raise
            return _replayed(existing, **request)
    transaction.on_commit(functools.partial(checkin_publish, checkin_id=checkin.pk, record=False))
    return checkin, True


def _replayed(existing: CheckIn, **request: Any) -> tuple[CheckIn, bool]:
    stored = existing.registration
    request_registration = request["registration"]
    # A replay without registration (or with what was stored) is the same request.
    same = _same_request(
        existing,
        cpf=request["cpf"],
        service=request["service"],
        priority_reason=request["priority_reason"],
        registration=stored if request_registration in ({}, stored) else request_registration,
    )
    if not same:
        raise IdempotencyKeyReused(existing)
    return existing, False


def checkin_publish(
    *, checkin_id: uuid.UUID, honour_backoff: bool = True, record: bool = True
) -> bool:
    """Publish the check-in's task to the current clinic's queue; False if the broker is down.

    Never raises for a broker failure: the check-in stays pending and the sweeper retries.
    `record` counts the attempt on the row (check-in creation counts its first one itself).
    """
    global _broker_down_until
    if honour_backoff and time.monotonic() < _broker_down_until:
        return False
    try:
        # By name: the task module imports this one, never the other way round. The tenant-aware
        # app adds the clinic's schema header, as it does for apply_async.
        current_app.send_task(CHECKIN_PROCESS_TASK, args=[str(checkin_id)])
    except BROKER_ERRORS as error:
        _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
        logger.warning(
            "Check-in %s left pending for the sweeper: broker unreachable (%s).",
            checkin_id,
            type(error).__name__,
        )
        return False
    if record:
        CheckIn.objects.filter(pk=checkin_id).update(
            last_published_at=timezone.now(), publish_count=F("publish_count") + 1
        )
    return True


def _fail(checkin: CheckIn, reason: str) -> CheckIn:
    checkin.status = CheckInStatus.FAILED
    checkin.failure_reason = reason
    checkin.processed_at = timezone.now()
    checkin.save(update_fields=["status", "failure_reason", "processed_at"])
    logger.warning("Check-in %s failed: %s", checkin.pk, reason)
    return checkin


_CHECKIN_COLUMNS, _CHECKIN_NAMES = columns(CheckIn, "c")
# What issuing needs of the check-in's service.
_SERVICE_COLUMNS = ColumnList(
    Service,
    (
        "id",
        "name",
        "prefix",
        "is_active",
        "appointment_early_minutes",
        "appointment_late_minutes",
    ),
)
_CHECKIN_LOCK_SQL = f"""
    SELECT {_CHECKIN_COLUMNS}, {_SERVICE_COLUMNS.sql("s")}
    FROM {CheckIn._meta.db_table} c JOIN {Service._meta.db_table} s ON s.id = c.service_id
    WHERE c.id = %s FOR UPDATE OF c
"""


def _checkin_lock(*, checkin_id: uuid.UUID) -> CheckIn | None:
    """The check-in, row-locked, with its service (the fields issuing needs); None if unknown."""
    with connection.cursor() as cursor:
        cursor.execute(_CHECKIN_LOCK_SQL, [str(checkin_id)])
        row = cursor.fetchone()
    if row is None:
        return None
    count = len(_CHECKIN_NAMES)
    checkin = from_row(CheckIn, _CHECKIN_NAMES, row[:count])
    checkin.service = from_row(Service, _SERVICE_COLUMNS.names, row[count:])
    return checkin


@transaction.atomic
def checkin_process(*, checkin_id: uuid.UUID | str) -> CheckIn | None:
    """Turn a pending check-in into a ticket: identify or register, reuse an open ticket or issue.

    Idempotent: the row is locked and only a pending check-in is processed, so a redelivered
    task finds it queued and does nothing. Four statements in all: lock the check-in, lock (or
    register) the patient, append the access-trail entry, then reuse-or-issue the ticket with
    its event and mark the check-in queued; plus what the arrival hooks (`arrivals`) ask: with
    appointments installed, one look-up of the patient's booking, and its link when there is one.
    """
    try:
        checkin = _checkin_lock(checkin_id=uuid.UUID(str(checkin_id)))
    except ValueError:
        return None
    if checkin is None or checkin.status != CheckInStatus.PENDING:
        return checkin
    service = checkin.service
    if not service.is_active:
        return _fail(checkin, f'The service "{service.name}" was deactivated before check-in.')
    # The patient's row stays locked until commit: one visit's work at a time per patient, so a
    # concurrent check-in of the same patient waits, then finds this one's ticket.
    patient, registered = patient_lock_or_register(
        cpf=checkin.cpf, registration=checkin.registration
    )
    if patient is None:
        return _fail(checkin, "The CPF is not registered and the check-in had no patient name.")
    # Staff check-ins name their user, partners their client; one with neither was made at the
    # clinic's totem.
    role = "partner" if checkin.partner_client_id else "" if checkin.created_by_id else "totem"
    access_record(
        actor=AccessActor(
            user_id=checkin.created_by_id,
            user_email=checkin.actor_email,
            role=checkin.actor_role or role,
            partner_client_id=checkin.partner_client_id,
            address=checkin.actor_address,
        ),
        action=AccessAction.CHECKIN,
        patient_ids=[patient.pk],
        fields=("cpf", *sorted(checkin.registration)) if registered else ("cpf",),
    )
    # An app above queueing (appointments) may rank the ticket at a booked time instead.
    arrival = arrival_rank(patient_id=patient.pk, service=service, arrived_at=checkin.created_at)
    processed_at = timezone.now()
    ticket, issued = ticket_issue_unless_open(
        patient=patient,
        service=service,
        priority_reason=checkin.priority_reason,
        arrived_at=checkin.created_at,
        rank_at=arrival.rank_at if arrival is not None else None,
        actor_id=checkin.created_by_id,
        partner_client_id=checkin.partner_client_id,
        checkin_queued=CheckInQueued(checkin_id=checkin.pk, processed_at=processed_at),
    )
    if arrival is not None:
        arrival.linked(ticket, issued)
    checkin.status = CheckInStatus.QUEUED
    checkin.patient = patient
    checkin.ticket = ticket
    checkin.failure_reason = ""
    checkin.processed_at = processed_at
    return checkin


def checkin_republish(*, checkin_ids: list[uuid.UUID]) -> int:
    """Republish those of `checkin_ids` still pending in the current clinic; how many were sent.

    The sweeper chose them from the public index (`checkins_due_for_republish`). An id no longer
    pending there (processed meanwhile) is skipped; one missing from the clinic leaves the index.
    """
    pending = set(
        CheckIn.objects.filter(pk__in=checkin_ids, status=CheckInStatus.PENDING).values_list(
            "id", flat=True
        )
    )
    gone = [str(checkin_id) for checkin_id in checkin_ids if checkin_id not in pending]
    if gone:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {CHECKIN_PENDING_INDEX} p USING unnest(%s::uuid[]) AS g(id) "
                f"WHERE p.schema_name = current_schema() AND p.checkin_id = g.id "
                f"AND NOT EXISTS (SELECT 1 FROM {CheckIn._meta.db_table} c WHERE c.id = g.id)",
                [gone],
            )
    published = 0
    for checkin_id in checkin_ids:
        if checkin_id not in pending:
            continue
        if not checkin_publish(checkin_id=checkin_id, honour_backoff=False):
            break
        published += 1
    return published
