"""Every process kind's metrics, scraped from the real processes after a day's first minutes.

The stack runs as deploy/stack.sh starts it (gunicorn with deploy/gunicorn.conf.py, the events
process, a Celery worker, beat, the webhook listener), each with its metrics port. A
receptionist checks a patient in through the web process, the TV's panel stream is open on the
events process, a partner has a webhook subscription, and a desk calls the ticket. Then each
endpoint is scraped as Prometheus would, and each metric docs/operations.md lists is there with
a value that fits what happened, and no series names a clinic.
"""

import os
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.services import webhook_subscription_create
from queueing.models import Desk, Service
from queueing.services.setup import desk_create
from tenants.models import Clinic
from tenants.selectors import clinic_hostname
from tenants.sweeper import checkins_sweep_schedule_ensure
from tests.checkin_factories import cpf_from_number, new_patient_body, staff_user
from tests.database import database_url
from tests.events.conftest import EventStreamClient, committed, events_env, uvicorn_command
from tests.integration.conftest import RUN_DIR, all_queue_names, wait_until_processed
from tests.integrations.receiver import Receiver
from tests.processes import answers_health, free_port, process_running

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BIN = Path(sys.executable).parent
KINDS = ("web", "events", "worker", "beat", "webhooks")


def scrape(port: int) -> dict[str, list[tuple[dict, float]]]:
    """{sample name: [(labels, value)]} of the endpoint on `port`."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    samples: dict[str, list[tuple[dict, float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples, name: str, **labels) -> float:
    """The sum of `name`'s samples whose labels include `labels` (fails when there is none)."""
    found = [v for have, v in samples.get(name, []) if labels.items() <= have.items()]
    assert found, f"{name}{labels} not in {sorted(samples)}"
    return sum(found)


def serves_metrics(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).ok
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def stack(broker, start_worker, django_db_setup, django_db_blocker, tmp_path_factory):
    """The five process kinds on the test database and broker, each with its metrics port."""
    broker.purge(all_queue_names())
    with django_db_blocker.unblock():
        committed(checkins_sweep_schedule_ensure)  # a platform task for beat to send
    ports = {kind: free_port() for kind in KINDS}
    common = {
        "DJANGO_SETTINGS_MODULE": "clinico.settings.test",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker.url,
        "CLINICO_SHARD_QUEUES": str(settings.CLINICO_SHARD_QUEUES),
        "CLINICO_METRICS_DIR": str(tmp_path_factory.mktemp("metrics")),
        **{f"CLINICO_METRICS_PORT_{kind.upper()}": str(port) for kind, port in ports.items()},
    }
    start_worker("metrics", env=common)
    web_url = f"http://127.0.0.1:{free_port()}"
    pid = os.getpid()
    with (
        process_running(
            [
                str(BIN / "gunicorn"),
                "clinico.wsgi:application",
                "--config",
                "deploy/gunicorn.conf.py",
                "--no-control-socket",
            ],
            env={
                **common,
                "GUNICORN_BIND": web_url.removeprefix("http://"),
                "GUNICORN_WORKERS": "2",
                "GUNICORN_THREADS": "2",
            },
            log_path=RUN_DIR / f"metrics-web-{pid}.log",
            ready=lambda: answers_health(web_url) and serves_metrics(ports["web"]),
            what="gunicorn",
        ),  # fmt: skip
        process_running(
            uvicorn_command(events_port := free_port()),
            env={**events_env(), **common},
            log_path=RUN_DIR / f"metrics-events-{pid}.log",
            ready=lambda: (
                answers_health(f"http://127.0.0.1:{events_port}")
                and serves_metrics(ports["events"])
            ),
            what="the events process",
        ),
        process_running(
            [
                str(BIN / "celery"),
                "-A",
                "clinico",
                "beat",
                "--loglevel",
                "INFO",
                "--scheduler",
                "tenants.beat:ClinicDatabaseScheduler",
                "--pidfile",
                str(RUN_DIR / f"metrics-beat-{pid}.pid"),
            ],
            env=common,
            log_path=RUN_DIR / f"metrics-beat-{pid}.log",
            ready=lambda: serves_metrics(ports["beat"]),
            what="beat",
        ),  # fmt: skip
        process_running(
            [sys.executable, "manage.py", "webhooks_listen"],
            env=common,
            log_path=(listener_log := RUN_DIR / f"metrics-webhooks-{pid}.log"),
            ready=lambda: (
                "Listening on" in listener_log.read_text() and serves_metrics(ports["webhooks"])
            ),
            what="the webhook listener",
        ),
    ):
        yield {"web": web_url, "events": f"http://127.0.0.1:{events_port}", "ports": ports}


def _wait(condition, *, timeout: float = 60, what: str = ""):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.2)
    return result


