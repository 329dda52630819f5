"""Operators see each clinic's reset task in the admin and can pause it."""

import pytest
from django.conf import settings
from django.test import Client
from django_celery_beat.models import PeriodicTask

from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(clinic_b) -> Client:
    operator = User.objects.create_superuser("ops@clinico.example", "s3nha-forte-123")
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    client.force_login(operator)
    return client


# Logged-in admin pages on the public host crash in django-tenants' admin templates, which read
# request.tenant.schema_name while clinico.middleware sets request.tenant = None there.


def test_the_clinic_list_shows_each_clinics_reset_schedule(operator_client):
    response = operator_client.get("/admin/tenants/clinic/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "America/Manaus" in page
    assert "(enabled)" in page


def test_deactivating_in_the_admin_pauses_the_reset(operator_client, clinic_b):
    response = operator_client.post(
        "/admin/tenants/clinic/",
        {"action": "deactivate", "_selected_action": [clinic_b.pk]},
    )

    assert response.status_code == 302
    assert PeriodicTask.objects.get(name="daily-reset:clinic_b").enabled is False


def test_changing_the_reset_time_in_the_admin_moves_the_task(operator_client, clinic_b):
    response = operator_client.post(
        f"/admin/tenants/clinic/{clinic_b.pk}/change/",
        {"name": clinic_b.name, "timezone": "America/Rio_Branco", "reset_time": "03:00"},
    )

    assert response.status_code == 302
    crontab = PeriodicTask.objects.get(name="daily-reset:clinic_b").crontab
    assert (crontab.hour, crontab.timezone.key) == ("3", "America/Rio_Branco")


def test_an_unknown_timezone_is_refused_in_the_admin(operator_client, clinic_b):
    response = operator_client.post(
        f"/admin/tenants/clinic/{clinic_b.pk}/change/",
        {"name": clinic_b.name, "timezone": "America/Atlantis", "reset_time": "00:00"},
    )

    assert response.status_code == 200
    assert "is not an IANA timezone" in response.content.decode()
