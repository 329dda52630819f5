"""A lean keep-alive HTTP client for the benchmarks' load threads.

The benchmarks run their load on the same two cores as the server they measure, so the client's
own CPU time is taken from the server. `requests` spends about three times what the standard
library's http.client does per request; both the floor and the measured calls use this client,
so the comparison stays like for like.

One HTTP/1.1 connection per thread, reopened before a request when it has been idle for longer
than the server's keep-alive (gunicorn closes idle connections after 2 s), so a request is never
sent on a connection the server is closing and nothing needs to be retried.
"""

import http.client
import json
import os
import threading
import time
from urllib.parse import urlsplit

IDLE_REOPEN_SECONDS = 1.0


def default_base_url() -> str:
    """The `make run` server: 127.0.0.1 on CLINICO_WEB_PORT (deploy/stack.sh's port, 8000 unset)."""
    return f"http://127.0.0.1:{os.environ.get('CLINICO_WEB_PORT', '8000')}"


class Response:
    __slots__ = ("status_code", "content")

    def __init__(self, status_code: int, content: bytes):
        self.status_code = status_code
        self.content = content

    def json(self):
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


class KeepAliveClient:
    def __init__(self, base_url: str, timeout: float = 30):
        parts = urlsplit(base_url)
        self.host = parts.hostname
        self.port = parts.port or 80
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        local = self._local
        now = time.monotonic()
        if getattr(local, "connection", None) is None or now - local.used > IDLE_REOPEN_SECONDS:
            if getattr(local, "connection", None) is not None:
                local.connection.close()
            local.connection = http.client.HTTPConnection(
                self.host, self.port, timeout=self.timeout
            )
        local.used = now
        return local.connection

    def request(self, method: str, path: str, *, headers: dict, json_body=None) -> Response:
        connection = self._connection()
        body = None
        headers = dict(headers)
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        except Exception:
            connection.close()
            self._local.connection = None
            raise
        self._local.used = time.monotonic()
        return Response(response.status, content)

    def get(self, path: str, *, headers: dict) -> Response:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, *, headers: dict, json_body=None) -> Response:
        return self.request("POST", path, headers=headers, json_body=json_body)
