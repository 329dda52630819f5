"""Behind PgBouncer in transaction mode, no clinic ever reads or writes another clinic's data.

A real PgBouncer (Debian's `pgbouncer`, pool_mode = transaction, 3 server connections) stands in
front of the test database. Two gunicorn web processes and two Celery worker nodes on one broker
reach the database only through it, as production does with DATABASE_POOLER=transaction, and
keep their client connections open (CONN_MAX_AGE). Many clinics' check-ins and queue reads run
at once, so consecutive transactions of one client connection land on server connections that
other clinics' transactions used just before. Every answer must show only its own clinic's
service and patients, and every ticket must be written in its own clinic's schema.
"""

import os
import random
import shutil
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest
import requests
from django.conf import settings
from django.db import connection

from accounts.tokens import clinic_token_issue
from patients.models import Patient
from queueing.models import CheckIn, Service, Ticket
from tenants.models import Chain
from tenants.selectors import clinic_hostname
from tenants.services import chain_create, clinic_provision
from tests.checkin_factories import cpf_from_number, staff_user
from tests.integration.conftest import RUN_DIR, all_queue_names, wait_until_processed
from tests.processes import answers_health, free_port, process_running

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
GUNICORN = Path(sys.executable).with_name("gunicorn")
CLINICS = 8
POOL_SIZE = 3
CHECKINS_PER_ROUND = 4  # per clinic, in each of two rounds
READS_PER_ROUND = 6  # per clinic and endpoint, in each round


def _pgbouncer_answers(port: int) -> bool:
    db = settings.DATABASES["default"]
    try:
        with (
            psycopg2.connect(
                host="127.0.0.1", port=port, user=db["USER"], dbname=db["NAME"], connect_timeout=2
            ) as probe,
            probe.cursor() as cursor,
        ):
            cursor.execute("SELECT 1")
            return True
    except psycopg2.OperationalError:  # not listening yet
        return False


@pytest.fixture(scope="module")
def pgbouncer(django_db_setup):
    """PgBouncer in transaction mode before the test database: its port."""
    if not Path(PGBOUNCER).exists():
        pytest.fail("pgbouncer is not installed: `bash deploy/services.sh start` installs it.")
    db = settings.DATABASES["default"]
    port = free_port()
    # Readable by the `postgres` user, whom PgBouncer becomes when started as root.
    folder = Path(tempfile.mkdtemp(prefix="clinico-pgbouncer-"))
    folder.chmod(0o755)
    users = folder / "users.txt"
    users.write_text(f'"{db["USER"]}" "{db.get("PASSWORD") or ""}"\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        f"""[databases]
* = host={db["HOST"]} port={db["PORT"]}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {users}
admin_users = {db["USER"]}
pool_mode = transaction
default_pool_size = {POOL_SIZE}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 200
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
"""
    )
    as_postgres = ["-u", "postgres"] if os.geteuid() == 0 else []
    try:
        with process_running(
            [PGBOUNCER, *as_postgres, str(ini)],
            env={},
            log_path=RUN_DIR / f"pgbouncer-{os.getpid()}.log",
            ready=lambda: _pgbouncer_answers(port),
            what="pgbouncer",
        ):
            yield port
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _pooled_env(pgbouncer: int, broker) -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {
        "DJANGO_SETTINGS_MODULE": "clinico.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{pgbouncer}/{db['NAME']}",
        "DATABASE_POOLER": "transaction",
        "CELERY_BROKER_URL": broker.url,
        "CLINICO_SHARD_QUEUES": str(settings.CLINICO_SHARD_QUEUES),
    }


@pytest.fixture(scope="module")
def pooled_webs(pgbouncer, broker):
    """Two gunicorn processes (1 worker × 4 threads each) reaching the database via PgBouncer."""
    urls = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    env = _pooled_env(pgbouncer, broker)
    with (
        process_running(
            _gunicorn(urls[0]),
            env=env,
            log_path=RUN_DIR / f"web-pooled-1-{os.getpid()}.log",
            ready=lambda: answers_health(urls[0]),
            what="gunicorn 1",
        ),
        process_running(
            _gunicorn(urls[1]),
            env=env,
            log_path=RUN_DIR / f"web-pooled-2-{os.getpid()}.log",
            ready=lambda: answers_health(urls[1]),
            what="gunicorn 2",
        ),
    ):
        yield urls


def _gunicorn(url: str) -> list[str]:
    return [
        str(GUNICORN), "clinico.wsgi:application", "--bind", url.removeprefix("http://"),
        "--workers", "1", "--worker-class", "gthread", "--threads", "4",
        "--log-level", "warning",
    ]  # fmt: skip


@pytest.fixture
def pool_clinics():
    """CLINICS clinics, each with a service and a receptionist's token named after it."""
    chain = Chain.objects.filter(slug="rede_pool").first() or chain_create(
        name="Rede Pool", slug="rede_pool"
    )
    clinics = []
    for n in range(CLINICS):
        slug = f"pool_{n}"
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{slug}" CASCADE')
        clinic = clinic_provision(
            chain=chain, name=f"Clínica Pool {n}", slug=slug, timezone="America/Sao_Paulo"
        )
        with clinic:
            Service.objects.filter(is_default=True).update(name=f"Atendimento {slug}")
        token = clinic_token_issue(
            user=staff_user(clinic, "receptionist"), clinic=clinic, role="receptionist"
        )
        clinics.append((clinic, str(token.access_token)))
    yield clinics
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        for clinic, _ in clinics:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{clinic.schema_name}" CASCADE')
        cursor.execute(
            "DELETE FROM public.queueing_checkin_pending WHERE schema_name LIKE 'pool\\_%%'"
        )


@pytest.fixture(autouse=True)
def empty_queues(broker):
    broker.purge(all_queue_names())


def _foreign(slug: str, answer: dict, path: str) -> list[str]:
    """What in a clinic's answer belongs to another clinic (service or patient names)."""
    if path == "/api/v1/services/":
        names = [service["name"] for service in answer]
    else:
        names = [queue["service"]["name"] for queue in answer["services"]] + [
            ticket["patient"]["display_name"]
            for queue in answer["services"]
            for ticket in queue["tickets"]
        ]
    return [name for name in names if not name.endswith(f" {slug}")]


def _round(webs, clinics, first_number: int) -> tuple[list[str], list[int]]:
    """Check-ins and reads of every clinic at once, shuffled: (foreign data seen, statuses)."""
    jobs = []
    for index, (clinic, token) in enumerate(clinics):
        for k in range(CHECKINS_PER_ROUND):
            jobs.append(("post", clinic, token, first_number + index * 100 + k))
        for _ in range(READS_PER_ROUND):
            jobs.append(("/api/v1/queue/", clinic, token, 0))
            jobs.append(("/api/v1/services/", clinic, token, 0))
    random.Random(first_number).shuffle(jobs)

    def run(numbered_job):
        number, (what, clinic, token, cpf_number) = numbered_job
        web = webs[number % 2]
        slug = clinic.schema_name
        headers = {"Host": clinic_hostname(clinic=clinic), "Authorization": f"Bearer {token}"}
        if what == "post":
            body = {
                "cpf": cpf_from_number(cpf_number),
                "patient": {"full_name": f"Paciente {slug}", "birth_date": "1990-03-14"},
            }
            headers["Idempotency-Key"] = str(uuid.uuid4())
            response = requests.post(
                f"{web}/api/v1/check-ins/", json=body, headers=headers, timeout=60
            )
            return [], response.status_code
        response = requests.get(f"{web}{what}", headers=headers, timeout=60)
        if response.status_code != 200:
            return [], response.status_code
        return _foreign(slug, response.json(), what), 200

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(run, enumerate(jobs)))
    foreign = [name for seen, _ in results for name in seen]
    return foreign, [status for _, status in results]


