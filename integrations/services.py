"""Webhooks: subscriptions, turning the clinic's event stream into deliveries, and sending them.

All of it runs in the current clinic's schema (a request on the clinic's host, or the clinic's
tenant task). Delivery is at least once: a receiver deduplicates by the event id it is sent.
"""

import dataclasses
import datetime
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from amqp.exceptions import AMQPError
from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Window
from django.db.models.functions import Coalesce, Greatest, RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_tenant_model
from kombu.exceptions import OperationalError as KombuOperationalError

from accounts.models import PartnerClient
from common.tenancy import tenant_connection
from events.activity.models import ClinicActivity
from events.models import Event
from events.selectors import event_last_id, event_list_after
from integrations.breaker import breaker_in_flight_cap, breaker_probes_start, breaker_record
from integrations.egress import EgressRefused, destination_resolve
from integrations.kinds import SUBSCRIBABLE_KINDS, kind_wanted, webhook_kind
from integrations.models import (
    DeliveryStatus,
    NoticeKind,
    WebhookAttempt,
    WebhookDelivery,
    WebhookNotice,
    WebhookSubscription,
)
from integrations.schedule.models import WebhookSchedule
from integrations.signing import SIGNATURE_HEADER, signature_header, webhook_secret_new
from integrations.transport import Answer, error_class
from integrations.transport import post as transport_post
from queueing.selectors.checkins import checkin_get
from queueing.selectors.queue import ticket_get

logger = logging.getLogger(__name__)

WEBHOOKS_RUN_TASK = "integrations.webhooks_run_task"
EVENT_ID_HEADER = "Clinico-Event-Id"
EVENT_TYPE_HEADER = "Clinico-Event-Type"
USER_AGENT = "Clinico-Webhooks/1.0"
EVENTS_PAGE = 500
# A clinic task sends for at most this long, then hands over to a fresh task.
RUN_BUDGET_SECONDS = 20.0
# While sends are in flight the task looks for new work this often.
CLAIM_INTERVAL_SECONDS = 0.25
BROKER_RETRY_AFTER_SECONDS = 5.0
# A task marked queued that has not started after this is taken as lost (e.g. its publish
# failed): the listener publishes another.
QUEUED_MARK_LIFETIME = datetime.timedelta(seconds=30)
BROKER_ERRORS = (KombuOperationalError, AMQPError, ConnectionError, OSError, TimeoutError)
_broker_down_until = 0.0


# --- subscriptions ---------------------------------------------------------------------------


def webhook_url_check(*, url: str) -> None:
    """An https:// URL of a public host on port 443 or 8443 (http://127.0.0.1 where allowed).

    The host is resolved now and every answer must be a public address; each send resolves it
    again and connects to the address it checked (integrations/egress.py).
    """
    try:
        destination_resolve(url)
    except EgressRefused as refused:
        error = ValidationError(refused.message, code=refused.error_class)
        raise ValidationError({"url": error}) from None


def _subscriptions_cap_check(*, partner_client_id: str) -> None:
    """At most CLINICO_WEBHOOK_MAX_SUBSCRIPTIONS_PER_OWNER per partner client, and for the
    clinic's own systems, in this clinic."""
    cap = settings.CLINICO_WEBHOOK_MAX_SUBSCRIPTIONS_PER_OWNER
    # Two requests of one owner at once: the second counts after the first commits.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            [f"webhook-owner:{tenant_connection.schema_name}:{partner_client_id}"],
        )
    if WebhookSubscription.objects.filter(partner_client_id=partner_client_id).count() >= cap:
        message = _(
            "At most %(cap)d webhook subscriptions per owner in a clinic: delete one first."
        ) % {"cap": cap}
        raise ValidationError({"url": ValidationError(message, code="too_many_subscriptions")})


def webhook_kinds_clean(*, kinds: list[str]) -> list[str]:
    """The subscribed kinds in the documented order; unknown kinds are an error."""
    unknown = sorted(set(kinds) - set(SUBSCRIBABLE_KINDS))
    if unknown or not kinds:
        raise ValidationError(
            {"kinds": f"Choose one or more of {', '.join(SUBSCRIBABLE_KINDS)} (not {unknown})."}
        )
    return [kind for kind in SUBSCRIBABLE_KINDS if kind in kinds]


