"""clinic_export / clinic_import: a clinic dropped and restored keeps its staff and its queue,
and moves to another database with its users."""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from accounts.models import ClinicMembership, User
from benchmarks._probe_migration import PROBE_COLUMN, probe_migration
from patients.models import Patient
from queueing.models import Service, Ticket, TicketEvent
from tenants.models import Chain, Clinic, ClinicDaySummary
from tenants.selectors import clinic_hostname
from tenants.services import chain_create, clinic_provision
from tenants.transfer import clinic_drop, clinic_import
from tests.checkin_factories import cpf_from_number
from tests.database import database_url

SLUG = "exp_sol"
EMAIL = "recepcao@exp-sol.test"
PASSWORD = "exp-pass-123456"
ROOT = Path(__file__).resolve().parents[2]


def _drop_clinic(slug: str) -> None:
    connection.set_schema_to_public()
    clinic = Clinic.objects.filter(schema_name=slug).first()
    if clinic is not None:
        clinic_drop(clinic=clinic)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{slug}" CASCADE')


@pytest.fixture
def clinic_with_queue(django_db_setup, django_db_blocker):
    """A committed clinic with a receptionist who issued two tickets, and a closed day."""
    from queueing.services.tickets import ticket_issue

    with django_db_blocker.unblock():
        _drop_clinic(SLUG)
        chain = Chain.objects.filter(slug="rede_exp").first() or chain_create(
            name="Rede Exportação", slug="rede_exp"
        )
        clinic = clinic_provision(
            chain=chain, name="Clínica Exportada", slug=SLUG, timezone="America/Manaus"
        )
        user = User.objects.filter(email=EMAIL).first() or User.objects.create_user(EMAIL, PASSWORD)
        ClinicMembership.objects.create(user=user, clinic=clinic, role="receptionist")
        ClinicDaySummary.objects.create(
            clinic=clinic,
            service_day=datetime.date(2026, 1, 5),
            tickets=7,
            served=6,
            closed_at=datetime.datetime(2026, 1, 6, tzinfo=datetime.UTC),
        )
        with clinic:
            service = Service.objects.get()
            for number, name in enumerate(("Ana Souza", "Bruno Lima"), start=7001):
                patient = Patient.objects.create(full_name=name, cpf=cpf_from_number(number))
                ticket_issue(patient=patient, service=service, actor=user)
            numbers = sorted(Ticket.objects.values_list("number", flat=True))
            codes = sorted(t.display_code for t in Ticket.objects.all())
        connection.set_schema_to_public()
        yield clinic, user, numbers, codes
        _drop_clinic(SLUG)  # the user stays (deleting users touches every clinic's tables)
        Chain.objects.filter(slug="rede_exp").delete()


