"""Liveness and readiness probes, answered on every host before tenant routing.

Anyone who can reach a host can call them, so a failing check names only what is down; where it
was looked for and the error (host, port, user) go to the log, with passwords masked.
"""

import logging
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from kombu import Connection
from kombu.utils.url import maybe_sanitize_url

logger = logging.getLogger(__name__)


def healthz(request) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _masked(text: str, password: str | None) -> str:
    """`text` without `password`, in case a driver quotes its connection string in an error."""
    for form in {password, unquote(password)} if password else ():
        text = text.replace(form, "********")
    return text


def _database_down() -> str | None:
    """Why PostgreSQL does not answer (for the log), or None when it does."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the reason is logged
        db = connection.settings_dict
        where = f"{db.get('USER')}@{db.get('HOST')}:{db.get('PORT')}/{db.get('NAME')}"
        return _masked(f"{where}: {type(exc).__name__}: {exc}", db.get("PASSWORD"))
    return None


def _broker_down() -> str | None:
    """Why RabbitMQ does not answer (for the log), or None when it does."""
    url = settings.CELERY_BROKER_URL
    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the reason is logged
        return _masked(
            f"{maybe_sanitize_url(url)}: {type(exc).__name__}: {exc}", urlsplit(url).password
        )
    return None


def readyz(request) -> JsonResponse:
    """PostgreSQL and RabbitMQ both answer; 503 names whichever does not."""
    checks = {"database": _database_down(), "broker": _broker_down()}
    for name, reason in checks.items():
        if reason:
            logger.warning("Not ready: the %s is down (%s)", name, reason[:500])
    down = any(checks.values())
    body = {
        "status": "unavailable" if down else "ok",
        "checks": {name: "down" if reason else "ok" for name, reason in checks.items()},
    }
    return JsonResponse(body, status=503 if down else 200)
