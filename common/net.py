"""The client's address, for rate limits and logs, trusting forwarding headers only from proxies.

`REMOTE_ADDR` is the TCP peer. Anyone can send `X-Forwarded-For`, so the header is read only
when the peer is one of `CLINICO_TRUSTED_PROXIES` (CIDRs), and then from the right: each trusted
proxy appends the address it saw, so the right-most hop that is not itself a trusted proxy is
the first address no one we trust could have forged. Whatever the client wrote to the left of
it is ignored.
"""

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

UNKNOWN = "unknown"


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        try:
            # strict, as gunicorn's forwarded_allow_ips: 10.0.0.1/8 is a typo, not 10.0.0.0/8.
            networks.append(ipaddress.ip_network(entry))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"CLINICO_TRUSTED_PROXIES: {entry!r} is not an IP address or network ({error}). "
                "List the load balancers' addresses or CIDRs, e.g. 10.0.0.0/8,192.0.2.7."
            ) from error
    return tuple(networks)


def trusted_proxy_networks() -> tuple[Network, ...]:
    """The networks of `CLINICO_TRUSTED_PROXIES`; ImproperlyConfigured names a bad entry."""
    return _networks(tuple(settings.CLINICO_TRUSTED_PROXIES))


def _parse(text: str) -> Address | None:
    """An address as proxies write it: bare, `[v6]:port`, `v4:port`; None when it is none."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: Iterable[Network]) -> bool:
    return any(address in network for network in networks)


def client_address(request: HttpRequest) -> str:
    """The address limits and logs use: the peer, or behind trusted proxies the client they saw."""
    peer = _parse(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return UNKNOWN
    networks = trusted_proxy_networks()
    if not _trusted(peer, networks):
        return str(peer)
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "")
    address = peer
    for hop in reversed(hops.split(",")):
        seen = _parse(hop)
        if seen is None:
            # A trusted proxy writes addresses: anything else came from the client. Stop at the
            # last address a trusted proxy vouched for.
            break
        address = seen
        if not _trusted(seen, networks):
            break
    return str(address)


def peer_is_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the TCP peer is one of CLINICO_TRUSTED_PROXIES (its forwarding headers count)."""
    peer = _parse(request.META.get("REMOTE_ADDR") or "")
    return peer is not None and _trusted(peer, trusted_proxy_networks())


def request_origin(request) -> str:
    """The scheme and host (and port) a request came to: where links e-mailed from it point."""
    return request.build_absolute_uri("/").rstrip("/")