def _personal_data_check(*, personal_data: bool, partner_client_id: str) -> None:
    """CPFs and names go only to the clinic's own systems, never to a partner's subscription."""
    if personal_data and partner_client_id:
        message = _("Only the clinic's own systems may receive CPFs and names.")
        raise ValidationError({"personal_data": ValidationError(message, code="not_allowed")})


@transaction.atomic
def webhook_subscription_create(
    *,
    url: str,
    kinds: list[str],
    description: str = "",
    partner_client_id: str = "",
    created_by: str = "",
    personal_data: bool = False,
) -> tuple[WebhookSubscription, str]:
    """A subscription to the clinic's events from now on, and its secret (shown only now)."""
    webhook_url_check(url=url)
    _subscriptions_cap_check(partner_client_id=partner_client_id)
    _personal_data_check(personal_data=personal_data, partner_client_id=partner_client_id)
    secret = webhook_secret_new()
    subscription = WebhookSubscription(
        url=url,
        kinds=webhook_kinds_clean(kinds=kinds),
        description=description,
        partner_client_id=partner_client_id,
        created_by=created_by,
        personal_data=personal_data,
        secret=secret,
        cursor=event_last_id(),
    )
    subscription.full_clean()
    subscription.save()
    webhook_schedule_refresh()
    return subscription, secret


@transaction.atomic
def webhook_subscription_update(
    *, subscription: WebhookSubscription, **changes: Any
) -> WebhookSubscription:
    """Change the URL, kinds, description, personal data or active flag; enabling again
    resumes delivery."""
    if "personal_data" in changes:
        _personal_data_check(
            personal_data=changes["personal_data"],
            partner_client_id=subscription.partner_client_id,
        )
        subscription.personal_data = changes["personal_data"]
    if "url" in changes:
        webhook_url_check(url=changes["url"])
        subscription.url = changes["url"]
    if "kinds" in changes:
        subscription.kinds = webhook_kinds_clean(kinds=changes["kinds"])
    if "description" in changes:
        subscription.description = changes["description"]
    if "is_active" in changes and changes["is_active"] != subscription.is_active:
        now = timezone.now()
        subscription.is_active = changes["is_active"]
        if subscription.is_active:
            subscription.disabled_at = None
            subscription.disabled_reason = ""
            subscription.failures_in_row = 0
            subscription.breaker_open_until = None
            # Pending deliveries get a fresh retry window from now.
            subscription.deliveries.filter(status=DeliveryStatus.PENDING).update(
                next_attempt_at=now, window_started_at=now
            )
            WebhookNotice.objects.create(
                subscription=subscription,
                at=now,
                kind=NoticeKind.ENABLED,
                message="Enabled again: pending events are being delivered.",
            )
            transaction.on_commit(webhooks_kick)
        else:
            subscription.disabled_at = now
            subscription.disabled_reason = "Disabled by its owner."
    subscription.full_clean()
    subscription.save()
    webhook_schedule_refresh()
    return subscription


@transaction.atomic
def webhook_subscription_delete(*, subscription: WebhookSubscription) -> None:
    # A send in flight records its answer under its delivery's lock: wait for it, so that no
    # attempt is added to a delivery being deleted.
    list(subscription.deliveries.select_for_update().values_list("pk", flat=True))
    subscription.delete()
    webhook_schedule_refresh()


