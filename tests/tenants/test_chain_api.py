"""Chain API on the public host: chains, clinics (list, provision, settings), daily figures."""

import datetime

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.models import ChainMembership, User
from tenants.models import Clinic, ClinicDaySummary

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(clinic_a, clinic_b) -> User:
    """Manager of rede_sol (clinics A and B), not of rede_lua (clinic C)."""
    user = User.objects.create_user("gerente@sol.example", "s3nha-forte-123")
    ChainMembership.objects.create(user=user, chain=clinic_a.chain)
    return user


@pytest.fixture
def api(public_client, manager):
    public_client.force_authenticate(user=manager)
    return public_client


def _error_attrs(response) -> list[str]:
    body = response.json()
    assert body["type"] == "validation_error", body
    return [error["attr"] for error in body["errors"]]


def test_a_manager_sees_only_the_chains_they_manage(api, clinic_a, clinic_c):
    response = api.get("/api/v1/chains/")

    assert response.status_code == 200
    assert [(c["slug"], c["clinics"]) for c in response.json()] == [("rede_sol", 2)]


def test_platform_staff_see_every_chain(public_client, clinic_a, clinic_c):
    staff = User.objects.create_user("ops@clinico.example", "s3nha-forte-123", is_staff=True)
    public_client.force_authenticate(user=staff)

    slugs = [c["slug"] for c in public_client.get("/api/v1/chains/").json()]

    assert {"rede_sol", "rede_lua"} <= set(slugs)


def test_an_anonymous_caller_is_refused(public_client, clinic_a):
    response = public_client.get("/api/v1/chains/")
    assert response.status_code in (401, 403)


def test_a_revoked_manager_no_longer_reaches_the_chain(api, manager, clinic_a):
    ChainMembership.objects.filter(user=manager).update(is_active=False)
    assert api.get(f"/api/v1/chains/{clinic_a.chain_id}/clinics/").status_code == 404


def test_the_chains_clinics_are_listed_with_their_reset_settings(api, clinic_a, clinic_b):
    response = api.get(f"/api/v1/chains/{clinic_a.chain_id}/clinics/")

    assert response.status_code == 200
    by_slug = {c["slug"]: c for c in response.json()}
    assert set(by_slug) == {"clinic_a", "clinic_b"}
    assert by_slug["clinic_b"]["timezone"] == "America/Manaus"
    assert by_slug["clinic_b"]["reset_time"] == "00:00"
    assert by_slug["clinic_b"]["reset_task"] == "daily-reset:clinic_b"


def test_another_chains_ids_and_slugs_answer_404(api, clinic_c):
    assert api.get(f"/api/v1/chains/{clinic_c.chain_id}/clinics/").status_code == 404
    assert api.get(f"/api/v1/chains/{clinic_c.chain_id}/stats/").status_code == 404
    assert api.get("/api/v1/clinics/clinic_c/").status_code == 404
    assert api.patch("/api/v1/clinics/clinic_c/", {"name": "X"}, format="json").status_code == 404
    provision = {"slug": "intrusa", "name": "Intrusa", "timezone": "America/Sao_Paulo"}
    response = api.post(f"/api/v1/chains/{clinic_c.chain_id}/clinics/", provision, format="json")
    assert response.status_code == 404
    assert not Clinic.objects.filter(schema_name="intrusa").exists()


def test_a_manager_opens_a_clinic_with_its_own_reset_time_and_zone(api, clinic_a):
    response = api.post(
        f"/api/v1/chains/{clinic_a.chain_id}/clinics/",
        {
            "slug": "sol_acre",
            "name": "Clínica Sol Acre",
            "timezone": "America/Rio_Branco",
            "reset_time": "02:30",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["host"] == "sol-acre.localhost"
    task = PeriodicTask.objects.get(name="daily-reset:sol_acre")
    assert (task.crontab.hour, task.crontab.minute) == ("2", "30")
    assert task.crontab.timezone.key == "America/Rio_Branco"
    assert task.enabled


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"slug": "sol_x", "name": "X", "timezone": "America/Sao_Pablo"}, "timezone"),
        ({"slug": "sol_x", "name": "X", "timezone": "Brazil"}, "timezone"),
        ({"slug": "Sol X", "name": "X"}, "slug"),
        ({"slug": "public", "name": "X"}, "slug"),
        ({"slug": "clinic_a", "name": "X"}, "slug"),  # already taken
        ({"slug": "sol_x", "name": ""}, "name"),
        ({"slug": "sol_x", "name": "X", "reset_time": "25:00"}, "reset_time"),
        ({"name": "X"}, "slug"),
    ],
)
def test_bad_provisioning_input_answers_400_naming_the_field(api, clinic_a, payload, field):
    response = api.post(f"/api/v1/chains/{clinic_a.chain_id}/clinics/", payload, format="json")

    assert response.status_code == 400
    assert field in _error_attrs(response)
    assert not Clinic.objects.filter(schema_name="sol_x").exists()