def _signed_in(clinic: Clinic) -> APIClient:
    client = APIClient(HTTP_HOST=clinic_hostname(clinic=clinic))
    response = client.post(
        "/api/v1/auth/token/", {"email": EMAIL, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


def _queue_codes(client: APIClient) -> list[str]:
    response = client.get("/api/v1/queue/")
    assert response.status_code == 200, response.content
    return sorted(t["display_code"] for s in response.json()["services"] for t in s["tickets"])


def test_a_dropped_clinic_comes_back_from_its_archive_with_staff_and_queue(
    clinic_with_queue, tmp_path
):
    clinic, user, _, codes = clinic_with_queue
    panel_key = clinic.panel_key
    archive = tmp_path / "exp_sol.clinic"
    call_command("clinic_export", SLUG, str(archive), verbosity=0)
    assert _queue_codes(_signed_in(clinic)) == codes

    clinic_drop(clinic=clinic)
    assert not Clinic.objects.filter(schema_name=SLUG).exists()

    call_command("clinic_import", str(archive), verbosity=0)
    restored = Clinic.objects.get(schema_name=SLUG)
    assert (restored.name, restored.timezone, restored.panel_key) == (
        "Clínica Exportada",
        "America/Manaus",
        panel_key,
    )
    assert _queue_codes(_signed_in(restored)) == codes
    assert restored.day_summaries.get().tickets == 7
    reset = PeriodicTask.objects.get(name=f"daily-reset:{SLUG}")
    assert reset.enabled and reset.crontab.timezone.key == "America/Manaus"
    with restored:
        assert set(TicketEvent.objects.values_list("actor_id", flat=True)) == {user.pk}

    # Importing over an existing clinic needs --replace.
    with pytest.raises(CommandError, match="already exists.*--replace"):
        call_command("clinic_import", str(archive), verbosity=0)
    call_command("clinic_import", str(archive), replace=True, verbosity=0)
    assert _queue_codes(_signed_in(Clinic.objects.get(schema_name=SLUG))) == codes


def test_an_archive_of_older_code_is_migrated_on_import(clinic_with_queue, tmp_path):
    clinic, _, _, codes = clinic_with_queue
    archive = tmp_path / "exp_sol.clinic"
    call_command("clinic_export", SLUG, str(archive), verbosity=0)
    clinic_drop(clinic=clinic)
    with probe_migration(folder=tmp_path / "code"):  # this code has one migration more
        imported = clinic_import(path=archive)
        assert imported.migrations_applied == 1
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = %s "
                "AND table_name = 'queueing_service' AND column_name = %s",
                [SLUG, PROBE_COLUMN],
            )
            assert cursor.fetchone()[0] == 1
    assert _queue_codes(_signed_in(imported.clinic)) == codes


def test_an_archive_of_newer_code_is_refused(clinic_with_queue, tmp_path):
    archive = tmp_path / "exp_sol.clinic"
    with probe_migration(folder=tmp_path / "code"):
        from tenants.schema_migrations import schemas_migrate

        assert schemas_migrate(schemas=[SLUG])[0].applied == 1
        call_command("clinic_export", SLUG, str(archive), verbosity=0)
    with pytest.raises(CommandError, match="migrations this code does not know"):
        call_command("clinic_import", str(archive), replace=True, verbosity=0)
    assert Clinic.objects.filter(schema_name=SLUG).exists()  # nothing was dropped


def test_an_archive_that_is_not_one_is_refused(tmp_path, db):
    bogus = tmp_path / "bogus.clinic"
    bogus.write_bytes(b"not a tar file")
    with pytest.raises(CommandError, match="not a clinic archive"):
        call_command("clinic_import", str(bogus), verbosity=0)


@pytest.fixture
def second_database(django_db_setup, django_db_blocker):
    """Another database on the same cluster, migrated by migrate_clinics; its URL."""
    url = database_url()
    name = f"{settings.DATABASES['default']['NAME']}_second"
    second = url.rsplit("/", 1)[0] + f"/{name}"
    maintenance = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    maintenance.autocommit = True
    with maintenance.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    env = dict(os.environ, DATABASE_URL=second, DJANGO_SETTINGS_MODULE="clinico.settings.test")
    _manage(env, "migrate_clinics", "-v", "0", "--jobs", "1")
    yield second, env
    with maintenance.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    maintenance.close()


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.timeout(900)  # migrates a whole second database first
def test_a_clinic_moves_to_another_database_with_its_users(
    clinic_with_queue, second_database, tmp_path
):
    clinic, user, numbers, _ = clinic_with_queue
    url, env = second_database
    archive = tmp_path / "exp_sol.clinic"
    call_command("clinic_export", SLUG, str(archive), verbosity=0)
    with psycopg2.connect(url) as conn, conn.cursor() as cursor:
        # Someone else holds ids there already: the moved user gets another one.
        for i in range(3):
            cursor.execute(
                "INSERT INTO accounts_user (email, password, full_name, is_staff, is_active, "
                "is_superuser, date_joined) VALUES (%s, '!', '', false, true, false, now())",
                [f"outro{i}@second.test"],
            )

    out = _manage(env, "clinic_import", str(archive))
    assert "1 users created" in out

    with psycopg2.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT id, password FROM accounts_user WHERE email = %s", [EMAIL])
        moved_id, password = cursor.fetchone()
        assert password == user.password  # the same password signs in there
        cursor.execute(
            "SELECT m.role FROM accounts_clinicmembership m JOIN tenants_clinic c "
            "ON c.id = m.clinic_id WHERE c.schema_name = %s AND m.user_id = %s",
            [SLUG, moved_id],
        )
        assert cursor.fetchone() == ("receptionist",)
        cursor.execute(f'SELECT number FROM "{SLUG}".queueing_ticket ORDER BY number')
        assert [row[0] for row in cursor.fetchall()] == numbers
        cursor.execute(f'SELECT DISTINCT actor_id FROM "{SLUG}".queueing_ticketevent')
        assert cursor.fetchall() == [(moved_id,)]
        cursor.execute(
            "SELECT enabled FROM django_celery_beat_periodictask WHERE name = %s",
            [f"daily-reset:{SLUG}"],
        )
        assert cursor.fetchone() == (True,)
    assert moved_id != user.pk
