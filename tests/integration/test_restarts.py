"""The stack survives its dependencies: PostgreSQL and then RabbitMQ restart under it.

The processes are the development stack's own, started by deploy/stack.sh on the test database
and this run's RabbitMQ node, each under its supervisor: web (gunicorn), events (uvicorn),
worker, beat and the webhook listener. PostgreSQL's restart is what the server does to its
clients: every backend of the test database terminated and new connections refused for 3 s.
RabbitMQ's is a real stop and start of the node.

Within 15 s of each return, a receptionist's check-in reaches its ticket, a desk's call reaches
a panel stream that was open all along, and the call's webhook reaches a local receiver through
the listener (the sweepers run hourly here, so they cannot deliver it instead), and every
process is still running (or its log says its supervisor started it again). Then a process
killed outright is started again by its supervisor, and `stack.sh stop` stops them all.
"""

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

import integrations.services as webhook_services
from integrations.models import WebhookSubscription
from integrations.schedule.models import WebhookSchedule
from integrations.services import webhook_subscription_create, webhooks_sweep_schedule_ensure
from tenants.live_figures import live_figures_catch_up_schedule_ensure
from tenants.selectors import clinic_hostname
from tenants.sweeper import checkins_sweep_schedule_ensure
from tests.checkin_factories import cpf_from_number, new_patient_body, staff_user
from tests.database import database_url
from tests.events.conftest import EventStreamClient
from tests.integration.conftest import RUN_DIR, all_queue_names
from tests.integration.test_database_outage import DatabaseGate
from tests.integrations.receiver import Receiver
from tests.processes import ROOT, free_port
from tests.queueing import factories as f

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

STACK = ROOT / "deploy" / "stack.sh"
PROCESSES = ("web", "events", "worker", "beat", "webhooks")
RECOVERY_SECONDS = 15
OUTAGE_SECONDS = 3


class Stack:
    """deploy/stack.sh's processes on the test database and broker, in a run folder of their own."""

    def __init__(self, broker):
        self.run_dir = RUN_DIR / f"stack-{os.getpid()}"
        self.web = f"http://127.0.0.1:{free_port()}"
        self.events = f"http://127.0.0.1:{free_port()}"
        self.env = {
            **os.environ,
            "CLINICO_RUN_DIR": str(self.run_dir),
            "VENV": str(Path(sys.executable).parent.parent),
            "CLINICO_WEB_PORT": self.web.rsplit(":", 1)[1],
            "CLINICO_EVENTS_PORT": self.events.rsplit(":", 1)[1],
            "CLINICO_WEB_WORKERS": "2",
            "CLINICO_WORKER_CONCURRENCY": "2",
            "DJANGO_SETTINGS_MODULE": "clinico.settings.test",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker.url,
            "CLINICO_SHARD_QUEUES": str(settings.CLINICO_SHARD_QUEUES),
            "CLINICO_EVENTS_HEARTBEAT_SECONDS": "1",
            # The panel's stream re-reads its key rarely: it stays open through the outages, so
            # what reaches it after them came through the events process's reconnected LISTEN.
            "CLINICO_EVENTS_RECHECK_SECONDS": "600",
        }

    def _script(self, action: str) -> None:
        subprocess.run(
            ["bash", str(STACK), action], env=self.env, check=True, capture_output=True, timeout=120
        )

    def log(self, name: str) -> str:
        path = self.run_dir / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def pid(self, name: str, kind: str = "child") -> int | None:
        path = self.run_dir / (f"{name}.child.pid" if kind == "child" else f"{name}.pid")
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(path.read_text())
        return None

    @contextlib.contextmanager
    def running(self) -> Iterator["Stack"]:
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        try:
            self._script("start")
            _wait(
                lambda: (
                    " ready." in self.log("worker")
                    and "Listening on" in self.log("webhooks")
                    and "beat: Starting" in self.log("beat")
                ),
                timeout=60,
                what="worker, listener and beat ready",
                show=self.logs,
            )
            yield self
        finally:
            self._script("stop")

    def logs(self) -> str:
        return "\n".join(f"--- {name}.log ---\n{self.log(name)[-3000:]}" for name in PROCESSES)


def _wait(condition, *, timeout: float, what: str, show=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(requests.RequestException):
            result = condition()
            if result:
                return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.1f} s: {what}\n{show()}")
        time.sleep(0.1)


