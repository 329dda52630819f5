"""Where webhooks may go and how a send ends: public hosts only, one deadline, a bounded answer.

Real sockets on 127.0.0.1 play the misbehaving receivers. DNS answers come from
CLINICO_WEBHOOK_RESOLVE (as curl's --resolve): these machines have no DNS, and a rebinding
test needs a name that answers one address at save and another at send.
"""

import time

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import translation

from integrations.egress import Destination
from integrations.models import WebhookAttempt, WebhookDelivery
from integrations.services import (
    webhook_deliveries_create,
    webhook_deliveries_send_due,
    webhook_subscription_create,
)
from integrations.transport import post
from tests.integrations.conftest import record
from tests.integrations.receiver import RawServer, endless_body, huge_head, trickling
from tests.processes import free_port

pytestmark = pytest.mark.django_db

ALL = ["ticket.called", "day.closed"]
PUBLIC = "93.184.215.14"
PRODUCTION = {"CLINICO_WEBHOOK_ALLOW_LOOPBACK_HTTP": False}


def deliver() -> None:
    webhook_deliveries_create()
    webhook_deliveries_send_due()


def _refusal_code(url: str) -> str:
    with pytest.raises(ValidationError) as refused:
        webhook_subscription_create(url=url, kinds=ALL)
    (error,) = refused.value.error_dict["url"]
    return error.code


@override_settings(
    **PRODUCTION,
    CLINICO_WEBHOOK_RESOLVE={
        "localtest.me": ["127.0.0.1"],
        "127.0.0.1.nip.io": ["127.0.0.1"],
        "metadata.google.internal": ["169.254.169.254"],
        "intranet.example.com": ["10.1.2.3"],
        "half.example.com": [PUBLIC, "192.168.0.10"],
        "cgnat.example.com": ["100.64.0.1"],
    },
)
@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/hook",
        "https://localtest.me/hook",
        "https://127.0.0.1.nip.io/hook",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://intranet.example.com/hook",
        "https://half.example.com/hook",  # one public answer does not make the others so
        "https://cgnat.example.com/hook",
        "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "https://[64:ff9b:1::a00:1]/hook",  # local-use NAT64
        "https://[::ffff:10.0.0.1]/hook",  # IPv4-mapped
        "https://[2002:a00:1::1]/hook",  # 6to4 of 10.0.0.1
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",  # Teredo
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[ff02::1]/hook",
        "https://0.0.0.0/hook",
        "https://240.0.0.1/hook",
        "https://224.0.0.1/hook",
    ],
)
def test_urls_of_hosts_that_are_not_public_are_refused_in_production(clinic_a, url):
    with clinic_a:
        assert _refusal_code(url) == "address_not_allowed"


@override_settings(**PRODUCTION)
@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com:80/hook",
        "https://hooks.example.com:8080/hook",
        "https://hooks.example.com:22/hook",
        "http://127.0.0.1:8000/hook",
    ],
)
def test_ports_other_than_443_and_8443_and_loopback_http_are_refused_in_production(clinic_a, url):
    with clinic_a:
        assert _refusal_code(url) == "address_not_allowed"


@override_settings(**PRODUCTION)
def test_public_hosts_on_443_and_8443_are_accepted(clinic_a):
    with clinic_a:
        for url in ("https://hooks.example.com/hook", "https://hooks.example.com:8443/hook"):
            subscription, _secret = webhook_subscription_create(url=url, kinds=ALL)
            assert subscription.pk


@override_settings(CLINICO_WEBHOOK_RESOLVE={})
def test_a_host_name_that_does_not_resolve_is_refused(clinic_a):
    with clinic_a:
        assert _refusal_code("https://no-such-host.invalid/hook") == "dns"


