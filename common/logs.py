"""JSON log lines an operator can search: time, level, process, request id, clinic schema.

Every line is one JSON object (python-json-logger) with the same keys in every process kind:
`time`, `level`, `logger`, `process` (web, events, worker, beat, webhooks, or the command),
`pid`, `request_id` (of the web request, or of the request that published the task),
`clinic` (the schema the line was written in; absent in the public schema) and `message`.
Lines carry what the code logged and nothing else: no CPF, name, phone, key or token is ever
passed to a logger (docs/privacy.md).
"""

import logging
import os
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from common import request_id

FIELDS = ["time", "level", "logger", "process", "pid", "request_id", "clinic", "message"]


def process_kind() -> str:
    """This process's kind as logs and metrics name it."""
    kind = os.environ.get("CLINICO_PROCESS_KIND")
    if kind:
        return kind
    argv = [os.path.basename(part) for part in sys.argv[:4]]
    for word, name in (
        ("gunicorn", "web"),
        ("uvicorn", "events"),
        ("worker", "worker"),
        ("beat", "beat"),
        ("webhooks_listen", "webhooks"),
    ):
        if word in argv:
            return name
    return argv[1] if len(argv) > 1 and argv[0] == "manage.py" else (argv[0] if argv else "")


class ContextFilter(logging.Filter):
    """Adds the process kind, the request id and the clinic's schema to every record."""

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self.kind = process_kind()

    def filter(self, record: logging.LogRecord) -> bool:
        record.process_kind = self.kind
        record.request_id = request_id.current.get()
        record.clinic = _schema_name()
        return True


def _schema_name() -> str | None:
    # Read without connecting: the attribute django-tenants keeps on this thread's connection.
    try:
        from django.db import connection

        schema = getattr(connection, "schema_name", None)
    except Exception:  # noqa: BLE001 - settings not configured yet (a process starting up)
        return None
    return schema if schema and schema != "public" else None


class JsonFormatter(_JsonFormatter):
    """One JSON object per line with FIELDS first, then the plain values the code passed as
    `extra` (numbers, text; never an object's repr)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", ["asctime", "levelname", "name", "message"])
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        kwargs.setdefault("datefmt", "%Y-%m-%dT%H:%M:%S%z")
        super().__init__(*args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["process"] = getattr(record, "process_kind", None) or process_kind()
        log_data["pid"] = record.process
        for key in ("request_id", "clinic"):
            value = log_data.pop(key, None) or getattr(record, key, None)
            if value:
                log_data[key] = value
        log_data.pop("process_kind", None)
        # Objects passed as `extra` (Django's `request`, whose repr holds the query string) are
        # left out: their text is not what the code chose to log.
        plain = (str, int, float, bool, type(None))
        for key, value in list(log_data.items()):
            if key not in FIELDS and not isinstance(value, plain):
                del log_data[key]
