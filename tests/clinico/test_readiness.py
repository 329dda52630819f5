"""/readyz tells a load balancer what is down, and nobody where it lives or who logs in there."""

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD, NAME = "probe-user", "probe-Secret-42", "probe_place"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _leaks(text: str, port: int) -> list[str]:
    return [s for s in ("127.0.0.1", str(port), USER, PASSWORD, NAME) if s in text]


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["public", "clinic"])
def test_an_unreachable_broker_is_named_without_its_address_or_login(
    host, clinic_a, settings, caplog
):
    port = _closed_port()
    settings.CELERY_BROKER_URL = f"amqp://{USER}:{PASSWORD}@127.0.0.1:{port}/{NAME}"
    hostname = settings.BASE_DOMAIN if host == "public" else f"clinic-a.{settings.BASE_DOMAIN}"

    with caplog.at_level(logging.WARNING, logger="clinico.health"):
        response = Client(HTTP_HOST=hostname).get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "broker": "down"},
    }
    assert _leaks(response.content.decode(), port) == []
    logged = caplog.text
    assert "broker is down" in logged and f"127.0.0.1:{port}" in logged
    assert PASSWORD not in logged


def test_an_unreachable_database_is_named_without_its_address_or_login():
    # A web process of its own whose DATABASE_URL points at a closed port: this one's
    # connection is the test database's.
    port = _closed_port()
    probe = (
        "import django; django.setup()\n"
        "from django.conf import settings; from django.test import Client\n"
        "response = Client(HTTP_HOST=settings.BASE_DOMAIN).get('/readyz')\n"
        "print(response.status_code, response.content.decode())\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinico.settings.test",
        "DATABASE_URL": f"postgres://{USER}:{PASSWORD}@127.0.0.1:{port}/{NAME}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }

    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip

    status, body = result.stdout.strip().split(" ", 1)
    assert (status, body) == (
        "503",
        '{"status": "unavailable", "checks": {"database": "down", "broker": "ok"}}',
    )
    assert "database is down" in result.stderr and f"127.0.0.1:{port}" in result.stderr
    assert PASSWORD not in result.stderr
