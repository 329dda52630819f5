"""The patient's ticket status link: a signed token naming the clinic and the ticket.

The token is made with django.core.signing (its own salt) over `[clinic schema, ticket id,
expiry]`, so it cannot be guessed or edited, it is refused on another clinic's host, and it
ends at the clinic's next daily reset after the ticket's service day, when the reset closes the
ticket's day. It travels in the URL fragment (`/s/#<token>`) and in POST bodies: browsers never
send a fragment, so no request line (and no access log) holds it.
"""

import datetime
import zoneinfo

from django.core import signing
from django.utils import timezone

from common.tenancy import active_clinic
from queueing.models import Ticket

STATUS_PAGE_PATH = "/s/"
_SALT = "clinico.ticket-status"
# A real token is about 80 characters; anything much longer is not worth a signature check.
TOKEN_MAX_LENGTH = 200


class StatusTokenInvalid(Exception):
    """Not a token of this clinic: forged, edited, guessed, or from another clinic."""


class StatusTokenEnded(Exception):
    """A genuine token of this clinic whose ticket's day was closed by the daily reset."""


def ticket_status_expiry(*, service_day: datetime.date) -> datetime.datetime:
    """When the clinic's daily reset closes `service_day`: its reset time on the next day."""
    clinic = active_clinic()
    local = datetime.datetime.combine(
        service_day + datetime.timedelta(days=1),
        clinic.reset_time,
        tzinfo=zoneinfo.ZoneInfo(clinic.timezone),
    )
    return local.astimezone(datetime.UTC)


def ticket_status_token(*, ticket: Ticket) -> str:
    """The signed token of the ticket's status page, valid until its day is closed."""
    expires = ticket_status_expiry(service_day=ticket.service_day)
    payload = [active_clinic().schema_name, ticket.pk, int(expires.timestamp())]
    return signing.Signer(salt=_SALT).sign_object(payload)


def ticket_status_token_read(*, token: str) -> int:
    """The ticket id of a token of the current clinic; raises Invalid or Ended."""
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX_LENGTH:
        raise StatusTokenInvalid
    try:
        payload = signing.Signer(salt=_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise StatusTokenInvalid from None
    if not (
        isinstance(payload, list)
        and len(payload) == 3
        and isinstance(payload[0], str)
        and all(isinstance(value, int) for value in payload[1:])
    ):
        raise StatusTokenInvalid
    schema, ticket_id, expires = payload
    if schema != active_clinic().schema_name:
        raise StatusTokenInvalid
    if timezone.now().timestamp() >= expires:
        raise StatusTokenEnded
    return ticket_id


def ticket_status_path(*, ticket: Ticket) -> str:
    """The status page's path with the ticket's token in the fragment."""
    return f"{STATUS_PAGE_PATH}#{ticket_status_token(ticket=ticket)}"
