import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


def test_clinic_host_serves_the_clinic_api_docs(clinic_a):
    response = Client(HTTP_HOST=f"clinic-a.{settings.BASE_DOMAIN}").get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content


def test_public_host_serves_the_admin_login():
    response = Client(HTTP_HOST=settings.BASE_DOMAIN).get("/admin/login/")
    assert response.status_code == 200


def test_admin_is_not_served_on_a_clinic_host(clinic_a):
    response = Client(HTTP_HOST=f"clinic-a.{settings.BASE_DOMAIN}").get("/admin/login/")
    assert response.status_code == 404


def test_unknown_clinic_host_answers_404_json_and_not_the_public_site():
    response = Client(HTTP_HOST=f"nowhere.{settings.BASE_DOMAIN}").get("/admin/login/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["errors"][0]["code"] == "unknown_host"
    assert "nowhere" in body["errors"][0]["detail"]


def test_host_outside_the_base_domain_answers_404_json():
    response = Client(HTTP_HOST="evil.example.com").get("/api/schema/")
    assert response.status_code == 404
    assert response.json()["type"] == "client_error"


def test_deactivated_clinic_host_answers_404(clinic_a):
    from tenants.selectors import clinic_host_cache_clear
    from tenants.services import clinic_update_settings

    clinic_update_settings(clinic=clinic_a, is_active=False)
    clinic_host_cache_clear()
    response = Client(HTTP_HOST=f"clinic-a.{settings.BASE_DOMAIN}").get("/api/schema/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "clinic_inactive"
    clinic_host_cache_clear()


def test_healthz_answers_on_clinic_and_public_hosts(clinic_a):
    for host in (settings.BASE_DOMAIN, f"clinic-a.{settings.BASE_DOMAIN}"):
        response = Client(HTTP_HOST=host).get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


def test_readyz_reports_database_and_broker_up(clinic_a):
    response = Client(HTTP_HOST=f"clinic-a.{settings.BASE_DOMAIN}").get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_names_the_broker_when_it_is_unreachable(settings):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    response = Client(HTTP_HOST=settings.BASE_DOMAIN).get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("down")
