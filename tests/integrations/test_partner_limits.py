"""What one subscription owner may take: a breaker for failing receivers, caps, and payloads
that give a partner no id of records it did not make."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from accounts.services import partner_client_create
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.services import (
    webhook_deliveries_create,
    webhook_deliveries_send_due,
    webhook_subscription_create,
)
from queueing.services.checkins import checkin_create, checkin_process
from tests.integrations.conftest import CPF, OTHER_CPF, REGISTRATION, record
from tests.integrations.receiver import Receiver

pytestmark = pytest.mark.django_db


def deliver() -> None:
    webhook_deliveries_create()
    webhook_deliveries_send_due()


def _all_due_now() -> None:
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())


@override_settings(CLINICO_WEBHOOK_BREAKER_FAILURES=3, CLINICO_WEBHOOK_BREAKER_OPEN_SECONDS=60)
def test_the_breaker_backs_off_a_failing_subscription_while_a_healthy_one_keeps_delivering(
    clinic_a, receiver
):
    failing = Receiver().start()
    failing.status = 500
    try:
        with clinic_a, time_machine.travel(timezone.now(), tick=True) as clock:
            bad, _ = webhook_subscription_create(url=failing.url, kinds=["ticket.called"])
            good, _ = webhook_subscription_create(
                url=receiver.url + "?good", kinds=["ticket.called"]
            )
            for ticket_id in range(1, 11):  # ten tickets: no ordering holds them back
                record("ticket.called", ticket_id=ticket_id)
            for _ in range(5):
                deliver()
                _all_due_now()
            tried_while_closed = failing.refused
            bad.refresh_from_db()
            open_until = bad.breaker_open_until
            clock.shift(datetime.timedelta(seconds=61))  # half-open: one try
            _all_due_now()
            deliver()
            deliver()
            tried_half_open = failing.refused - tried_while_closed
            failing.status = 204  # the receiver is back: the next try closes the breaker
            clock.shift(datetime.timedelta(seconds=61))
            _all_due_now()
            for _ in range(3):
                deliver()
            bad.refresh_from_db()
            delivered_to_bad = WebhookDelivery.objects.filter(
                subscription=bad, status="delivered"
            ).count()
    finally:
        failing.stop()

    assert len(receiver.wait_for(10)) == 10  # the healthy one got every event at once
    assert tried_while_closed == 3  # then the breaker opened
    assert open_until is not None
    assert tried_half_open == 1
    assert delivered_to_bad == 10 and bad.failures_in_row == 0
    assert bad.breaker_open_until is None


@override_settings(CLINICO_WEBHOOK_MAX_SUBSCRIPTIONS_PER_OWNER=3)
def test_each_owner_has_a_cap_on_its_subscriptions_in_a_clinic(clinic_a, receiver):
    with clinic_a:
        for _ in range(3):
            webhook_subscription_create(url=receiver.url, kinds=["day.closed"])
            webhook_subscription_create(
                url=receiver.url, kinds=["day.closed"], partner_client_id="pc_one"
            )
        with pytest.raises(ValidationError) as clinic_own:
            webhook_subscription_create(url=receiver.url, kinds=["day.closed"])
        with pytest.raises(ValidationError) as partner:
            webhook_subscription_create(
                url=receiver.url, kinds=["day.closed"], partner_client_id="pc_one"
            )
        another_partner, _ = webhook_subscription_create(
            url=receiver.url, kinds=["day.closed"], partner_client_id="pc_two"
        )

    for refused in (clinic_own, partner):
        (error,) = refused.value.error_dict["url"]
        assert error.code == "too_many_subscriptions"
        assert "3" in error.messages[0]
    assert another_partner.pk


@override_settings(CLINICO_WEBHOOK_MAX_SUBSCRIPTIONS_PER_OWNER=1)
def test_the_api_answers_400_naming_the_cap(clinic_a, jwt_client, receiver):
    admin = jwt_client(clinic_a, "clinic_admin")
    data = {"url": receiver.url, "kinds": ["day.closed"]}
    with clinic_a:
        WebhookSubscription.objects.all().delete()
    first = admin.post("/api/v1/webhooks/", data, format="json")
    second = admin.post("/api/v1/webhooks/", data, format="json")

    assert first.status_code == 201, first.content
    assert second.status_code == 400
    (error,) = second.json()["errors"]
    assert (error["attr"], error["code"]) == ("url", "too_many_subscriptions")


def test_partner_payloads_carry_no_patient_id_and_no_id_of_check_ins_it_did_not_make(
    clinic_a, receiver
):
    client, _secret = partner_client_create(name="Agenda", clinics=[clinic_a], scope="read_write")
    with clinic_a:
        kinds = ["checkin.queued", "appointment.*"]
        webhook_subscription_create(
            url=receiver.url + "?partner", kinds=kinds, partner_client_id=client.client_id
        )
        webhook_subscription_create(url=receiver.url + "?clinic", kinds=kinds)
        at_reception, _ = checkin_create(cpf=CPF, registration=REGISTRATION)
        checkin_process(checkin_id=at_reception.pk)
        by_partner, _ = checkin_create(
            cpf=OTHER_CPF, registration=REGISTRATION, partner_client_id=client.client_id
        )
        checkin_process(checkin_id=by_partner.pk)
        record("appointment.created", appointment_id=5, patient_id=42)
        record(
            "appointment.created",
            appointment_id=6,
            external_id="agenda-6",
            partner_client_id=client.client_id,
        )
        record(
            "appointment.created",
            appointment_id=7,
            external_id="outra-7",
            partner_client_id="outra-agenda",
        )
        deliver()

    got: dict[str, list] = {"partner": [], "clinic": []}
    for received in receiver.received:
        got["partner" if received.path.endswith("?partner") else "clinic"].append(received.payload)
    partner_checkins = {
        p["data"].get("checkin_id") for p in got["partner"] if p["type"] == "checkin.queued"
    }
    clinic_checkins = {
        p["data"].get("checkin_id") for p in got["clinic"] if p["type"] == "checkin.queued"
    }
    partner_bookings = [p["data"] for p in got["partner"] if p["type"] == "appointment.created"]
    (own_booking,) = [d for d in partner_bookings if d.get("external_id") == "agenda-6"]
    not_its_own = [d for d in partner_bookings if d is not own_booking]
    (clinic_appointment,) = [
        p
        for p in got["clinic"]
        if p["type"] == "appointment.created" and p["data"].get("patient_id")
    ]
    assert partner_checkins == {None, str(by_partner.pk)}  # the reception's has no id
    assert clinic_checkins == {str(at_reception.pk), str(by_partner.pk)}
    assert clinic_appointment["data"]["patient_id"] == 42
    assert not any("patient_id" in d for d in partner_bookings)
    # A booking names itself only to the partner that made it.
    assert own_booking["appointment_id"] == 6
    assert len(not_its_own) == 2
    owner_keys = {"appointment_id", "external_id", "partner_client_id"}
    assert not any(owner_keys & set(d) for d in not_its_own)


def test_receivers_that_fail_never_take_the_sends_that_answering_receivers_need(clinic_a):
    from integrations.services import webhook_deliveries_claim

    with clinic_a:
        failing = [
            webhook_subscription_create(url=f"http://127.0.0.1:9/slow{n}", kinds=["ticket.called"])[
                0
            ]
            for n in range(6)
        ]
        healthy, _secret = webhook_subscription_create(
            url="http://127.0.0.1:9/ok", kinds=["ticket.called"]
        )
        WebhookSubscription.objects.filter(pk__in=[s.pk for s in failing]).update(failures_in_row=1)
        record("ticket.called", ticket_id=1)
        webhook_deliveries_create()

        claimed = webhook_deliveries_claim(limit=4, failing_limit=2)

    by_subscription = [prepared.subscription_id for prepared in claimed]
    assert healthy.pk in by_subscription
    assert sum(1 for prepared in claimed if prepared.failing) == 2