def test_changing_timezone_and_reset_time_moves_the_reset_task(api, clinic_b):
    response = api.patch(
        "/api/v1/clinics/clinic_b/",
        {"timezone": "America/Noronha", "reset_time": "01:15"},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["timezone"], response.json()["reset_time"]) == (
        "America/Noronha",
        "01:15",
    )
    crontab = PeriodicTask.objects.get(name="daily-reset:clinic_b").crontab
    assert (crontab.hour, crontab.minute, crontab.timezone.key) == ("1", "15", "America/Noronha")


def test_deactivating_a_clinic_pauses_its_reset_and_reactivating_resumes_it(api, clinic_b):
    api.patch("/api/v1/clinics/clinic_b/", {"is_active": False}, format="json")
    paused = PeriodicTask.objects.get(name="daily-reset:clinic_b").enabled
    api.patch("/api/v1/clinics/clinic_b/", {"is_active": True}, format="json")
    resumed = PeriodicTask.objects.get(name="daily-reset:clinic_b").enabled

    assert (paused, resumed) == (False, True)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"reset_time": "7pm"}, "reset_time"),
        ({"name": "   "}, "name"),
        ({"is_active": "maybe"}, "is_active"),
    ],
)
def test_bad_settings_answer_400_naming_the_field(api, clinic_b, payload, field):
    response = api.patch("/api/v1/clinics/clinic_b/", payload, format="json")

    assert response.status_code == 400
    assert field in _error_attrs(response)
    assert Clinic.objects.get(schema_name="clinic_b").timezone == "America/Manaus"


def _summary(clinic, day, tickets):
    return ClinicDaySummary.objects.create(
        clinic=clinic,
        service_day=day,
        tickets=tickets,
        served=tickets - 1,
        expired=1,
        wait_avg_s=300.0,
        closed_at=timezone.now(),
    )


def test_chain_stats_return_every_clinics_closed_days_in_the_range(
    api, clinic_a, clinic_b, clinic_c
):
    day = datetime.date(2026, 3, 2)
    _summary(clinic_a, day, 40)
    _summary(clinic_b, day, 25)
    _summary(clinic_a, day - datetime.timedelta(days=10), 99)  # outside the range
    _summary(clinic_c, day, 7)  # another chain

    response = api.get(
        f"/api/v1/chains/{clinic_a.chain_id}/stats/", {"from": "2026-03-01", "to": "2026-03-02"}
    )

    assert response.status_code == 200
    rows = response.json()["results"]
    assert (response.json()["count"], response.json()["next"]) == (2, None)
    assert [(r["clinic"], r["service_day"], r["tickets"]) for r in rows] == [
        ("clinic_b", "2026-03-02", 25),  # ordered by day, then clinic name (Manaus < Paulista)
        ("clinic_a", "2026-03-02", 40),
    ]
    assert rows[0]["expired"] == 1 and rows[0]["wait_avg_s"] == 300.0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-03-05", "to": "2026-03-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "from"),
    ],
)
def test_bad_stats_ranges_answer_400_naming_the_parameter(api, clinic_a, query, field):
    response = api.get(f"/api/v1/chains/{clinic_a.chain_id}/stats/", query)

    assert response.status_code == 400
    assert field in _error_attrs(response)


def test_chain_stats_come_a_page_at_a_time(api, clinic_a, clinic_b):
    day = datetime.date(2026, 3, 2)
    for back in range(3):
        _summary(clinic_a, day - datetime.timedelta(days=back), 10 + back)
        _summary(clinic_b, day - datetime.timedelta(days=back), 20 + back)
    url = f"/api/v1/chains/{clinic_a.chain_id}/stats/"
    query = {"from": "2026-02-28", "to": "2026-03-02", "page_size": 4}

    first = api.get(url, query).json()
    second = api.get(first["next"].split("testserver")[-1]).json()

    assert (first["count"], len(first["results"]), len(second["results"])) == (6, 4, 2)
    assert second["next"] is None and second["previous"] is not None
    seen = [(r["clinic"], r["service_day"]) for r in first["results"] + second["results"]]
    assert len(set(seen)) == 6
    assert seen[0] == ("clinic_b", "2026-02-28")  # by day, then clinic name


def test_chain_today_answers_a_page_of_clinics_and_the_chains_totals(api, clinic_a, clinic_b):
    from tenants.live_figures import clinic_live_figures_refresh
    from tests.queueing import factories

    with clinic_a:
        factories.waiting(factories.reception())
        factories.waiting(factories.reception())
    clinic_live_figures_refresh(clinic=clinic_a)
    clinic_live_figures_refresh(clinic=clinic_b)
    url = f"/api/v1/chains/{clinic_a.chain_id}/today/"

    body = api.get(url, {"page_size": 1}).json()
    everyone = api.get(url).json()

    assert body["count"] == everyone["count"] >= 2 and len(body["results"]) == 1
    assert body["next"] is not None
    rows = {r["clinic"]: r for r in everyone["results"]}
    assert (rows["clinic_a"]["waiting"], rows["clinic_b"]["waiting"]) == (2, 0)
    assert everyone["totals"]["waiting"] == 2
