"""Liveness and readiness probes, answered on every host before tenant routing."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from kombu import Connection


def healthz(request) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the reason is reported
        return f"{type(exc).__name__}: {exc}".strip()[:200]
    return None


def _broker_ok() -> str | None:
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the reason is reported
        return f"{type(exc).__name__}: {exc}".strip()[:200]
    return None


def readyz(request) -> JsonResponse:
    """PostgreSQL and RabbitMQ both answer; 503 names whichever does not."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    down = {name: reason for name, reason in checks.items() if reason}
    body = {
        "status": "ok" if not down else "unavailable",
        "checks": {name: ("down: " + down[name]) if name in down else "ok" for name in checks},
    }
    return JsonResponse(body, status=503 if down else 200)