@transaction.atomic
def webhook_secret_rotate(
    *, subscription: WebhookSubscription, overlap: datetime.timedelta | None = None
) -> tuple[WebhookSubscription, str]:
    """A new secret (shown only now); the old one keeps signing beside it for `overlap`."""
    overlap = settings.CLINICO_WEBHOOK_SECRET_OVERLAP if overlap is None else overlap
    now = timezone.now()
    secret = webhook_secret_new()
    subscription.previous_secret = subscription.secret if overlap else ""
    subscription.previous_secret_until = now + overlap if overlap else None
    subscription.secret = secret
    subscription.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    until = f"until {subscription.previous_secret_until:%Y-%m-%d %H:%M UTC}" if overlap else ""
    WebhookNotice.objects.create(
        subscription=subscription,
        at=now,
        kind=NoticeKind.SECRET_ROTATED,
        message=f"Secret rotated; requests carry the old secret's signature too {until}".strip(),
    )
    return subscription, secret


def webhook_secrets_in_use(*, subscription: WebhookSubscription, now: datetime.datetime) -> list:
    """The secrets that sign a request now: the current one, then the previous in its overlap."""
    in_use = [subscription.secret]
    until = subscription.previous_secret_until
    if subscription.previous_secret and until is not None and now < until:
        in_use.append(subscription.previous_secret)
    return in_use


# --- from events to deliveries ---------------------------------------------------------------


def webhook_payload(*, event: Event, kind: str) -> dict:
    """What the receiver gets for `event` (documented in integrations/openapi.py), as stored.

    Never a CPF or a name: a subscription with personal data gets them added when sent
    (`_with_patient`), so the delivery log holds none.
    """
    clinic = tenant_connection.schema_name
    data = {
        "ticket_id": event.ticket_id,
        "service_id": event.service_id,
        "desk_id": event.desk_id,
        **(event.data or {}),
    }
    return {
        "id": f"{clinic}.{event.pk}",
        "type": kind,
        "occurred_at": event.at.isoformat(),
        "clinic": clinic,
        "sequence": event.pk,
        "data": data,
    }


# What names an appointment and who booked it: only for the partner that booked it.
APPOINTMENT_OWNER_KEYS = ("appointment_id", "external_id", "partner_client_id")


def _checkin_owner(*, checkin_id: str, known: dict[str, str | None]) -> str | None:
    """The partner client that created the check-in ("" for staff and the totem; None: gone)."""
    if checkin_id not in known:
        checkin = checkin_get(checkin_id=checkin_id)
        known[checkin_id] = None if checkin is None else checkin.partner_client_id
    return known[checkin_id]


def _partner_payload(
    *, payload: dict, partner_client_id: str, checkin_owners: dict[str, str | None]
) -> dict:
    """What a partner's subscription is sent: no record id of what the partner did not make.

    Partners never get patient ids (docs/roles.md), and a check-in's id only for check-ins the
    partner made itself: with the id of a reception's check-in a partner could read it.
    """
    data = {key: value for key, value in payload["data"].items() if key != "patient_id"}
    checkin_id = data.get("checkin_id")
    if checkin_id is not None:
        owner = _checkin_owner(checkin_id=str(checkin_id), known=checkin_owners)
        if owner != partner_client_id:
            del data["checkin_id"]
    if "appointment_id" in data and data.get("partner_client_id") != partner_client_id:
        # Another partner's booking, or the reception's: its status and times, not its ids.
        for key in APPOINTMENT_OWNER_KEYS:
            data.pop(key, None)
    return payload | {"data": data}