def test_each_process_kind_serves_its_metrics_after_a_check_in_a_call_a_webhook_and_a_stream(
    stack, clinic_a
):
    host = clinic_hostname(clinic=clinic_a)
    receiver = Receiver().start()

    def setup():
        with clinic_a:
            webhook_subscription_create(url=receiver.url, kinds=["ticket.called"])
            reception = Service.objects.order_by("pk").first()
            return desk_create(name=f"Guichê {uuid.uuid4().hex[:6]}", service_ids=[reception.pk])

    desk: Desk = committed(setup)
    receptionist = committed(staff_user, clinic_a, "receptionist")
    clinician = committed(staff_user, clinic_a, "clinician")

    def token(user) -> str:
        answer = requests.post(
            f"{stack['web']}/api/v1/auth/token/",
            json={"email": user.email, "password": "pw"},
            headers={"Host": host},
            timeout=10,
        )
        return answer.json()["access"]

    # Given the waiting room's TV with its panel stream open
    panel = EventStreamClient(
        f"{stack['events']}/events/panel/",
        headers={"Host": host, "X-Panel-Key": Clinic.objects.get(pk=clinic_a.pk).panel_key},
    )
    assert panel.status_code == 200
    # When a receptionist checks a patient in through the web process
    checked_in = requests.post(
        f"{stack['web']}/api/v1/check-ins/",
        json=new_patient_body(cpf_from_number(515_151_515)),
        headers={"Host": host, "Authorization": f"Bearer {token(receptionist)}"},
        timeout=10,
    )
    assert checked_in.status_code == 202, checked_in.text[:300]
    wait_until_processed(clinic_a, expected=1)
    # And a desk calls the ticket
    called = requests.post(
        f"{stack['web']}/api/v1/desks/{desk.pk}/call-next/",
        headers={"Host": host, "Authorization": f"Bearer {token(clinician)}"},
        timeout=10,
    )
    assert called.status_code == 200, called.text[:300]
    assert panel.next_of("ticket.called", timeout=15) is not None

    def delivered():
        with clinic_a:
            return WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).exists()

    _wait(delivered, what="the webhook delivered")
    assert receiver.received
    receiver.stop()
    ports = stack["ports"]

    # Then the web process counts and times each answer by route template
    web = scrape(ports["web"])
    assert value(web, "clinico_http_requests_total", route="/api/v1/check-ins/", status="202") == 1
    call_route = "/api/v1/desks/<int:desk_id>/call-next/"
    assert value(web, "clinico_http_requests_total", route=call_route, status="200") == 1
    assert value(web, "clinico_http_request_duration_seconds_count", route=call_route) == 1
    assert 0 < value(web, "clinico_http_request_duration_seconds_sum", route=call_route) < 10
    assert value(web, "clinico_unavailable_answers_total", cause="database_unavailable") == 0
    assert value(web, "clinico_unavailable_answers_total", cause="broker_unavailable") == 0
    assert value(web, "clinico_celery_tasks_published_total") >= 1
    # the worker, how long the check-in waited for its ticket and which tasks ran
    worker = _wait(
        lambda: (
            (w := scrape(ports["worker"])).get("clinico_checkin_queued_lag_seconds_count") and w
        ),
        what="the worker's check-in lag",
    )
    assert value(worker, "clinico_checkin_queued_lag_seconds_count") == 1
    assert 0 <= value(worker, "clinico_checkin_queued_lag_seconds_sum") < 30
    assert value(worker, "clinico_celery_tasks_total", outcome="success") >= 2
    assert value(worker, "clinico_celery_task_last_success_timestamp_seconds") > time.time() - 300
    # the events process, its open streams by kind and how fast the call reached them
    events = scrape(ports["events"])
    assert value(events, "clinico_event_streams_open", kind="panel") == 1
    assert value(events, "clinico_event_stream_lag_seconds_count") >= 1
    assert 0 <= value(events, "clinico_event_stream_lag_seconds_sum") < 10
    # the listener, the webhook task it published as the call committed
    webhooks = scrape(ports["webhooks"])
    assert value(webhooks, "clinico_celery_tasks_published_total") >= 1
    # beat, the platform's backlog and health
    beat = _wait(
        lambda: (b := scrape(ports["beat"])).get("clinico_beat_task_last_run_age_seconds") and b,
        what="beat sending its platform tasks",
    )
    assert value(beat, "clinico_database_up") == 1
    assert value(beat, "clinico_broker_up") == 1
    assert value(beat, "clinico_checkins_pending") == 0
    assert value(beat, "clinico_checkins_pending_oldest_age_seconds") == 0
    assert value(beat, "clinico_webhooks_backlog_clinics") >= 0
    assert value(beat, "clinico_webhooks_oldest_due_age_seconds") >= 0
    for queue in all_queue_names():
        assert value(beat, "clinico_celery_queue_messages", queue=queue) >= 0
        assert value(beat, "clinico_celery_queue_oldest_message_age_seconds", queue=queue) >= 0
    assert (
        value(beat, "clinico_beat_task_last_run_age_seconds", task="sweep-pending-check-ins") < 120
    )
    assert value(beat, "clinico_beat_task_lag_seconds", task="sweep-pending-check-ins") < 60
    assert value(beat, "clinico_clinic_resets_late") >= 0
    assert value(beat, "clinico_clinic_reset_late_seconds") >= 0
    # and no series of any endpoint names a clinic
    for samples in (web, worker, events, webhooks, beat):
        for name, series in samples.items():
            for labels, _value in series:
                assert clinic_a.schema_name not in str(labels), (name, labels)
    panel.close()