def _pool_figures(pgbouncer: int) -> tuple[int, int]:
    """(client connections, server connections) PgBouncer holds for the test database."""
    db = settings.DATABASES["default"]
    admin = psycopg2.connect(host="127.0.0.1", port=pgbouncer, user=db["USER"], dbname="pgbouncer")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SHOW CLIENTS")
            columns = [c[0] for c in cursor.description]
            clients = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            cursor.execute("SHOW SERVERS")
            columns = [c[0] for c in cursor.description]
            servers = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        admin.close()
    return (
        sum(1 for c in clients if c["database"] == db["NAME"]),
        sum(1 for s in servers if s["database"] == db["NAME"]),
    )


def test_many_clinics_through_a_transaction_pooler_never_see_each_others_data(
    pgbouncer, pooled_webs, start_worker, broker, pool_clinics
):
    env = _pooled_env(pgbouncer, broker)
    start_worker("pooled-1", env=env)
    start_worker("pooled-2", env=env)

    foreign, statuses = _round(pooled_webs, pool_clinics, first_number=1_000)
    for clinic, _ in pool_clinics:
        wait_until_processed(clinic, expected=CHECKINS_PER_ROUND, timeout=120)
    # Now every queue holds tickets: reads show patients while the second round writes more.
    more_foreign, more_statuses = _round(pooled_webs, pool_clinics, first_number=5_000)
    for clinic, _ in pool_clinics:
        wait_until_processed(clinic, expected=2 * CHECKINS_PER_ROUND, timeout=120)
    clients, servers = _pool_figures(pgbouncer)

    assert set(statuses + more_statuses) == {200, 202}, sorted(set(statuses + more_statuses))
    assert foreign + more_foreign == []
    for clinic, _ in pool_clinics:
        slug = clinic.schema_name
        with clinic:
            numbers = sorted(Ticket.objects.values_list("number", flat=True))
            names = set(Patient.objects.values_list("full_name", flat=True))
            statuses_here = set(CheckIn.objects.values_list("status", flat=True))
        assert numbers == list(range(1, 2 * CHECKINS_PER_ROUND + 1)), slug
        assert names == {f"Paciente {slug}"}, slug
        assert statuses_here == {"queued"}, slug
    # The pooler did share: more client connections (web threads, worker processes, this test's
    # probes) than the server connections they took turns on.
    assert servers <= POOL_SIZE < clients, (clients, servers)
