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
    path: str = ""

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
                        owner.received.append(
                            Received(dict(self.headers), body, time.time(), self.path)
                        )
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


class RawServer:
    """A TCP server on 127.0.0.1 whose every connection `behaviour(conn, server)` handles.

    Receivers that misbehave at the socket level: trickling a byte every few seconds, answering
    an endless body, heads too large. `connections` counts accepted ones, `open` those in flight.
    """

    def __init__(self, behaviour, port: int | None = None):
        self.behaviour = behaviour
        self.port = port or free_port()
        self.connections = 0
        self.open = 0
        self.sent_bytes = 0
        self.send_failed = 0  # connections the client closed while this was still sending
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._socket = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> "RawServer":
        import socket

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.2)
        self._socket = listener

        def serve():
            while not self.stopped.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                with self._lock:
                    self.connections += 1
                    self.open += 1
                threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()
        return self

    def _handle(self, conn) -> None:
        try:
            self.behaviour(conn, self)
        except OSError:
            with self._lock:
                self.send_failed += 1
        finally:
            conn.close()
            with self._lock:
                self.open -= 1

    def count_sent(self, size: int) -> None:
        with self._lock:
            self.sent_bytes += size

    def stop(self) -> None:
        self.stopped.set()
        if self._socket is not None:
            self._socket.close()


def read_request(conn) -> None:
    """Read the request's head and body (Content-Length) from `conn`."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            return
        body += chunk


def trickling(every: float):
    """A receiver that reads the request, then sends its answer's head one byte every `every`
    seconds, never finishing (until the server stops)."""

    def behaviour(conn, server: RawServer) -> None:
        read_request(conn)
        head = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10_000
        for byte in head:
            if server.stopped.wait(every):
                return
            conn.sendall(bytes([byte]))

    return behaviour


def endless_body(total: int):
    """A receiver answering 200 at once with a body of `total` bytes, sent as fast as it can."""

    def behaviour(conn, server: RawServer) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        chunk = b"x" * 65536
        sent = 0
        while sent < total:
            conn.sendall(chunk)
            sent += len(chunk)
            server.count_sent(len(chunk))

    return behaviour


def huge_head(headers: int):
    """A receiver answering 200 with `headers` header lines."""

    def behaviour(conn, server: RawServer) -> None:
        read_request(conn)
        lines = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 60) for i in range(headers))
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + lines + b"Content-Length: 0\r\n\r\n")

    return behaviour
