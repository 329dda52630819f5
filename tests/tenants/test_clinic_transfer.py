"""clinic_export / clinic_import: a clinic dropped and restored keeps its staff and its queue,
and moves to another database with its users."""

import datetime
import hashlib
import hmac
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from accounts.models import ClinicMembership, PartnerClient, User
from benchmarks._probe_migration import PROBE_COLUMN, probe_migration
from patients.models import Patient
from queueing.models import Service, Ticket, TicketEvent
from tenants.models import Chain, Clinic, ClinicDaySummary
from tenants.selectors import clinic_hostname
from tenants.services import chain_create, clinic_provision
from tenants.transfer import _pg_connection_args, _pg_tool, clinic_drop, clinic_import
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

    call_command("clinic_import", str(archive), chain="rede_exp", verbosity=0)
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
        call_command("clinic_import", str(archive), chain="rede_exp", verbosity=0)
    call_command("clinic_import", str(archive), replace=True, chain="rede_exp", verbosity=0)
    assert _queue_codes(_signed_in(Clinic.objects.get(schema_name=SLUG))) == codes


def test_an_archive_of_older_code_is_migrated_on_import(clinic_with_queue, tmp_path):
    clinic, _, _, codes = clinic_with_queue
    archive = tmp_path / "exp_sol.clinic"
    call_command("clinic_export", SLUG, str(archive), verbosity=0)
    clinic_drop(clinic=clinic)
    with probe_migration(folder=tmp_path / "code"):  # this code has one migration more
        imported = clinic_import(path=archive, chain_slug="rede_exp")
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
        call_command("clinic_import", str(archive), replace=True, chain="rede_exp", verbosity=0)
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


def _archive_rewritten(archive: Path, out: Path, **members: bytes) -> Path:
    """A copy of `archive` with some members replaced (None: left out)."""
    with tarfile.open(archive) as source, tarfile.open(out, "w") as target:
        for info in source.getmembers():
            data = members.get(info.name, source.extractfile(info).read())
            if data is None:
                continue
            copy = tarfile.TarInfo(info.name)
            copy.size = len(data)
            target.addfile(copy, io.BytesIO(data))
    return out


def _member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive) as source:
        return source.extractfile(name).read()


def _resigned(manifest: dict) -> dict:
    """Members of an archive whose manifest is `manifest`, signed with this installation's key."""
    data = json.dumps(manifest).encode()
    key = settings.CLINICO_ARCHIVE_SIGNING_KEY.encode()
    return {
        "manifest.json": data,
        "signature": hmac.new(key, data, hashlib.sha256).hexdigest().encode(),
    }


def _clinic_unchanged(clinic: Clinic, codes: list[str]) -> None:
    assert Clinic.objects.filter(schema_name=SLUG).exists()
    assert _queue_codes(_signed_in(Clinic.objects.get(schema_name=SLUG))) == codes


def test_an_unsigned_archive_is_refused_and_nothing_changes(clinic_with_queue, tmp_path):
    clinic, _, _, codes = clinic_with_queue
    archive = tmp_path / "exp_sol.clinic"
    call_command("clinic_export", SLUG, str(archive), verbosity=0)
    unsigned = _archive_rewritten(archive, tmp_path / "unsigned.clinic", signature=None)
    with pytest.raises(CommandError, match="is not signed"):
        call_command("clinic_import", str(unsigned), replace=True, chain="rede_exp", verbosity=0)
    _clinic_unchanged(clinic, codes)


