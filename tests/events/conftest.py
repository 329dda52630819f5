"""A real events process (uvicorn on the test database) and a small server-sent events client."""

import json
import os
import queue
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connections
from django.test import Client

from tests.database import database_url
from tests.processes import ROOT, answers_health, free_port, process_running
from tests.queueing import factories as f


def uvicorn_command(port: int) -> list[str]:
    return [
        str(Path(sys.executable).with_name("uvicorn")),
        "clinico.asgi:application",
        "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--timeout-graceful-shutdown", "2",
        "--limit-concurrency", "10500", "--backlog", "4096", "--no-proxy-headers",
    ]  # fmt: skip


def events_env() -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "clinico.settings.test",
        "DATABASE_URL": database_url(),
        "CLINICO_EVENTS_HEARTBEAT_SECONDS": "1",
        "CLINICO_EVENTS_RECHECK_SECONDS": "2",
    }


@pytest.fixture(scope="module")
def events_server(django_db_setup):
    """The ASGI events process, as deploy/stack.sh starts it; its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = ROOT / ".run" / f"events-test-{os.getpid()}-{port}.log"
    with process_running(
        uvicorn_command(port),
        env=events_env(),
        log_path=log_path,
        ready=lambda: answers_health(url),
        what="the events process (uvicorn)",
    ) as process:
        process.url = url
        process.log_path = log_path
        yield process


class EventStreamClient:
    """Reads a server-sent events answer in a thread; `next()` gives each message's data."""

    def __init__(self, url: str, *, headers: dict[str, str], cookies: dict | None = None):
        self.response = requests.get(
            url, headers=headers, cookies=cookies or {}, stream=True, timeout=(5, 30)
        )
        self.status_code = self.response.status_code
        self.headers = self.response.headers
        self.messages: queue.Queue = queue.Queue()
        self.comments = 0
        self.kinds_seen: list[str] = []
        if self.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        event: dict = {}
        try:
            for raw in self.response.iter_lines(decode_unicode=True):
                if raw == "":
                    if "data" in event:
                        data = json.loads(event["data"])
                        self.kinds_seen.append(data.get("kind"))
                        self.messages.put((event.get("id"), data, time.monotonic()))
                    event = {}
                elif raw.startswith(":"):
                    self.comments += 1
                else:
                    name, _, value = raw.partition(":")
                    event[name] = value.lstrip(" ")
        except (requests.RequestException, ValueError, AttributeError):
            pass
        self.messages.put(None)

    def next(self, timeout: float = 5.0):
        """(id, data, received at) of the next message; None once the stream has ended."""
        return self.messages.get(timeout=timeout)

    def next_of(self, kind: str, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while True:
            message = self.next(max(deadline - time.monotonic(), 0.01))
            if message is None or message[1].get("kind") == kind:
                return message

    def close(self) -> None:
        self.response.close()


def committed(fn, *args, **kwargs):
    """`fn(...)` on a connection of its own (a thread), committed as it goes: what the events
    process and its notifications see. The test's own connection stays in its transaction, so
    the public tables are not flushed after the test (a flush re-provisions the clinics, which
    the events process's host cache would still know by their old rows)."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = error
        finally:
            connections.close_all()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _in(clinic, fn, *args, **kwargs):
    """`fn` committed in the clinic's schema."""

    def run():
        with clinic:
            return fn(*args, **kwargs)

    return committed(run)


@pytest.fixture
def staff(clinic_a):
    """Staff users committed for the events process to see; deleted after the test."""
    from accounts.models import User

    made = []

    def make(clinic, role):
        user = committed(f.staff, clinic, role)
        made.append(user.pk)
        return user

    yield make
    # In a clinic's schema: the delete sets null the clinic tables' references to them.
    _in(clinic_a, lambda: User.objects.filter(pk__in=made).delete())


def session_cookie(user, host: str) -> dict[str, str]:
    browser = Client(HTTP_HOST=host)
    committed(browser.force_login, user)
    return {settings.SESSION_COOKIE_NAME: browser.cookies[settings.SESSION_COOKIE_NAME].value}
