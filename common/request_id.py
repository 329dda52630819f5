"""The request id: one per request, in every log line it causes and in the tasks it publishes.

A request gets a new id unless a trusted proxy (`CLINICO_TRUSTED_PROXIES`, common/net.py) sent
one in `X-Request-ID`; a client elsewhere cannot choose the id its requests are logged under.
Every answer carries it back in `X-Request-ID`. The Celery tasks the request publishes carry it
in a message header, and their log lines show it (clinico/celery.py).
"""

import contextvars
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from common.net import peer_is_trusted_proxy

HEADER = "X-Request-ID"
TASK_HEADER = "clinico_request_id"
# What proxies send (a UUID, a hex or base64-ish token); anything else is replaced, so a log
# line never carries what a client typed.
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:+/=-]{8,128}$")

current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "clinico_request_id", default=None
)


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_id_of(request: Any) -> str:
    """The id a trusted proxy gave `request`, else a new one."""
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    if given and _ACCEPTED.match(given) and peer_is_trusted_proxy(request):
        return given
    return request_id_new()


@contextmanager
def request_id_bound(request_id: str | None) -> Iterator[None]:
    """`request_id` is the current one inside the block (None: none)."""
    token = current.set(request_id)
    try:
        yield
    finally:
        current.reset(token)


class RequestIdMiddleware:
    """Outermost: the id is bound for the whole request and returned on every answer."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        request.request_id = request_id_of(request)
        with request_id_bound(request.request_id):
            response = self.get_response(request)
        response[HEADER] = request.request_id
        return response