def webhook_deliveries_create() -> int:
    """Deliveries for the events each active subscription has not seen yet; how many.

    Stream ids grow in commit order (docs/events.md), so a cursor per subscription never skips
    an event that committed after a later-numbered one was read.
    """
    subscriptions = list(_subscriptions_live())
    if not subscriptions:
        return 0
    created = 0
    now = timezone.now()
    checkin_owners: dict[str, str | None] = {}
    after = min(s.cursor for s in subscriptions)
    while True:
        events = event_list_after(after_id=after, limit=EVENTS_PAGE)
        if not events:
            break
        for subscription in subscriptions:
            deliveries = []
            for event in events:
                kind = webhook_kind(event.kind)
                if (
                    event.pk <= subscription.cursor
                    or kind is None
                    or not kind_wanted(kind=kind, subscribed=subscription.kinds)
                ):
                    continue
                payload = webhook_payload(event=event, kind=kind)
                if subscription.partner_client_id:
                    payload = _partner_payload(
                        payload=payload,
                        partner_client_id=subscription.partner_client_id,
                        checkin_owners=checkin_owners,
                    )
                deliveries.append(
                    WebhookDelivery(
                        subscription=subscription,
                        event_id=event.pk,
                        kind=kind,
                        ticket_id=event.ticket_id,
                        event_at=event.at,
                        payload=payload,
                        next_attempt_at=now,
                        window_started_at=now,
                    )
                )
            made = WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
            created += len(made)
        for subscription in subscriptions:
            subscription.cursor = max(subscription.cursor, events[-1].pk)
        after = events[-1].pk
        if len(events) < EVENTS_PAGE:
            break
    for subscription in subscriptions:
        WebhookSubscription.objects.filter(
            pk=subscription.pk, cursor__lt=subscription.cursor
        ).update(cursor=subscription.cursor)
    return created


# --- sending ---------------------------------------------------------------------------------


def _earlier_of_same_ticket_pending() -> Exists:
    """A pending delivery of the same subscription and ticket with a smaller event id."""
    return Exists(
        WebhookDelivery.objects.filter(
            subscription_id=OuterRef("subscription_id"),
            ticket_id=OuterRef("ticket_id"),
            event_id__lt=OuterRef("event_id"),
            status=DeliveryStatus.PENDING,
        )
    )


def _partner_clients_allowed() -> QuerySet:
    """Client ids of the partner clients that may reach the current clinic right now."""
    return PartnerClient.objects.filter(
        clinics__schema_name=tenant_connection.schema_name,
        clinics__is_active=True,
        is_active=True,
        revoked_at__isnull=True,
    ).values("client_id")


def _subscriptions_live() -> QuerySet[WebhookSubscription]:
    """Active subscriptions whose owner still has access: the clinic's own, and those of
    partner clients not revoked nor removed from the clinic (checked at each pass, as the API
    checks a partner's token at each request)."""
    return WebhookSubscription.objects.filter(is_active=True).filter(
        Q(partner_client_id="") | Q(partner_client_id__in=_partner_clients_allowed())
    )


def _sendable() -> QuerySet[WebhookDelivery]:
    """Pending deliveries of live subscriptions not waiting behind their ticket's earlier ones."""
    return WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, subscription__in=_subscriptions_live()
    ).exclude(_earlier_of_same_ticket_pending())


def retry_delay(*, attempts: int) -> datetime.timedelta:
    """Wait before the next attempt after `attempts` failed ones: doubling, capped."""
    first = settings.CLINICO_WEBHOOK_RETRY_FIRST_SECONDS
    seconds = min(first * 2 ** max(0, attempts - 1), settings.CLINICO_WEBHOOK_RETRY_MAX_SECONDS)
    return datetime.timedelta(seconds=seconds)


def _with_patient(*, payload: dict, ticket_id: int | None) -> dict:
    """The payload with the ticket's patient (CPF, name), read now, for a personal-data scope."""
    ticket = ticket_get(ticket_id=ticket_id) if ticket_id is not None else None
    if ticket is None:
        return payload
    patient = {"cpf": ticket.patient.cpf, "full_name": ticket.patient.full_name}
    return payload | {"data": payload["data"] | {"patient": patient}}


def _disable(
    *, subscription: WebhookSubscription, delivery: WebhookDelivery, now: datetime.datetime
) -> None:
    hours = (now - delivery.window_started_at).total_seconds() / 3600
    reason = (
        f"Disabled after event {delivery.payload['id']} ({delivery.kind}) failed "
        f"{delivery.attempts} times over {hours:.1f} h; last answer: {delivery.last_error}."
    )
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        is_active=False, disabled_at=now, disabled_reason=reason
    )
    WebhookNotice.objects.create(
        subscription=subscription, at=now, kind=NoticeKind.DISABLED, message=reason
    )
    logger.warning("Webhook %s disabled: %s", subscription.pk, reason)


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """A claimed delivery ready to send: what the sending thread needs, read beforehand."""

    delivery_id: int
    subscription_id: int
    url: str
    body: bytes
    headers: dict[str, str]
    at: datetime.datetime
    # Its subscription's last send failed when claimed: it counts against the failing share.
    failing: bool = False


