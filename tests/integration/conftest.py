"""Integration fixtures: our own RabbitMQ node and real Celery worker processes.

The node (deploy/services.sh, port CLINICO_TEST_AMQP_PORT, default 56741) belongs to this test
run, so a test may stop and restart it. Workers are `celery -A clinico worker` subprocesses on
the pytest database; tests that need them commit their data (transactional_db).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from amqp.exceptions import NotFound
from django.conf import settings
from django.db import connection
from kombu import Connection

import queueing.services.checkins as checkin_services
from clinico.celery import app as celery_app
from queueing.models import CheckIn, CheckInStatus
from tenants.routing import declared_queues
from tests.database import database_url

ROOT = Path(__file__).resolve().parents[2]
AMQP_PORT = int(os.environ.get("CLINICO_TEST_AMQP_PORT", "56741"))
RUN_DIR = ROOT / ".run" / f"test-broker-{AMQP_PORT}"
SERVICES = ROOT / "deploy" / "services.sh"
CELERY = Path(sys.executable).with_name("celery")


class Broker:
    """A RabbitMQ node of this test run that tests may stop and start."""

    url = f"amqp://guest:guest@127.0.0.1:{AMQP_PORT}//"

    def _services(self, action: str) -> None:
        env = {**os.environ, "CLINICO_AMQP_PORT": str(AMQP_PORT), "CLINICO_RUN_DIR": str(RUN_DIR)}
        env.pop("CLINICO_AMQP_VHOSTS", None)
        subprocess.run(["bash", str(SERVICES), action], env=env, check=True, capture_output=True)

    def start(self) -> None:
        self._services("start-rabbitmq")

    def stop(self) -> None:
        self._services("stop-rabbitmq")

    def connection(self) -> Connection:
        return Connection(self.url, connect_timeout=5)

    def message_count(self, queue: str) -> int:
        with self.connection() as conn:
            channel = conn.default_channel
            try:
                return channel.queue_declare(queue=queue, passive=True).message_count
            except NotFound:  # the queue does not exist (yet): nothing in it
                return 0

    def purge(self, queues: list[str]) -> None:
        with self.connection() as conn:
            for name in queues:
                channel = conn.channel()
                try:
                    channel.queue_purge(name)
                except NotFound:  # a queue that was never declared has nothing to purge
                    pass
                finally:
                    channel.close()


def publisher_use(url: str) -> None:
    """Point this process's Celery publisher (the API side) at `url`, dropping old connections."""
    celery_app.conf.broker_url = url
    celery_app.conf.broker_write_url = url
    celery_app.conf.broker_read_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture(scope="session")
def broker():
    node = Broker()
    node.start()
    publisher_use(node.url)
    yield node
    node.stop()


@pytest.fixture(autouse=True)
def _broker_backoff_reset():
    checkin_services._broker_down_until = 0.0
    yield
    checkin_services._broker_down_until = 0.0


def all_queue_names() -> list[str]:
    return [queue.name for queue in declared_queues()]


class Worker:
    """A `celery worker` subprocess (prefork, 2 processes) on the test database and broker."""

    def __init__(
        self, broker: Broker, queues: list[str], name: str, env: dict[str, str] | None = None
    ):
        self.log_path = RUN_DIR / f"worker-{name}-{os.getpid()}.log"
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "clinico.settings.test",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker.url,
            "CLINICO_SHARD_QUEUES": str(settings.CLINICO_SHARD_QUEUES),
            **(env or {}),
        }
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                str(CELERY), "-A", "clinico", "worker", "-Q", ",".join(queues),
                "--pool", "prefork", "-c", "2", "--loglevel", "INFO",
                "--without-mingle", "--without-gossip", "--without-heartbeat",
                "-n", f"test-{name}-{os.getpid()}@%h",
            ],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log_path.read_text():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(
            f"worker did not start; see {self.log_path}:\n{self.log_path.read_text()}"
        )

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a crashed machine would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def start_worker(broker, django_db_setup, django_db_blocker):
    """Start workers on every queue; all are stopped when the module ends."""
    workers: list[Worker] = []

    def start(
        name: str = "w", queues: list[str] | None = None, env: dict[str, str] | None = None
    ) -> Worker:
        worker = Worker(broker, queues or all_queue_names(), name, env)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_until_processed(clinic, *, expected: int, timeout: float = 60) -> list[CheckIn]:
    """The clinic's check-ins once none is pending (fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        with clinic:
            checkins = list(CheckIn.objects.all())
        pending = [c for c in checkins if c.status == CheckInStatus.PENDING]
        if len(checkins) >= expected and not pending:
            return checkins
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(pending)} of {len(checkins)} check-ins still pending after {timeout}s"
            )
        time.sleep(0.1)


def close_thread_connection() -> None:
    connection.close()


@pytest.fixture(scope="module")
def webhook_listener(broker, django_db_setup, django_db_blocker):
    """`manage.py webhooks_listen`: publishes a clinic's webhook task as its events commit."""
    from tests.processes import process_running

    log_path = RUN_DIR / f"webhooks-listen-{os.getpid()}.log"
    env = {
        "DJANGO_SETTINGS_MODULE": "clinico.settings.test",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker.url,
        "CLINICO_SHARD_QUEUES": str(settings.CLINICO_SHARD_QUEUES),
    }
    with process_running(
        [sys.executable, "manage.py", "webhooks_listen"],
        env=env,
        log_path=log_path,
        ready=lambda: log_path.exists() and "Listening on" in log_path.read_text(),
        what="webhook listener",
    ) as process:
        yield process


@pytest.fixture(scope="module")
def web(broker, django_db_setup):
    """A gunicorn process (2 workers × 4 threads) on the test database and broker: its URL."""
    from tests.processes import answers_health, free_port, process_running

    url = f"http://127.0.0.1:{free_port()}"
    env = {
        "DJANGO_SETTINGS_MODULE": "clinico.settings.test",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker.url,
        "CLINICO_SHARD_QUEUES": str(settings.CLINICO_SHARD_QUEUES),
    }
    command = [
        str(Path(sys.executable).with_name("gunicorn")), "clinico.wsgi:application",
        "--bind", url.removeprefix("http://"),
        "--workers", "2", "--worker-class", "gthread", "--threads", "4",
        "--log-level", "warning",
    ]  # fmt: skip
    with process_running(
        command,
        env=env,
        log_path=RUN_DIR / f"web-{os.getpid()}.log",
        ready=lambda: answers_health(url),
        what="gunicorn",
    ):
        yield url