def _token(web: str, clinic, user) -> str:
    answer = requests.post(
        f"{web}/api/v1/auth/token/",
        json={"email": user.email, "password": "pw"},
        headers={"Host": clinic_hostname(clinic=clinic)},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text[:300]
    return answer.json()["access"]


def _sweepers_hourly() -> None:
    """The platform sweepers exist and run hourly, last run now: none fires during the test."""
    hourly, _ = IntervalSchedule.objects.get_or_create(every=3600, period=IntervalSchedule.SECONDS)
    sweepers = [
        webhooks_sweep_schedule_ensure(),
        checkins_sweep_schedule_ensure(),
        live_figures_catch_up_schedule_ensure(),
    ]
    PeriodicTask.objects.filter(pk__in=[task.pk for task in sweepers]).update(
        interval=hourly, last_run_at=timezone.now()
    )


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def webhooks_clean(clinic_a):
    webhook_services._broker_down_until = 0.0
    with clinic_a:
        WebhookSubscription.objects.all().delete()
    WebhookSchedule.objects.all().delete()
    yield
    with clinic_a:
        WebhookSubscription.objects.all().delete()
    WebhookSchedule.objects.all().delete()


def test_every_process_carries_on_after_postgresql_and_then_rabbitmq_restart(
    broker, clinic_a, receiver, webhooks_clean
):
    broker.purge(all_queue_names())
    _sweepers_hourly()
    receptionist = staff_user(clinic_a, "receptionist")
    clinician = staff_user(clinic_a, "clinician")
    with clinic_a:
        webhook_subscription_create(url=receiver.url, kinds=["ticket.called"])
        # One desk per round, there before the panel's stream opens (a panel shows its desks).
        desks = {
            moment: f.desk(f"Guichê {moment}", f.reception())
            for moment in ("before", "after PostgreSQL", "after RabbitMQ")
        }
    host = clinic_hostname(clinic=clinic_a)
    gate = DatabaseGate()
    stack = Stack(broker)
    timeline: list[str] = []

    def report() -> str:
        return "timeline: " + "; ".join(timeline) + "\n" + stack.logs()

    numbers = iter(range(7000, 7100))

    with stack.running():
        started_pids = {name: stack.pid(name) for name in PROCESSES}
        reception = {
            "Host": host,
            "Authorization": f"Bearer {_token(stack.web, clinic_a, receptionist)}",
        }
        desk_staff = {
            "Host": host,
            "Authorization": f"Bearer {_token(stack.web, clinic_a, clinician)}",
        }
        panel = EventStreamClient(
            f"{stack.events}/events/panel/",
            headers={"Host": host, "X-Panel-Key": clinic_a.panel_key},
        )
        assert panel.status_code == 200
        assert panel.next_of("stream.open") is not None

        def everything_works(moment: str, since: float) -> None:
            """A check-in to its ticket, a call to the open panel stream and to the webhook."""
            deadline = since + RECOVERY_SECONDS
            left = lambda: max(deadline - time.monotonic(), 0.1)  # noqa: E731
            key = str(uuid.uuid4())
            body = new_patient_body(cpf_from_number(next(numbers)))

            def accepted():
                answer = requests.post(
                    f"{stack.web}/api/v1/check-ins/",
                    json=body,
                    headers={**reception, "Idempotency-Key": key},
                    timeout=5,
                )
                return answer.json() if answer.status_code in (200, 202) else None

            checkin = _wait(accepted, timeout=left(), what=f"{moment}: check-in accepted")

            def ticketed():
                path = urlsplit(checkin["status_url"]).path  # on the clinic's host name
                answer = requests.get(f"{stack.web}{path}", headers=reception, timeout=5)
                data = answer.json() if answer.ok else {}
                return data.get("ticket") if data.get("status") == "queued" else None

            ticket = _wait(ticketed, timeout=left(), what=f"{moment}: ticket", show=report)
            timeline.append(f"{moment}: ticket {time.monotonic() - since:.1f} s")
            desk = desks[moment]

            def called():
                answer = requests.post(
                    f"{stack.web}/api/v1/desks/{desk.pk}/call-next/", headers=desk_staff, timeout=5
                )
                return answer.json()["ticket"] if answer.ok else None

            call = _wait(called, timeout=left(), what=f"{moment}: call")
            assert call["id"] == ticket["id"]
            shown = panel.next_of("ticket.called", timeout=left())
            assert shown is not None, f"{moment}: the panel's stream ended\n{report()}"
            assert shown[1]["data"]["display_code"] == ticket["display_code"], moment
            timeline.append(f"{moment}: panel {time.monotonic() - since:.1f} s")

            def delivered():
                return any(
                    p["type"] == "ticket.called" and p["data"]["ticket_id"] == ticket["id"]
                    for p in receiver.payloads()
                )

            _wait(delivered, timeout=left(), what=f"{moment}: webhook", show=report)
            timeline.append(f"{moment}: webhook {time.monotonic() - since:.1f} s")
            for name in PROCESSES:
                supervisor = stack.pid(name, "supervisor")
                assert supervisor is not None and _alive(supervisor), (name, stack.logs())
                child = stack.pid(name)
                assert child is not None and _alive(child), (name, moment, stack.logs())
                if child != started_pids[name]:
                    assert f"restarted {name} (exit code" in stack.log(name), (name, moment)

        everything_works("before", time.monotonic())

        with gate.closed():
            time.sleep(OUTAGE_SECONDS)
        everything_works("after PostgreSQL", time.monotonic())

        broker.stop()
        time.sleep(OUTAGE_SECONDS)
        broker.start()
        everything_works("after RabbitMQ", time.monotonic())
        panel.close()
        restarted = [name for name in PROCESSES if stack.pid(name) != started_pids[name]]

        # And what nothing else catches: a process killed outright is started again.
        listener = stack.pid("webhooks")
        os.kill(listener, 9)
        _wait(
            lambda: (
                stack.pid("webhooks") not in (None, listener)
                and "Listening on" in stack.log("webhooks").rsplit("restarted webhooks", 1)[-1]
            ),
            timeout=20,
            what="the killed listener started again",
            show=report,
        )
        assert "restarted webhooks (exit code 137)" in stack.log("webhooks")
        last_pids = {name: (stack.pid(name, "supervisor"), stack.pid(name)) for name in PROCESSES}
    gate.close()

    print("\n".join(timeline), f"\nrestarted by their supervisor: {restarted or 'none'}")
    # The processes reconnect by themselves; the supervisor is for what nothing else catches.
    assert restarted == [], stack.logs()
    assert "InterfaceError" not in stack.log("events")
    for name in PROCESSES:  # `stack.sh stop` stopped every supervisor and its process
        assert stack.pid(name, "supervisor") is None and stack.pid(name) is None
        assert not any(_alive(pid) for pid in last_pids[name] if pid is not None), name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