def _prepare(*, delivery: WebhookDelivery, now: datetime.datetime) -> _Prepared:
    """The signed request of a claimed delivery (read from the database before sending)."""
    subscription = delivery.subscription
    payload = delivery.payload
    if subscription.personal_data:
        payload = _with_patient(payload=payload, ticket_id=delivery.ticket_id)
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: delivery.payload["id"],
        EVENT_TYPE_HEADER: delivery.kind,
        SIGNATURE_HEADER: signature_header(
            secrets_in_use=webhook_secrets_in_use(subscription=subscription, now=now),
            timestamp=int(now.timestamp()),
            body=body,
        ),
    }
    return _Prepared(
        delivery.pk,
        subscription.pk,
        subscription.url,
        body,
        headers,
        now,
        failing=subscription.failures_in_row > 0,
    )


def _send(prepared: _Prepared) -> tuple[Answer, int]:
    """Resolve, check and POST (no database: this runs in a sending thread); answer and ms."""
    started = time.monotonic()
    try:
        destination = destination_resolve(prepared.url)
        answer = transport_post(
            destination=destination,
            body=prepared.body,
            headers=prepared.headers,
            deadline_seconds=settings.CLINICO_WEBHOOK_TIMEOUT_SECONDS,
        )
    except EgressRefused as refused:
        answer = Answer(None, refused.error_class)
    except Exception as error:  # noqa: BLE001 - one delivery's failure, logged and recorded
        # Whatever one receiver's URL or answer does, it is that delivery's failure, recorded
        # and retried; never the end of the clinic's task (its other subscriptions' sends).
        logger.warning(
            "Webhook delivery %s: send failed (%s).", prepared.delivery_id, type(error).__name__
        )
        answer = Answer(None, error_class(error))
    return answer, int((time.monotonic() - started) * 1000)


def _lease_length() -> datetime.timedelta:
    """How long a claim holds: the send's deadline, then a margin for resolving and recording."""
    return datetime.timedelta(seconds=settings.CLINICO_WEBHOOK_TIMEOUT_SECONDS + 30)


def webhook_deliveries_claim(*, limit: int, failing_limit: int | None = None) -> list[_Prepared]:
    """Up to `limit` due deliveries, marked in flight (leased) and committed before any send.

    Oldest event first, at most CLINICO_WEBHOOK_IN_FLIGHT_PER_SUBSCRIPTION in flight per
    subscription (one while its breaker counts failures), none of a subscription whose breaker
    is open, and at most `failing_limit` of subscriptions whose last send failed: receivers that
    answer leave room to those that do not. A claim another worker holds (row lock, or a lease
    not yet run out) is skipped.
    """
    if limit <= 0:
        return []
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    live = list(
        _subscriptions_live()
        .exclude(breaker_open_until__gt=now)
        .values_list("pk", "failures_in_row")
    )
    failing = {pk for pk, failures in live if failures > 0}
    caps = {pk: breaker_in_flight_cap(failures_in_row=failures) for pk, failures in live}
    busy = dict(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, lease_until__gte=now, subscription_id__in=list(caps)
        )
        .values("subscription_id")
        .annotate(n=Count("pk"))
        .values_list("subscription_id", "n")
    )
    room = {pk: cap - busy.get(pk, 0) for pk, cap in caps.items() if cap > busy.get(pk, 0)}
    if not room:
        return []
    # The first few due of each subscription (a window function: FOR UPDATE cannot take one,
    # so the rows are locked by id next).
    ranked_rows = (
        _sendable()
        .filter(free, next_attempt_at__lte=now, subscription_id__in=list(room))
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("subscription_id")], order_by="event_id")
        )
        .filter(rank__lte=max(room.values()))
        .order_by("event_id")
        .values_list("pk", "subscription_id", "rank")
    )
    ranked = list(ranked_rows)
    # Fair between subscriptions: each one's next delivery before anyone's second in flight.
    fair = sorted(
        (busy.get(sub, 0) + rank, event_order, pk)
        for event_order, (pk, sub, rank) in enumerate(ranked)
        if rank <= room[sub]
    )
    wanted: list[int] = []
    failing_room = limit if failing_limit is None else failing_limit
    subscription_of = {pk: sub for pk, sub, _rank in ranked}
    for _turn, _order, pk in fair:
        if len(wanted) == limit:
            break
        if subscription_of[pk] in failing:
            if failing_room <= 0:
                continue
            failing_room -= 1
        wanted.append(pk)
    if not wanted:
        return []
    with transaction.atomic():
        claimed = list(
            WebhookDelivery.objects.filter(free, pk__in=wanted, status=DeliveryStatus.PENDING)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription")
            .order_by("event_id")
        )
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
            lease_until=now + _lease_length()
        )
        breaker_probes_start(subscriptions=[d.subscription for d in claimed], now=now)
        prepared = [_prepare(delivery=delivery, now=now) for delivery in claimed]
    return prepared