def test_dns_rebinding_a_host_public_at_save_and_private_at_send_is_refused_unconnected(
    clinic_a,
):
    """Saved while the name answers a public address; at send it answers 127.0.0.1, where a
    listener waits on the URL's port: the send is refused and nothing connects to it."""
    listener = RawServer(huge_head(1), port=8443).start()
    try:
        with (
            override_settings(
                **PRODUCTION, CLINICO_WEBHOOK_RESOLVE={"rebind.example.com": [PUBLIC]}
            ),
            clinic_a,
        ):
            subscription, _ = webhook_subscription_create(
                url="https://rebind.example.com:8443/hook", kinds=ALL
            )
        with (
            override_settings(
                **PRODUCTION, CLINICO_WEBHOOK_RESOLVE={"rebind.example.com": ["127.0.0.1"]}
            ),
            clinic_a,
        ):
            record("day.closed", day="2026-11-29")
            deliver()
            delivery = WebhookDelivery.objects.get(subscription=subscription)
    finally:
        listener.stop()

    assert listener.connections == 0
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_error == "address_not_allowed"


@override_settings(CLINICO_WEBHOOK_TIMEOUT_SECONDS=1.5)
def test_a_trickling_receiver_is_cut_at_the_send_s_wall_clock_deadline(clinic_a):
    """One byte of the answer every 0.3 s: each read is quick, the whole never ends."""
    receiver = RawServer(trickling(every=0.3)).start()
    try:
        with clinic_a:
            webhook_subscription_create(url=receiver.url, kinds=ALL)
            record("day.closed", day="2026-11-29")
            started = time.monotonic()
            deliver()
            took = time.monotonic() - started
            delivery = WebhookDelivery.objects.get()
    finally:
        receiver.stop()

    assert 1.4 <= took < 3.0
    assert delivery.status == "pending"
    assert delivery.last_error == "timeout"


def test_only_a_few_kilobytes_of_an_answer_are_read(clinic_a):
    """A 2xx with a 64 MB body: the receiver finds the connection closed long before the end."""
    receiver = RawServer(endless_body(total=64 * 1024 * 1024)).start()
    try:
        with clinic_a:
            webhook_subscription_create(url=receiver.url, kinds=ALL)
            record("day.closed", day="2026-11-29")
            started = time.monotonic()
            deliver()
            took = time.monotonic() - started
            delivery = WebhookDelivery.objects.get()
        deadline = time.monotonic() + 5
        while receiver.open and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        receiver.stop()

    assert delivery.status == "delivered"
    assert took < 2.0
    assert receiver.send_failed == 1  # closed on it mid-body
    assert receiver.sent_bytes < 32 * 1024 * 1024


def test_the_log_keeps_a_short_class_of_each_failure_never_the_exception_s_text(clinic_a):
    closed_port = free_port()  # nothing listens there
    flooding = RawServer(huge_head(headers=2000)).start()
    failing = RawServer(lambda conn, server: _answer(conn, b"HTTP/1.1 500 Boom\r\n"))
    failing.start()
    try:
        with clinic_a:
            urls = {
                "refused": f"http://127.0.0.1:{closed_port}/hooks",
                "too_large": flooding.url,
                "http 500": failing.url,
            }
            for url in urls.values():
                webhook_subscription_create(url=url, kinds=ALL)
            record("day.closed", day="2026-11-29")
            deliver()
            logged = {
                attempt.delivery.subscription.url: attempt.error
                for attempt in WebhookAttempt.objects.select_related("delivery__subscription")
            }
            last_errors = set(WebhookDelivery.objects.values_list("last_error", flat=True))
    finally:
        flooding.stop()
        failing.stop()

    assert logged == {url: error_class for error_class, url in urls.items()}
    assert last_errors == {"refused", "too_large", "http 500"}


def _answer(conn, status_line: bytes) -> None:
    from tests.integrations.receiver import read_request

    read_request(conn)
    conn.sendall(status_line + b"Content-Length: 0\r\n\r\n")


