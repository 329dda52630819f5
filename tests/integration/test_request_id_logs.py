"""One request id, followed from the web process's log into the worker's lines for its task.

A real gunicorn (deploy/gunicorn.conf.py) behind a trusted proxy, and a real Celery worker: the
proxy's X-Request-ID comes back on the answer, is on the web log's line for the check-in, and
on the worker's lines for the check-in task that request published, beside the clinic's
schema. Every line of both logs is JSON.
"""

import json
import os
import sys
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tenants.selectors import clinic_hostname
from tests.checkin_factories import cpf_from_number, new_patient_body, staff_user
from tests.database import database_url
from tests.events.conftest import committed
from tests.integration.conftest import RUN_DIR, all_queue_names, wait_until_processed
from tests.processes import answers_health, free_port, process_running

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def json_lines(path: Path) -> list[dict]:
    """The log's JSON lines (Celery's start-up banner is text written before logging starts)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def test_a_proxys_request_id_is_on_the_web_line_and_on_the_workers_lines_for_its_task(
    broker, start_worker, clinic_a
):
    broker.purge(all_queue_names())
    worker = start_worker("request-id")
    web_url = f"http://127.0.0.1:{free_port()}"
    web_log = RUN_DIR / f"request-id-web-{os.getpid()}.log"
    env = {
        "DJANGO_SETTINGS_MODULE": "clinico.settings.test",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker.url,
        "CLINICO_SHARD_QUEUES": str(settings.CLINICO_SHARD_QUEUES),
        "CLINICO_TRUSTED_PROXIES": "127.0.0.1",  # the test plays the load balancer
        "GUNICORN_BIND": web_url.removeprefix("http://"),
        "GUNICORN_WORKERS": "1",
    }
    host = clinic_hostname(clinic=clinic_a)
    user = committed(staff_user, clinic_a, "receptionist")
    request_id = f"lb-{uuid.uuid4()}"
    with process_running(
        [str(Path(sys.executable).with_name("gunicorn")), "clinico.wsgi:application",
         "--config", "deploy/gunicorn.conf.py", "--no-control-socket"],
        env=env,
        log_path=web_log,
        ready=lambda: answers_health(web_url),
        what="gunicorn",
    ) as web:  # fmt: skip
        token = requests.post(
            f"{web_url}/api/v1/auth/token/",
            json={"email": user.email, "password": "pw"},
            headers={"Host": host},
            timeout=10,
        ).json()["access"]
        # When the proxy forwards a check-in with its request id
        answer = requests.post(
            f"{web_url}/api/v1/check-ins/",
            json=new_patient_body(cpf_from_number(616_161_616)),
            headers={"Host": host, "Authorization": f"Bearer {token}", "X-Request-ID": request_id},
            timeout=10,
        )
        assert answer.status_code == 202, answer.text[:300]
        wait_until_processed(clinic_a, expected=1)
        web.terminate()
        web.wait(timeout=30)

    # Then the answer carries it back
    assert answer.headers["X-Request-ID"] == request_id
    # the web log's line for the check-in has it
    web_lines = [line for line in json_lines(web_log) if line.get("request_id") == request_id]
    assert [(line["method"], line["path"], line["status"]) for line in web_lines] == [
        ("POST", "/api/v1/check-ins/", "202")
    ]
    assert web_lines[0]["process"] == "web"
    # and the worker's lines of the task it published have it too, in the clinic's schema
    worker_lines = [
        line for line in json_lines(worker.log_path) if line.get("request_id") == request_id
    ]
    assert worker_lines, worker.log_path.read_text()[-2000:]
    assert all(line["process"] == "worker" for line in worker_lines)
    finished = [line for line in worker_lines if "succeeded" in line["message"]]
    assert len(finished) == 1
    assert "queueing.checkin_process_task" in finished[0]["message"]
    assert finished[0]["clinic"] == clinic_a.schema_name
    assert {"time", "level", "logger", "pid"} <= finished[0].keys()
