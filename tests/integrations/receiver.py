"""A real HTTP receiver of webhooks on a free local port, in a thread of the test process."""

import dataclasses
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from integrations.signing import SIGNATURE_HEADER, signature_verify
from tests.processes import free_port


@dataclasses.dataclass
class Received:
    headers: dict
    body: bytes
    at: float  # time.time() when it arrived

    @property
    def payload(self) -> dict:
        return json.loads(self.body)

    def verified_with(self, secret: str, *, tolerance_seconds: int = 300) -> bool:
        return signature_verify(
            secret=secret,
            header=self.headers.get(SIGNATURE_HEADER, ""),
            body=self.body,
            now=int(time.time()),
            tolerance_seconds=tolerance_seconds,
        )


class Receiver:
    """Records every POST; answers `status` (e.g. 500 to fail); `stop()`/`start()` take it down."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.status = 204
        self.refuse = None  # a predicate of the payload: answer 500 to those it holds for
        self.refused = 0
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> "Receiver":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = owner.status
                if owner.refuse is not None and owner.refuse(json.loads(body)):
                    status = 500
                if not 200 <= status < 300:
                    owner.refused += 1
                if 200 <= status < 300:
                    with owner._lock:
                        owner.received.append(Received(dict(self.headers), body, time.time()))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def payloads(self) -> list[dict]:
        with self._lock:
            return [r.payload for r in self.received]

    def wait_for(self, count: int, timeout: float = 60) -> list[Received]:
        """The first `count` distinct events received (by id), failing after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                unique = {r.payload["id"]: r for r in self.received}
            if len(unique) >= count:
                return list(unique.values())
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(unique)} of {count} events received in {timeout}s")
            time.sleep(0.05)
