"""Webhooks in one process: signed payloads to a real local receiver, order, retries, rotation."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import partner_client_create
from integrations.kinds import SUBSCRIBABLE_KINDS
from integrations.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookNotice,
    WebhookSubscription,
)
from integrations.schedule.models import WebhookSchedule
from integrations.services import (
    webhook_deliveries_create,
    webhook_deliveries_send_due,
    webhook_log_purge,
    webhook_redeliver,
    webhook_secret_rotate,
    webhook_subscription_create,
    webhook_subscription_update,
    webhooks_due_clinics,
    webhooks_queued_mark,
    webhooks_run,
)
from tests.accounts.conftest import bearer, host_client, partner
from tests.integrations.conftest import every_kind_happens, record
from tests.queueing import factories

pytestmark = pytest.mark.django_db

ALL = [k for k in SUBSCRIBABLE_KINDS]


def deliver() -> int:
    webhook_deliveries_create()
    return webhook_deliveries_send_due()[0]


def test_a_subscriber_gets_each_event_signed_with_its_secret_and_a_unique_id(clinic_a, receiver):
    with clinic_a:
        subscription, secret = webhook_subscription_create(url=receiver.url, kinds=ALL)
        record("ticket.called", ticket_id=7)
        record("checkin.queued", ticket_id=8)
        deliver()

    # Events of different tickets are sent at once: they may arrive in either order.
    first, second = sorted(receiver.received, key=lambda r: r.payload["sequence"])
    assert first.verified_with(secret) and second.verified_with(secret)
    assert not first.verified_with("whsec_someone-else")
    assert [r.payload["type"] for r in (first, second)] == ["ticket.called", "checkin.queued"]
    assert first.payload["id"] != second.payload["id"]
    assert first.headers["Clinico-Event-Id"] == first.payload["id"]
    assert first.payload["clinic"] == "clinic_a"
    assert first.payload["data"]["ticket_id"] == 7


def test_events_from_before_the_subscription_and_of_other_kinds_are_not_sent(clinic_a, receiver):
    with clinic_a:
        record("ticket.called", ticket_id=1)
        webhook_subscription_create(url=receiver.url, kinds=["day.closed"])
        record("ticket.called", ticket_id=1)
        record("day.closed", day="2026-11-29")
        deliver()

    assert [p["type"] for p in receiver.payloads()] == ["day.closed"]


def test_every_kind_arrives_signed_once_and_a_ticket_s_events_in_order(clinic_a, receiver):
    with clinic_a:
        _subscription, secret = webhook_subscription_create(url=receiver.url, kinds=ALL)
        kinds = every_kind_happens()
        deliver()

    received = receiver.received
    assert sorted({r.payload["type"] for r in received}) == sorted(kinds)
    assert all(r.verified_with(secret) for r in received)
    assert len({r.payload["id"] for r in received}) == len(received)
    by_ticket: dict = {}
    for r in received:
        by_ticket.setdefault(r.payload["data"]["ticket_id"], []).append(r.payload["sequence"])
    assert all(seqs == sorted(seqs) for seqs in by_ticket.values())
    assert not any("Maria" in r.body.decode() for r in received)


def test_payloads_carry_no_cpf_or_name_unless_the_clinic_s_own_subscription_asks(
    clinic_a, receiver
):
    with clinic_a:
        ticket = factories.waiting(factories.reception())
        plain, _ = webhook_subscription_create(url=receiver.url, kinds=["ticket.called"])
        personal, _ = webhook_subscription_create(
            url=receiver.url + "?personal", kinds=["ticket.called"], personal_data=True
        )
        record("ticket.called", ticket_id=ticket.pk)
        deliver()
        cpf, name = ticket.patient.cpf, ticket.patient.full_name
        stored = str(list(WebhookDelivery.objects.values_list("payload", flat=True)))

    bodies = {r.headers["Clinico-Event-Id"]: r.body.decode() for r in receiver.received}
    (plain_body,) = [b for b in (r.body.decode() for r in receiver.received) if "patient" not in b]
    (personal_body,) = [r.payload for r in receiver.received if "patient" in r.payload["data"]]
    assert len(bodies) == 1  # one event, the same id to both
    assert cpf not in plain_body and name not in plain_body
    assert personal_body["data"]["patient"] == {"cpf": cpf, "full_name": name}
    assert cpf not in stored and name not in stored  # the delivery log keeps neither


def test_a_partner_subscription_cannot_ask_for_personal_data(clinic_a, receiver):
    with clinic_a, pytest.raises(ValidationError) as refused:
        webhook_subscription_create(
            url=receiver.url, kinds=ALL, partner_client_id="pc_x", personal_data=True
        )

    (error,) = refused.value.error_dict["personal_data"]
    assert error.code == "not_allowed"


def test_a_partner_gets_400_on_personal_data_when_changing_its_subscription_too(clinic_a):
    _client, access = partner([clinic_a], scope="read_write")
    api = bearer(host_client(clinic_a), access)
    made = api.post(
        "/api/v1/webhooks/", {"url": "https://hooks.example.com/a", "kinds": ALL}, format="json"
    )
    assert made.status_code == 201, made.content
    url = f"/api/v1/webhooks/{made.json()['id']}/"

    changed = api.patch(url, {"personal_data": True}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    kept = api.get(url).json()

    assert changed.status_code == 400, changed.content
    (error,) = changed.json()["errors"]
    assert error["attr"] == "personal_data"
    assert error["detail"] == "Only the clinic's own systems may receive CPFs and names."
    assert kept["personal_data"] is False


def test_a_clinic_admin_may_turn_personal_data_on_for_the_clinic_s_own_subscription(
    clinic_a, jwt_client, receiver
):
    admin = jwt_client(clinic_a, "clinic_admin")
    made = admin.post("/api/v1/webhooks/", {"url": receiver.url, "kinds": ALL}, format="json")
    assert made.status_code == 201, made.content

    changed = admin.patch(
        f"/api/v1/webhooks/{made.json()['id']}/", {"personal_data": True}, format="json"
    )

    assert changed.status_code == 200, changed.content
    assert changed.json()["personal_data"] is True


@pytest.mark.parametrize(
    "path", ["/ç", "/hooks?x=é", "/a b", "/tab\there", "/bell\x07", "/del\x7f", "/nb\u00a0sp"]
)
def test_a_url_with_non_ascii_space_or_control_characters_is_refused_on_save(
    clinic_a, jwt_client, path
):
    admin = jwt_client(clinic_a, "clinic_admin")
    good = admin.post(
        "/api/v1/webhooks/", {"url": "http://127.0.0.1:9104/ok", "kinds": ALL}, format="json"
    )
    url = f"http://127.0.0.1:9104{path}"

    created = admin.post("/api/v1/webhooks/", {"url": url, "kinds": ALL}, format="json")
    changed = admin.patch(
        f"/api/v1/webhooks/{good.json()['id']}/",
        {"url": url},
        format="json",
        HTTP_ACCEPT_LANGUAGE="pt-br",
    )

    for refused in (created, changed):
        assert refused.status_code == 400, refused.content
        (error,) = refused.json()["errors"]
        assert error["attr"] == "url"
    assert "percent" not in changed.json()["errors"][0]["detail"]  # said in Portuguese
    assert admin.get(f"/api/v1/webhooks/{good.json()['id']}/").json()["url"].endswith("/ok")


def test_one_unsendable_url_is_a_recorded_failure_and_the_clinic_s_other_hooks_still_deliver(
    clinic_a, receiver
):
    """A URL stored before it would be refused (e.g. by an older release) fails only itself."""
    with clinic_a:
        broken, _ = webhook_subscription_create(url=receiver.url + "?broken", kinds=ALL)
        webhook_subscription_create(url=receiver.url, kinds=ALL)
        WebhookSubscription.objects.filter(pk=broken.pk).update(
            url=f"http://127.0.0.1:{receiver.port}/ç"
        )
        record("day.closed", day="2026-11-29")
        run = webhooks_run()
        failed = WebhookDelivery.objects.get(subscription=broken)
        broken.refresh_from_db()

    assert len(receiver.received) == 1  # the healthy subscription got the event
    assert run["attempted"] == 2
    assert (failed.status, failed.attempts, failed.last_error) == ("pending", 1, "bad_url")
    assert failed.lease_until is None  # recorded now, not left to a lease running out
    assert broken.failures_in_row == 1  # the breaker counts it


@pytest.mark.parametrize(
    "url", ["http://example.com/hook", "ftp://example.com/", "https:///nohost", "http://10.0.0.1/"]
)
def test_only_https_urls_are_accepted(clinic_a, url):
    with clinic_a, pytest.raises(ValidationError, match="https://"):
        webhook_subscription_create(url=url, kinds=ALL)


@override_settings(CLINICO_WEBHOOK_ALLOW_LOOPBACK_HTTP=False)
def test_outside_dev_and_test_even_loopback_http_is_refused(clinic_a, receiver):
    with clinic_a, pytest.raises(ValidationError, match="https://"):
        webhook_subscription_create(url=receiver.url, kinds=ALL)


def test_a_ticket_s_next_event_waits_until_its_earlier_one_is_delivered(clinic_a, receiver):
    with clinic_a:
        webhook_subscription_create(url=receiver.url, kinds=ALL)
        receiver.refuse = lambda payload: payload["data"]["ticket_id"] == 1
        record("ticket.called", ticket_id=1)
        record("ticket.started", ticket_id=1)
        record("ticket.called", ticket_id=2)  # another ticket does not wait
        deliver()
        receiver.refuse = None
        sent_while_failing = [(p["type"], p["data"]["ticket_id"]) for p in receiver.payloads()]
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())
        deliver()

    assert sent_while_failing == [("ticket.called", 2)]
    assert [(p["type"], p["data"]["ticket_id"]) for p in receiver.payloads()] == [
        ("ticket.called", 2),
        ("ticket.called", 1),
        ("ticket.started", 1),
    ]


@override_settings(
    CLINICO_WEBHOOK_RETRY_FIRST_SECONDS=60,
    CLINICO_WEBHOOK_RETRY_MAX_SECONDS=3600,
    CLINICO_WEBHOOK_RETRY_WINDOW_SECONDS=26 * 3600,
)
def test_failures_are_retried_with_growing_waits_for_a_day_then_the_subscription_is_disabled(
    clinic_a, receiver
):
    receiver.status = 503
    with clinic_a:
        subscription, _ = webhook_subscription_create(url=receiver.url, kinds=ALL)
        record("ticket.called", ticket_id=1)
        webhook_deliveries_create()
        start = timezone.now()
        waits = []
        with time_machine.travel(start, tick=False) as clock:
            for _ in range(60):
                webhook_deliveries_send_due()
                delivery = WebhookDelivery.objects.get()
                if delivery.status != DeliveryStatus.PENDING:
                    break
                waits.append((delivery.next_attempt_at - timezone.now()).total_seconds())
                clock.move_to(delivery.next_attempt_at)
        subscription.refresh_from_db()
        notice = WebhookNotice.objects.get(subscription=subscription, kind="disabled")
        logged = delivery.log.count()

    assert waits[:4] == [60, 120, 240, 480]
    assert max(waits) == 3600
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_attempt_at - start >= datetime.timedelta(hours=24)
    assert delivery.attempts == len(waits) + 1 == logged
    assert not subscription.is_active
    assert "http 503" in subscription.disabled_reason
    assert notice.message == subscription.disabled_reason


def test_during_a_rotation_requests_carry_both_signatures_until_the_overlap_ends(
    clinic_a, receiver
):
    with clinic_a:
        subscription, old = webhook_subscription_create(url=receiver.url, kinds=ALL)
        subscription, new = webhook_secret_rotate(
            subscription=subscription, overlap=datetime.timedelta(hours=1)
        )
        record("ticket.called", ticket_id=1)
        deliver()
        with time_machine.travel(timezone.now() + datetime.timedelta(hours=2), tick=False):
            record("ticket.started", ticket_id=1)
            deliver()
            during, after = receiver.received
            after_verified = (after.verified_with(new), after.verified_with(old))

    assert during.headers["Clinico-Signature"].count("v1=") == 2
    assert during.verified_with(new) and during.verified_with(old)
    assert after_verified == (True, False)


def test_a_receiver_never_gets_another_clinic_s_events(clinic_a, clinic_b, receiver):
    with clinic_b:
        webhook_subscription_create(url=receiver.url, kinds=ALL)
    with clinic_a:
        webhook_subscription_create(url=receiver.url + "?a", kinds=ALL)
        record("ticket.called", ticket_id=1)
        deliver()
    with clinic_b:
        deliver()

    assert [p["clinic"] for p in receiver.payloads()] == ["clinic_a"]


def test_a_delivered_event_can_be_sent_again_on_request(clinic_a, receiver):
    with clinic_a:
        webhook_subscription_create(url=receiver.url, kinds=ALL)
        record("ticket.called", ticket_id=1)
        deliver()
        webhook_redeliver(delivery=WebhookDelivery.objects.get())
        deliver()
        delivery = WebhookDelivery.objects.get()
        logged = delivery.log.count()

    first, again = receiver.payloads()
    assert first == again
    assert (delivery.status, delivery.attempts, logged) == ("delivered", 2, 2)


def test_one_public_query_finds_the_clinics_with_new_events_or_due_retries(
    clinic_a, clinic_b, receiver
):
    with clinic_a:
        webhook_subscription_create(url=receiver.url, kinds=ALL)
    with clinic_b:
        webhook_subscription_create(url=receiver.url, kinds=ALL)
    nothing_yet = webhooks_due_clinics(now=timezone.now())
    with clinic_a:
        record("ticket.called", ticket_id=1)

    with CaptureQueriesContext(connection) as queries:
        due = webhooks_due_clinics(now=timezone.now())
    statements = [q["sql"] for q in queries if not q["sql"].startswith("SET search_path")]

    assert nothing_yet == []
    assert [row.clinic.schema_name for row in due] == ["clinic_a"]
    assert len(statements) == 1, statements


def test_a_disabled_subscription_gets_its_pending_events_once_enabled_again(clinic_a, receiver):
    with clinic_a:
        subscription, _ = webhook_subscription_create(url=receiver.url, kinds=ALL)
        receiver.status = 500
        record("ticket.called", ticket_id=1)
        deliver()
        webhook_subscription_update(subscription=subscription, is_active=False)
        receiver.status = 204
        while_disabled = deliver()
        webhook_subscription_update(subscription=subscription, is_active=True)
        due = WebhookSchedule.objects.get(clinic_id=clinic_a.pk).due_at
        deliver()

    assert while_disabled == 0
    assert due <= timezone.now()
    assert [p["type"] for p in receiver.payloads()] == ["ticket.called"]


def test_a_revoked_partner_or_one_removed_from_the_clinic_gets_nothing_more(
    clinic_a, clinic_b, receiver
):
    client, _secret = partner_client_create(name="ERP", clinics=[clinic_a, clinic_b])
    with clinic_a:
        webhook_subscription_create(url=receiver.url, kinds=ALL, partner_client_id=client.client_id)
        record("ticket.called", ticket_id=1)
        deliver()
        client.clinics.remove(clinic_a)
        record("ticket.called", ticket_id=2)
        deliver()

    assert [p["data"]["ticket_id"] for p in receiver.payloads()] == [1]


@pytest.mark.parametrize("host", ["10.0.0.5", "192.168.1.10", "169.254.169.254", "[::1]"])
def test_a_private_or_local_address_is_refused_even_over_https(clinic_a, host):
    with clinic_a, pytest.raises(ValidationError) as refused:
        webhook_subscription_create(url=f"https://{host}/hook", kinds=ALL)
    (error,) = refused.value.error_dict["url"]
    assert error.code == "address_not_allowed"


def test_a_provisioned_clinic_has_the_webhook_tables_and_the_public_index_is_shared(clinic_a):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_name LIKE 'integrations%%' AND table_schema IN (%s, 'public')",
            [clinic_a.schema_name],
        )
        found = set(cursor.fetchall())

    assert found == {
        (clinic_a.schema_name, "integrations_webhooksubscription"),
        (clinic_a.schema_name, "integrations_webhookdelivery"),
        (clinic_a.schema_name, "integrations_webhookattempt"),
        (clinic_a.schema_name, "integrations_webhooknotice"),
        ("public", "integrations_schedule_webhookschedule"),
    }


def test_a_burst_of_events_publishes_one_task_until_that_task_starts(clinic_a, receiver):
    with clinic_a:
        webhook_subscription_create(url=receiver.url, kinds=ALL)
    first = webhooks_queued_mark(schemas=["clinic_a", "clinic_b"])
    again = webhooks_queued_mark(schemas=["clinic_a"])
    with clinic_a:
        webhooks_run()  # the task starts: events from now on publish another
    after_the_task = webhooks_queued_mark(schemas=["clinic_a"])

    assert (first, again, after_the_task) == ({"clinic_a"}, set(), {"clinic_a"})


@override_settings(CLINICO_WEBHOOK_LOG_RETENTION_DAYS=30)
def test_the_delivery_log_keeps_30_days_and_never_drops_a_pending_delivery(clinic_a, receiver):
    with clinic_a:
        webhook_subscription_create(url=receiver.url, kinds=ALL)
        record("ticket.called", ticket_id=1)
        record("ticket.called", ticket_id=2)
        deliver()
        old, pending = WebhookDelivery.objects.order_by("event_id")
        long_ago = timezone.now() - datetime.timedelta(days=31)
        WebhookDelivery.objects.filter(pk__in=[old.pk, pending.pk]).update(created_at=long_ago)
        WebhookDelivery.objects.filter(pk=pending.pk).update(status="pending")
        purged = webhook_log_purge()
        left = list(WebhookDelivery.objects.values_list("pk", flat=True))

    assert purged == 1
    assert left == [pending.pk]
