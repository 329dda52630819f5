"""The delivery log in the clinic host's Django admin, and the payloads in the OpenAPI document."""

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from integrations.kinds import SUBSCRIBABLE_KINDS
from integrations.models import WebhookDelivery
from integrations.services import webhook_subscription_create
from tenants.selectors import clinic_hostname
from tests.accounts.conftest import person

pytestmark = pytest.mark.django_db


def _delivered(subscription) -> WebhookDelivery:
    now = timezone.now()
    return WebhookDelivery.objects.create(
        subscription=subscription,
        event_id=41,
        kind="ticket.called",
        ticket_id=3,
        event_at=now,
        payload={"id": "clinic_a.41", "type": "ticket.called", "data": {}},
        status="delivered",
        attempts=1,
        next_attempt_at=now,
        window_started_at=now,
        delivered_at=now,
    )


def test_clinic_hosts_serve_no_admin_unless_it_is_turned_on(clinic_a):
    browser = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    browser.force_login(person("operator", is_staff=True, is_superuser=True))

    assert browser.get("/admin/login/").status_code == 404
    assert browser.get("/admin/integrations/webhookdelivery/").status_code == 404


@override_settings(CLINICO_CLINIC_HOST_ADMIN=True)
def test_an_operator_reads_the_delivery_log_and_redelivers_in_the_clinic_s_admin(clinic_a):
    browser = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    browser.force_login(person("operator", is_staff=True, is_superuser=True))
    with clinic_a:
        subscription, _ = webhook_subscription_create(
            url="https://erp.example.com/hook", kinds=SUBSCRIBABLE_KINDS
        )
        delivery = _delivered(subscription)

    listing = browser.get("/admin/integrations/webhookdelivery/")
    action = browser.post(
        "/admin/integrations/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [delivery.pk]},
    )
    with clinic_a:
        delivery.refresh_from_db()

    assert listing.status_code == 200
    assert "ticket.called" in listing.content.decode()
    assert action.status_code == 302
    assert delivery.status == "pending"


@override_settings(CLINICO_CLINIC_HOST_ADMIN=True)
def test_staff_without_operator_rights_are_sent_to_the_admin_sign_in(clinic_a):
    browser = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    browser.force_login(person("admin-of-clinic"))

    response = browser.get("/admin/integrations/webhookdelivery/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_openapi_document_describes_every_webhook_payload(clinic_a):
    response = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a)).get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    document = response.json()

    assert document["openapi"].startswith("3.1")
    assert set(document["webhooks"]) == set(SUBSCRIBABLE_KINDS)
    called = document["webhooks"]["ticket.called"]["post"]
    body = called["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/WebhookTicketEvent")
    assert "Clinico-Signature" in called["description"]