@transaction.atomic
def webhook_delivery_record(
    *, prepared: _Prepared, answer: Answer, duration_ms: int, manual: bool = False
) -> WebhookDelivery | None:
    """The answer of a send, in a transaction of its own; None if the delivery is gone."""
    delivery = (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("subscription")
        .filter(pk=prepared.delivery_id)
        .first()
    )
    if delivery is None:
        return None
    subscription = delivery.subscription
    done = timezone.now()
    error = answer.error_class
    WebhookAttempt.objects.create(
        delivery=delivery,
        at=prepared.at,
        status_code=answer.status_code,
        error=error,
        duration_ms=duration_ms,
        manual=manual,
    )
    delivery.attempts += 1
    delivery.last_attempt_at = prepared.at
    delivery.last_status_code = answer.status_code
    delivery.last_error = error
    delivery.lease_until = None
    breaker_record(subscription_id=subscription.pk, delivered=not error, now=done)
    if not error:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = done
    else:
        next_at = done + retry_delay(attempts=delivery.attempts)
        window_end = delivery.window_started_at + datetime.timedelta(
            seconds=settings.CLINICO_WEBHOOK_RETRY_WINDOW_SECONDS
        )
        if next_at > window_end:
            delivery.status = DeliveryStatus.FAILED
            _disable(subscription=subscription, delivery=delivery, now=done)
        else:
            delivery.next_attempt_at = next_at
    delivery.save()
    return delivery


