"""Where a webhook may go: public addresses on ports 443 and 8443, resolved once and pinned.

A receiver's host name is resolved when the subscription is saved and again at every send; the
send connects to the address that was checked (a second look-up could answer differently:
DNS rebinding). docs/security.md, "Webhook egress".
"""

import dataclasses
import ipaddress
import re
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

ALLOWED_PORTS = (443, 8443)
# Whole prefixes refused whatever they embed: NAT64 (RFC 6052, RFC 8215) and Teredo reach
# IPv4 hosts through a translator the sender does not control.
_REFUSED_NETWORKS = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("2001::/32"),  # Teredo
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT
)
LOOPBACK_HTTP_HOST = "127.0.0.1"
# What a request line may not carry as it is: anything outside printable ASCII (non-ASCII
# letters, spaces, control characters). Such a URL is refused, never rewritten: the receiver's
# path is the partner's to spell (percent-encoded, e.g. %C3%A7 for "ç"; a punycode host name).
_UNSENDABLE = re.compile(r"[^\x21-\x7e]")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class EgressRefused(Exception):
    """A destination the sender will not connect to; `error_class` is what the log stores."""

    def __init__(self, error_class: str, message: str):
        super().__init__(message)
        self.error_class = error_class
        self.message = message


@dataclasses.dataclass(frozen=True)
class Destination:
    """A URL taken apart, with the address the request connects to."""

    scheme: str
    host: str  # the name: Host header, TLS SNI and certificate check
    port: int
    path: str  # path and query
    address: str  # the checked IP address connected to


def address_allowed(address: Address) -> bool:
    """A global unicast address; the IPv4 forms embedded in IPv6 (mapped, 6to4) judged as IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address_allowed(address.ipv4_mapped)
        if address.sixtofour is not None:
            return address_allowed(address.sixtofour)
    if any(address in network for network in _REFUSED_NETWORKS):
        return False
    return not (
        not address.is_global
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
    )


def _addresses_of(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to: CLINICO_WEBHOOK_RESOLVE first, else the system's DNS.

    CLINICO_WEBHOOK_RESOLVE (`{"name": ["address", …]}`, `*.suffix` too) answers for names as
    curl's --resolve does: tests run without DNS. Its answers are checked like any others.
    """
    table = settings.CLINICO_WEBHOOK_RESOLVE
    name = host.lower().rstrip(".")
    wildcard = "*." + name.split(".", 1)[1] if "." in name else None
    for key in (name, wildcard):
        if key in table:
            return list(table[key])
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(answer[4][0]) for answer in answers]


def loopback_http(url: str) -> bool:
    """http://127.0.0.1:<any port>, allowed only where CLINICO_WEBHOOK_ALLOW_LOOPBACK_HTTP is on."""
    parts = urlsplit(url)
    return (
        settings.CLINICO_WEBHOOK_ALLOW_LOOPBACK_HTTP
        and parts.scheme == "http"
        and parts.hostname == LOOPBACK_HTTP_HOST
    )


def _port(parts) -> int:
    try:
        port = parts.port
    except ValueError:
        written = parts.netloc.rpartition(":")[2]
        if written.isdigit():
            raise EgressRefused(
                "address_not_allowed",
                _("The URL's port is out of range: it must be 443 or 8443 (HTTPS)."),
            ) from None
        raise EgressRefused("address_not_allowed", _("The URL's port is not a number.")) from None
    if port is None:
        return 443 if parts.scheme == "https" else 80
    return port


def destination_resolve(url: str) -> Destination:
    """Where a POST to `url` connects, checked now; EgressRefused says why not."""
    if _UNSENDABLE.search(url):
        raise EgressRefused(
            "bad_url",
            _(
                "The URL may contain only printable ASCII characters, without spaces: "
                "percent-encode others (e.g. %C3%A7 for ç) and write host names in punycode."
            ),
        )
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if loopback_http(url):
        return Destination("http", LOOPBACK_HTTP_HOST, _port(parts), path, LOOPBACK_HTTP_HOST)
    if parts.scheme != "https" or not parts.hostname:
        raise EgressRefused(
            "address_not_allowed", _("The URL must start with https:// and name a host.")
        )
    port = _port(parts)
    if port not in ALLOWED_PORTS:
        raise EgressRefused("address_not_allowed", _("The URL's port must be 443 or 8443 (HTTPS)."))
    host = parts.hostname
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            answers = _addresses_of(host, port)
        except (OSError, UnicodeError):
            raise EgressRefused("dns", _("The URL's host name does not resolve.")) from None
        addresses = [ipaddress.ip_address(answer.split("%", 1)[0]) for answer in answers]
        if not addresses:
            raise EgressRefused("dns", _("The URL's host name does not resolve."))
    # Every answer must be public: a name that also resolves to an inner address is refused,
    # whichever of its addresses a connection would have picked.
    if not all(address_allowed(address) for address in addresses):
        raise EgressRefused(
            "address_not_allowed",
            _("The URL must name a public host, not a private, local or reserved address."),
        )
    return Destination("https", host, port, path, str(addresses[0]))
