"""Operators manage people and partner clients in the Django admin of the public host.

Only POSTs are exercised: logged-in admin pages on the public host do not render yet
(django-tenants' admin templates read request.tenant.schema_name; see tests/tenants).
"""

import re

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.contrib.messages import get_messages
from django.test import Client

from accounts.models import PartnerClient
from accounts.services import partner_client_create
from tests.accounts.conftest import person

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_browser() -> Client:
    browser = Client(HTTP_HOST=settings.BASE_DOMAIN)
    browser.force_login(person("operator", is_staff=True, is_superuser=True))
    return browser


def test_creating_a_partner_shows_its_secret_once(operator_browser, clinic_a):
    response = operator_browser.post(
        "/admin/accounts/partnerclient/add/",
        {
            "name": "Totem Recepção",
            "clinics": [clinic_a.pk],
            "scope": "read_write",
            "requests_per_minute": 120,
        },
    )

    assert response.status_code == 302
    client = PartnerClient.objects.get(name="Totem Recepção")
    shown = " ".join(str(m) for m in get_messages(response.wsgi_request))
    secret = re.search(r"secret <code>([^<]+)</code>", shown).group(1)
    assert client.client_id in shown
    assert check_password(secret, client.secret_hash)
    assert list(client.clinics.all()) == [clinic_a]


def test_revoking_in_the_admin_stops_the_partner(operator_browser, clinic_a):
    client, _secret = partner_client_create(name="Agenda", clinics=[clinic_a])

    operator_browser.post(
        "/admin/accounts/partnerclient/",
        {"action": "revoke", "_selected_action": [client.pk]},
    )

    client.refresh_from_db()
    assert (client.is_active, client.revoked_at is not None) == (False, True)


def test_people_are_deactivated_not_deleted(operator_browser):
    someone = person()

    response = operator_browser.get(f"/admin/accounts/user/{someone.pk}/delete/")

    assert response.status_code == 403
