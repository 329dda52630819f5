"""The client's address for limits and logs: the TCP peer, or what trusted proxies saw."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings

from common.net import client_address

PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]


def _address(remote: str, forwarded: str | None = None) -> str:
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **headers))


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says():
    assert _address("203.0.113.9", "198.51.100.1") == "203.0.113.9"
    assert _address("10.0.0.7", "198.51.100.1") == "10.0.0.7"


@override_settings(CLINICO_TRUSTED_PROXIES=PROXIES)
@pytest.mark.parametrize(
    "remote, forwarded, expected",
    [
        # the load balancer's own hop is the right-most; the client's forgeries sit to its left
        ("10.0.0.7", "1.2.3.4, 203.0.113.9", "203.0.113.9"),
        ("10.0.0.7", "203.0.113.9", "203.0.113.9"),
        # trusted hops are skipped from the right
        ("10.0.0.7", "1.2.3.4, 203.0.113.9, 10.9.9.9, 10.8.8.8", "203.0.113.9"),
        # an untrusted peer's header is ignored, even if it names a trusted hop
        ("203.0.113.9", "198.51.100.1, 10.0.0.1", "203.0.113.9"),
        # no header: the proxy itself (its own health checks)
        ("10.0.0.7", None, "10.0.0.7"),
        ("10.0.0.7", "", "10.0.0.7"),
        # only trusted hops: the left-most of them
        ("10.0.0.7", "10.1.1.1, 10.2.2.2", "10.1.1.1"),
        # ports and brackets as some proxies write them; v6 written canonically
        ("10.0.0.7", "203.0.113.9:51234", "203.0.113.9"),
        ("10.0.0.7", "[2001:DB8:0:0::1]:443", "2001:db8::1"),
        ("2001:db8:ffff::10", "2001:db8:1::5", "2001:db8:1::5"),
        # IPv4 seen through an IPv6 socket
        ("::ffff:203.0.113.9", None, "203.0.113.9"),
        # a hop that is no address was not written by a trusted proxy: stop before it
        ("10.0.0.7", "203.0.113.9, not-an-ip", "10.0.0.7"),
        ("10.0.0.7", "unknown, 10.3.3.3", "10.3.3.3"),
    ],
)
def test_behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client(
    remote, forwarded, expected
):
    assert _address(remote, forwarded) == expected


def test_a_peer_that_is_no_address_is_unknown():
    assert _address("") == "unknown"


@override_settings(CLINICO_TRUSTED_PROXIES=["10.0.0.1/8"])
def test_a_mistyped_proxy_network_stops_with_its_name():
    with pytest.raises(ImproperlyConfigured, match="10.0.0.1/8"):
        _address("10.0.0.7", "203.0.113.9")