def test_an_archive_altered_after_export_is_refused_and_nothing_changes(
    clinic_with_queue, tmp_path
):
    clinic, _, _, codes = clinic_with_queue
    archive = tmp_path / "exp_sol.clinic"
    call_command("clinic_export", SLUG, str(archive), verbosity=0)
    public = json.loads(_member(archive, "public.json"))
    public["clinic"]["panel_key"] = "a-key-the-attacker-knows"
    altered = _archive_rewritten(
        archive, tmp_path / "altered.clinic", **{"public.json": json.dumps(public).encode()}
    )
    with pytest.raises(CommandError, match="public.json was altered"):
        call_command("clinic_import", str(altered), replace=True, chain="rede_exp", verbosity=0)
    manifest = json.loads(_member(archive, "manifest.json"))
    manifest["slug"] = "outra"
    forged = _archive_rewritten(
        archive, tmp_path / "forged.clinic", **{"manifest.json": json.dumps(manifest).encode()}
    )
    with pytest.raises(CommandError, match="signature does not match"):
        call_command("clinic_import", str(forged), replace=True, chain="rede_exp", verbosity=0)
    _clinic_unchanged(clinic, codes)


def test_an_archive_signed_with_another_key_is_refused(clinic_with_queue, tmp_path, settings):
    archive = tmp_path / "exp_sol.clinic"
    settings.CLINICO_ARCHIVE_SIGNING_KEY = "another installation's key"
    call_command("clinic_export", SLUG, str(archive), verbosity=0)
    settings.CLINICO_ARCHIVE_SIGNING_KEY = "this installation's key"
    with pytest.raises(CommandError, match="signature does not match"):
        call_command("clinic_import", str(archive), replace=True, chain="rede_exp", verbosity=0)


