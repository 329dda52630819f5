"""One webhook POST: to the checked address, under one wall-clock deadline, reading little.

`requests`' timeout limits each socket read, not the request: a receiver sending a byte every
few seconds would hold the sender for as long as it likes. Here every socket operation (connect,
TLS handshake, writing, each read of the status line, headers and body) gets the time left until
one deadline, so the whole request ends by it. The connection goes to the address
`integrations.egress` checked, never to a second look-up of the name, while TLS sends the host
name (SNI) and verifies the certificate against it. No proxy: environment variables are not read.
No redirect is followed. The status line decides the result; then at most `MAX_ANSWER_BYTES` of
the body are read, as far as they come before the deadline (a receiver that answered 2xx and
closes or stalls mid-body has still answered).
"""

import contextlib
import dataclasses
import http.client
import io
import socket
import ssl
import time
from functools import lru_cache

import certifi

from integrations.egress import Destination

MAX_ANSWER_BYTES = 4096
# http.client's own bounds on the answer's head (lines of 64 KiB, 100 headers) are kept lower
# here: a head larger than this is "too_large".
MAX_HEAD_BYTES = 16 * 1024


class DeadlineExceeded(TimeoutError):
    pass


class HeadTooLarge(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Answer:
    status_code: int | None
    error_class: str  # empty when delivered (2xx)


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class _DeadlineSocket:
    """A socket whose every operation may take only the time left until `deadline`."""

    def __init__(self, sock: socket.socket, deadline: float):
        self._sock = sock
        self._deadline = deadline
        self._head_read = 0
        self.head_done = False

    def _arm(self) -> None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("deadline")
        self._sock.settimeout(left)

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:
        self._arm()
        count = self._sock.recv_into(buffer, nbytes, flags)
        if not self.head_done:
            self._head_read += count
            if self._head_read > MAX_HEAD_BYTES:
                raise HeadTooLarge
        return count

    def sendall(self, data, flags: int = 0) -> None:
        self._arm()
        self._sock.sendall(data, flags)

    def makefile(self, mode: str = "rb", buffering: int | None = None, **kwargs):
        # Small reads: the head's bound is checked as it arrives, not after a big buffer fills.
        return io.BufferedReader(socket.SocketIO(self, "rb"), buffer_size=1024)  # type: ignore[arg-type]

    def _decref_socketios(self) -> None:
        pass

    def close(self) -> None:
        # http.client closes the connection as soon as it has read a head that says
        # `Connection: close` (or no length), before the body is read: the socket stays open
        # until `release()`, as a real socket's does while a file made from it is open.
        pass

    def release(self) -> None:
        self._sock.close()


def _connect(destination: Destination, deadline: float) -> socket.socket:
    left = deadline - time.monotonic()
    sock = socket.create_connection((destination.address, destination.port), timeout=left)
    if destination.scheme != "https":
        return sock
    try:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        return _tls_context().wrap_socket(sock, server_hostname=destination.host)
    except BaseException:
        sock.close()
        raise


def error_class(error: BaseException) -> str:
    """The short class of a failed send the delivery log stores (never the exception's text)."""
    if isinstance(error, UnicodeError | http.client.InvalidURL):
        return "bad_url"  # a path or query a request line cannot carry
    if isinstance(error, HeadTooLarge | http.client.LineTooLong):
        return "too_large"
    if isinstance(error, http.client.HTTPException) and "headers" in str(error):
        return "too_large"  # "got more than 100 headers"
    if isinstance(error, DeadlineExceeded | socket.timeout | TimeoutError):
        return "timeout"
    if isinstance(error, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, ConnectionResetError | BrokenPipeError | http.client.RemoteDisconnected):
        return "reset"
    if isinstance(error, http.client.HTTPException):
        return "bad_answer"
    return "connection"


def post(
    *, destination: Destination, body: bytes, headers: dict[str, str], deadline_seconds: float
) -> Answer:
    """POST `body` to `destination`; the answer's status, or the class of what went wrong."""
    deadline = time.monotonic() + deadline_seconds
    default_port = 443 if destination.scheme == "https" else 80
    host_header = destination.host if ":" not in destination.host else f"[{destination.host}]"
    if destination.port != default_port:
        host_header = f"{host_header}:{destination.port}"
    connection = http.client.HTTPConnection(destination.host, destination.port)
    wrapped: _DeadlineSocket | None = None
    try:
        try:
            wrapped = _DeadlineSocket(_connect(destination, deadline), deadline)
            connection.sock = wrapped
            connection.request(
                "POST",
                destination.path,
                body=body,
                headers={"Host": host_header, "Connection": "close", **headers},
            )
            response = connection.getresponse()
            wrapped.head_done = True
        except (OSError, http.client.HTTPException, HeadTooLarge, ValueError) as error:
            if time.monotonic() >= deadline:
                return Answer(None, "timeout")
            return Answer(None, error_class(error))
        # The status line was the answer: the body is read only as far as it comes (at most
        # MAX_ANSWER_BYTES, before the deadline), to let a small answer finish.
        with contextlib.suppress(OSError, http.client.HTTPException):
            response.read(MAX_ANSWER_BYTES)
    finally:
        connection.close()
        if wrapped is not None:
            wrapped.release()
    if 200 <= response.status < 300:
        return Answer(response.status, "")
    return Answer(response.status, f"http {response.status}")