def webhook_deliveries_send_due(
    *, budget_seconds: float = RUN_BUDGET_SECONDS, between: Callable[[], Any] | None = None
) -> tuple[int, bool]:
    """Send every delivery due now, oldest event first; (attempts made, whether time ran out).

    Up to CLINICO_WEBHOOK_SEND_THREADS requests wait on the network at once, in threads that
    touch no database; this thread claims (and commits) before, and records each answer as it
    comes. While sends are in flight it claims again every CLAIM_INTERVAL_SECONDS, calling
    `between` first (the run turns new events into deliveries there), so a slow receiver never
    holds the clinic's other subscriptions back. No claim after `budget_seconds`; the sends in
    flight then end by their deadline.
    """
    threads = settings.CLINICO_WEBHOOK_SEND_THREADS
    deadline = time.monotonic() + budget_seconds
    attempted = 0
    in_flight: dict[Future, _Prepared] = {}
    out_of_time = False
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook-send") as pool:
        while True:
            if time.monotonic() >= deadline:
                out_of_time = True
            elif len(in_flight) < threads:
                if between is not None and in_flight:
                    between()
                # Receivers whose last send failed (timing out, trickling) take at most half the
                # threads: those that answer always find one free.
                failing_in_flight = sum(1 for p in in_flight.values() if p.failing)
                claimed = webhook_deliveries_claim(
                    limit=threads - len(in_flight),
                    failing_limit=max(0, threads // 2 - failing_in_flight),
                )
                for prepared in claimed:
                    in_flight[pool.submit(_send, prepared)] = prepared
            if not in_flight:
                return attempted, out_of_time
            done, _pending = wait(
                in_flight, timeout=CLAIM_INTERVAL_SECONDS, return_when=FIRST_COMPLETED
            )
            for future in done:
                prepared = in_flight.pop(future)
                try:
                    answer, duration_ms = future.result()
                except Exception as error:  # _send answers for its own; this is the backstop
                    logger.exception("Webhook delivery %s: send crashed.", prepared.delivery_id)
                    answer, duration_ms = Answer(None, error_class(error)), 0
                webhook_delivery_record(prepared=prepared, answer=answer, duration_ms=duration_ms)
                attempted += 1


@transaction.atomic
def webhook_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again (delivered or failed) as soon as the clinic's task runs."""
    if not delivery.subscription.is_active:
        raise ValidationError(
            {"subscription": "The subscription is disabled: enable it before redelivering."}
        )
    now = timezone.now()
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.window_started_at = now
    delivery.save(update_fields=["status", "next_attempt_at", "window_started_at"])
    webhook_schedule_refresh()
    transaction.on_commit(webhooks_kick)
    return delivery


# --- scheduling: the clinic's task and the public index -------------------------------------


def _clinic_pk() -> int:
    """The current clinic's id, read by its schema name (the identity a task is sent with).

    Not `connection.tenant.pk`: a worker caches tenants for CELERY_TASK_TENANT_CACHE_SECONDS,
    and a clinic dropped and provisioned again under its slug meanwhile has another id.
    """
    clinics = get_tenant_model()._default_manager
    return clinics.values_list("pk", flat=True).get(schema_name=tenant_connection.schema_name)


def webhooks_next_due() -> datetime.datetime | None:
    """When the clinic next has a delivery to attempt (None: nothing pending it can send).

    A delivery in flight is due when its lease runs out, one of a subscription whose breaker is
    open when the breaker half-opens.
    """
    due = Greatest(
        "next_attempt_at",
        Coalesce("lease_until", "next_attempt_at"),
        Coalesce("subscription__breaker_open_until", "next_attempt_at"),
    )
    return _sendable().aggregate(first=Min(due))["first"]


def webhook_schedule_refresh(
    *, due_at: datetime.datetime | None = None, due_known: bool = False
) -> None:
    """The current clinic's row of the public index, as its subscriptions and deliveries are.

    `due_at` with `due_known`: the next due time the caller has just computed (None: none).
    No active subscription: no row, so the sweeper never looks at the clinic for its events.
    """
    cursors = WebhookSubscription.objects.filter(is_active=True).aggregate(low=Min("cursor"))
    clinic_id = _clinic_pk()
    if cursors["low"] is None:
        WebhookSchedule.objects.filter(clinic_id=clinic_id).delete()
        return
    values = {
        "event_cursor": cursors["low"],
        "due_at": due_at if due_known else webhooks_next_due(),
    }
    # Not update_or_create: it would also write `queued_at`, which the listener owns.
    if not WebhookSchedule.objects.filter(clinic_id=clinic_id).update(**values):
        WebhookSchedule.objects.get_or_create(clinic_id=clinic_id, defaults=values)


def webhooks_kick(*, countdown: float | None = None) -> bool:
    """Publish the clinic's webhook task; False (the sweeper will) when the broker is down."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return False
    try:
        # The webhooks queue, never the clinic's shard queue: sends wait on partners' servers.
        current_app.send_task(
            WEBHOOKS_RUN_TASK, countdown=countdown, queue=settings.CLINICO_WEBHOOK_QUEUE
        )
    except BROKER_ERRORS as error:
        _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
        logger.warning("Webhooks left for the sweeper: broker unreachable (%s).", error)
        return False
    return True


def webhooks_queued_mark(*, schemas: list[str]) -> set[str]:
    """Of the clinics `schemas`, those with no task queued (or queued too long ago), now marked."""
    now = timezone.now()
    fresh = now - QUEUED_MARK_LIFETIME
    with transaction.atomic():
        marked = dict(
            WebhookSchedule.objects.filter(clinic__schema_name__in=schemas)
            .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=fresh))
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("clinic_id", "clinic__schema_name")
        )
        WebhookSchedule.objects.filter(clinic_id__in=list(marked)).update(queued_at=now)
    return set(marked.values())


def webhooks_queued_unmark(*, schema: str) -> None:
    WebhookSchedule.objects.filter(clinic__schema_name=schema).update(queued_at=None)


def webhook_log_purge(*, limit: int = 500) -> int:
    """Delete up to `limit` of the oldest deliveries past the log's retention; how many."""
    before = timezone.now() - datetime.timedelta(days=settings.CLINICO_WEBHOOK_LOG_RETENTION_DAYS)
    old = list(
        WebhookDelivery.objects.filter(created_at__lt=before)
        .exclude(status=DeliveryStatus.PENDING)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not old:
        return 0
    WebhookDelivery.objects.filter(pk__in=old).delete()
    return len(old)


def webhooks_run() -> dict:
    """The clinic task's work: deliveries for new events, send what is due, then reschedule."""
    # Before reading the stream: an event committed from here on publishes another task.
    WebhookSchedule.objects.filter(
        clinic__schema_name=tenant_connection.schema_name, queued_at__isnull=False
    ).update(queued_at=None)
    created = webhook_deliveries_create()
    attempted, out_of_time = webhook_deliveries_send_due(between=webhook_deliveries_create)
    webhook_log_purge()
    now = timezone.now()
    next_due = now if out_of_time else webhooks_next_due()
    with transaction.atomic():
        webhook_schedule_refresh(due_at=next_due, due_known=True)
    if next_due is not None:
        delay = max(0.0, (next_due - now).total_seconds())
        if delay <= 2 * settings.CLINICO_WEBHOOK_SWEEP_SECONDS:
            webhooks_kick(countdown=delay or None)
    return {"created": created, "attempted": attempted}


def webhooks_due_clinics(*, now: datetime.datetime, limit: int = 1000) -> list[WebhookSchedule]:
    """Clinics with webhook work: a delivery due, or stream events past their cursor.

    One query on public tables (this index and the stream's, events.activity), whatever the
    number of clinics.
    """
    new_events = ClinicActivity.objects.filter(
        schema_name=OuterRef("clinic__schema_name"), last_event_id__gt=OuterRef("event_cursor")
    )
    return list(
        WebhookSchedule.objects.filter(clinic__is_active=True)
        .filter(Q(due_at__lte=now) | Exists(new_events))
        .select_related("clinic")
        .order_by("due_at")[:limit]
    )


def webhooks_sweep() -> int:
    """Publish the webhook task of every clinic with work due; how many were published."""
    tenant_connection.set_schema_to_public()
    due = webhooks_due_clinics(now=timezone.now())
    published = 0
    for row in due:
        with row.clinic:  # the clinic's schema header and queue for the task; no query
            published += webhooks_kick()
    tenant_connection.set_schema_to_public()
    return published


def webhooks_sweep_schedule_ensure() -> Any:
    """The beat entry of the webhook sweeper (platform queue), created if missing."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every, _ = IntervalSchedule.objects.get_or_create(
        every=settings.CLINICO_WEBHOOK_SWEEP_SECONDS, period=IntervalSchedule.SECONDS
    )
    task, _created = PeriodicTask.objects.get_or_create(
        name="sweep-webhooks",
        defaults={
            "task": "integrations.webhooks_sweep_task",
            "interval": every,
            "queue": settings.CLINICO_PLATFORM_QUEUE,
            "exchange": settings.CLINICO_PLATFORM_QUEUE,
            "routing_key": settings.CLINICO_PLATFORM_QUEUE,
            "description": "Publishes the webhook task of clinics with deliveries due "
            "(new events whose trigger was lost, retries).",
        },
    )
    return task
