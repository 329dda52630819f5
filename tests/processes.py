"""Processes a test starts (gunicorn, a Celery worker): started, awaited, and always stopped."""

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers_health(url: str) -> bool:
    """The web process at `url` answers /healthz (on every host, before tenant routing)."""
    with contextlib.suppress(requests.RequestException):  # not listening yet, or booting
        return requests.get(f"{url}/healthz", headers={"Host": "localhost"}, timeout=2).ok
    return False


@contextlib.contextmanager
def process_running(
    command: list[str],
    *,
    env: dict[str, str],
    log_path: Path,
    ready: Callable[[], bool],
    what: str,
) -> Iterator[subprocess.Popen]:
    """`command` run from the repository with `env` added, once `ready()`; stopped on the way out.

    Its output goes to `log_path`; a process that exits or is not ready within 60 s fails the
    test with that log.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not ready():
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    pytest.fail(f"{what} did not start:\n{log_path.read_text()}")
                time.sleep(0.05)
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