def test_tls_is_verified_against_the_host_name_even_when_connecting_by_address(tmp_path):
    """A certificate that is not the host's (self-signed here) fails the send as `tls`."""
    import ssl
    import subprocess
    import threading

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=hooks.example.com", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server_names: list[str | None] = []

    def behaviour(conn, server):
        context.sni_callback = lambda sock, name, ctx: server_names.append(name)
        try:
            with context.wrap_socket(conn, server_side=True):
                pass
        except ssl.SSLError:
            pass  # the client refused the certificate

    server = RawServer(behaviour).start()
    try:
        destination = Destination("https", "hooks.example.com", server.port, "/", "127.0.0.1")
        answer = post(destination=destination, body=b"{}", headers={}, deadline_seconds=5)
    finally:
        server.stop()
    threading.Event().wait(0.1)

    assert answer.error_class == "tls"
    assert server_names == ["hooks.example.com"]  # SNI names the host, not the address


@override_settings(**PRODUCTION)
@pytest.mark.parametrize(
    "url", ["https://hooks.example.com:99999/", "https://[2606:4700::1]:70000/"]
)
def test_a_port_out_of_range_is_refused_saying_which_ports_are_allowed(clinic_a, url):
    with clinic_a, translation.override("en"), pytest.raises(ValidationError) as english:
        webhook_subscription_create(url=url, kinds=ALL)
    with clinic_a, translation.override("pt-br"), pytest.raises(ValidationError) as portuguese:
        webhook_subscription_create(url=url, kinds=ALL)

    (error,) = english.value.error_dict["url"]
    assert error.code == "address_not_allowed"
    assert error.messages == ["The URL's port is out of range: it must be 443 or 8443 (HTTPS)."]
    (traduzido,) = portuguese.value.error_dict["url"]
    assert "não é um número" not in traduzido.messages[0]
    assert "443 ou 8443" in traduzido.messages[0]


def test_a_path_a_request_line_cannot_carry_is_a_bad_url_answer_not_an_exception():
    """A URL saved before the save-time check, sent as it is: the send answers, never raises."""
    listener = RawServer(lambda conn, server: _answer(conn, b"HTTP/1.1 204 No Content\r\n"))
    listener.start()
    try:
        answers = [
            post(
                destination=Destination("http", "127.0.0.1", listener.port, path, "127.0.0.1"),
                body=b"{}",
                headers={},
                deadline_seconds=2,
            )
            for path in ("/ç", "/a\x01b", "/a b")
        ]
    finally:
        listener.stop()

    assert [(a.status_code, a.error_class) for a in answers] == [(None, "bad_url")] * 3


def _close_after(head: bytes, body: bytes = b"", *, later: bytes = b""):
    """A receiver answering `head` + `body` at once, `later` a moment after, then closing."""

    def behaviour(conn, server: RawServer) -> None:
        from tests.integrations.receiver import read_request

        read_request(conn)
        conn.sendall(head + body)
        if later:
            time.sleep(0.2)
            conn.sendall(later)

    return behaviour


ANSWERED_200 = {
    "connection_close_and_a_3000_byte_body": _close_after(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3000\r\n\r\n", b"x" * 3000
    ),
    "a_20_byte_body_sent_after_the_head": _close_after(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 20\r\n\r\n", later=b"y" * 20
    ),
    "no_content_length": _close_after(b"HTTP/1.1 200 OK\r\n\r\n", b"ok, thanks"),
    "a_body_cut_short": _close_after(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n", b"x" * 100
    ),
}


@pytest.mark.parametrize("behaviour", list(ANSWERED_200), ids=list(ANSWERED_200))
def test_a_receiver_answering_200_with_a_body_and_connection_close_is_delivered(behaviour):
    receiver = RawServer(ANSWERED_200[behaviour]).start()
    try:
        answer = post(
            destination=Destination("http", "127.0.0.1", receiver.port, "/hooks", "127.0.0.1"),
            body=b"{}",
            headers={},
            deadline_seconds=3,
        )
    finally:
        receiver.stop()

    assert (answer.status_code, answer.error_class) == (200, "")