def test_a_dump_with_an_entry_outside_the_clinic_schema_is_refused_before_restoring(
    clinic_with_queue, tmp_path
):
    clinic, _, _, codes = clinic_with_queue
    archive = tmp_path / "exp_sol.clinic"
    call_command("clinic_export", SLUG, str(archive), verbosity=0)
    # A dump that also holds a table of the public schema, signed as if it were an export.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS public.clinico_intruder (x int)")
    try:
        args, env = _pg_connection_args()
        wide = tmp_path / "wide.dump"
        subprocess.run(
            [
                _pg_tool("pg_dump"),
                *args,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                "--schema",
                SLUG,
                "--table",
                "public.clinico_intruder",
                "--file",
                str(wide),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE public.clinico_intruder")
    dump = wide.read_bytes()
    manifest = json.loads(_member(archive, "manifest.json"))
    manifest["sha256"]["schema.dump"] = hashlib.sha256(dump).hexdigest()
    hostile = _archive_rewritten(
        archive, tmp_path / "hostile.clinic", **_resigned(manifest), **{"schema.dump": dump}
    )
    with pytest.raises(CommandError, match="outside the clinic's schema.*clinico_intruder"):
        call_command("clinic_import", str(hostile), replace=True, chain="rede_exp", verbosity=0)
    _clinic_unchanged(clinic, codes)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.clinico_intruder')")
        assert cursor.fetchone() == (None,)


def _with_public(archive: Path, out: Path, public: dict) -> Path:
    data = json.dumps(public).encode()
    manifest = json.loads(_member(archive, "manifest.json"))
    manifest["sha256"]["public.json"] = hashlib.sha256(data).hexdigest()
    return _archive_rewritten(archive, out, **_resigned(manifest), **{"public.json": data})


def test_an_archive_never_sets_a_partner_secret_and_the_partner_gets_a_new_one(
    clinic_with_queue, tmp_path
):
    from django.contrib.auth.hashers import make_password

    from accounts.services import partner_client_authenticate

    clinic, _, _, _ = clinic_with_queue
    archive = tmp_path / "exp_sol.clinic"
    call_command("clinic_export", SLUG, str(archive), verbosity=0)
    public = json.loads(_member(archive, "public.json"))
    public["partner_clients"] = [
        {
            "name": "Planted",
            "client_id": "pc_planted_by_archive",
            "secret_hash": make_password("chosen-secret"),
            "scope": "read_write",
            "requests_per_minute": 600,
            "is_active": True,
            "created_at": "2026-01-01T00:00:00+00:00",
            "revoked_at": None,
        }
    ]
    planted = _with_public(archive, tmp_path / "planted.clinic", public)
    out = io.StringIO()
    try:
        call_command("clinic_import", str(planted), replace=True, chain="rede_exp", stdout=out)
        assert (
            partner_client_authenticate(client_id="pc_planted_by_archive", secret="chosen-secret")
            is None
        )
        secret = out.getvalue().rsplit(": ", 1)[1].strip()
        assert "pc_planted_by_archive is new here" in out.getvalue()
        partner = partner_client_authenticate(client_id="pc_planted_by_archive", secret=secret)
        assert list(partner.clinics.values_list("schema_name", flat=True)) == [SLUG]
    finally:
        PartnerClient.objects.filter(client_id="pc_planted_by_archive").delete()


def test_an_archive_cannot_give_the_clinic_to_another_partner_of_the_same_id(
    clinic_with_queue, tmp_path
):
    from accounts.services import partner_client_create

    clinic, _, _, codes = clinic_with_queue
    other, _ = partner_client_create(name="Someone else", clinics=[], client_id="pc_someone_else")
    try:
        archive = tmp_path / "exp_sol.clinic"
        call_command("clinic_export", SLUG, str(archive), verbosity=0)
        public = json.loads(_member(archive, "public.json"))
        public["partner_clients"] = [
            {
                "name": "Someone else",
                "client_id": "pc_someone_else",
                "secret_hash": "pbkdf2_sha256$1$salt$forged",
                "scope": "read_write",
                "requests_per_minute": 600,
                "is_active": True,
                "created_at": "2026-01-01T00:00:00+00:00",
                "revoked_at": None,
            }
        ]
        hostile = _with_public(archive, tmp_path / "hostile.clinic", public)
        with pytest.raises(CommandError, match="different partner client"):
            call_command("clinic_import", str(hostile), replace=True, chain="rede_exp", verbosity=0)
        assert not other.clinics.exists()
        _clinic_unchanged(clinic, codes)
    finally:
        other.delete()


def test_an_archive_joins_an_existing_chain_only_when_told_to(clinic_with_queue, tmp_path):
    clinic, _, _, codes = clinic_with_queue
    archive = tmp_path / "exp_sol.clinic"
    call_command("clinic_export", SLUG, str(archive), verbosity=0)
    other = chain_create(name="Rede Alheia", slug="rede_alheia")
    try:
        public = json.loads(_member(archive, "public.json"))
        public["chain"] = {"slug": "rede_alheia", "name": "Rede Alheia"}
        hostile = _with_public(archive, tmp_path / "hostile.clinic", public)
        with pytest.raises(CommandError, match='chain "rede_alheia" exists here.*--chain'):
            call_command("clinic_import", str(hostile), replace=True, verbosity=0)
        _clinic_unchanged(clinic, codes)
        assert Clinic.objects.get(schema_name=SLUG).chain.slug == "rede_exp"
        assert not other.clinics.exists()
    finally:
        other.delete()


def test_a_public_json_of_another_shape_is_refused(clinic_with_queue, tmp_path):
    clinic, _, _, codes = clinic_with_queue
    archive = tmp_path / "exp_sol.clinic"
    call_command("clinic_export", SLUG, str(archive), verbosity=0)
    public = json.loads(_member(archive, "public.json"))
    public["partner_clients"] = [{"client_id": "pc_x", "clinics": [1, 2, 3]}]
    hostile = _with_public(archive, tmp_path / "hostile.clinic", public)
    with pytest.raises(CommandError, match="not what clinic_export writes"):
        call_command("clinic_import", str(hostile), replace=True, chain="rede_exp", verbosity=0)
    _clinic_unchanged(clinic, codes)


def test_an_exported_archive_is_readable_by_its_owner_only(clinic_with_queue, tmp_path):
    archive = tmp_path / "exp_sol.clinic"
    archive.write_bytes(b"an older file of that name")  # replaced, not reused with its mode
    archive.chmod(0o644)

    call_command("clinic_export", SLUG, str(archive), verbosity=0)

    assert archive.stat().st_mode & 0o777 == 0o600
