"""The patient's status page behind the ticket's QR code: `/s/#<token>`, no login.

The token is signed (queueing/status_token.py) and sits in the URL's fragment, which browsers
never send: the page's script posts it in the body of `POST /s/state/`. No request line, access
log or Referer holds it. The page shows the code, position, estimated wait and the desk once
called; never a name or a CPF.

The page follows its ticket's live stream (`/events/status/<ticket id>/`, `status_stream`) and
reads its state again on each of the ticket's events, and every `STREAMING_REFRESH_SECONDS`
for its place in the queue, which others' calls change without an event of this ticket; while
the stream is cut it polls every `POLL_SECONDS`, as it did before it had a stream.
"""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import APIView

from events.live import StreamScope
from queueing.models import TicketStatus
from queueing.selectors.ticket_status import ticket_current_id, ticket_public_status
from queueing.status_token import (
    TOKEN_MAX_LENGTH,
    StatusTokenEnded,
    StatusTokenInvalid,
    ticket_status_token_read,
)
from tenants.models import Clinic
from web.access import api_error_texts, clinic_here, clinic_of, page_language
from web.streams import sse_response, stream_error, stream_preflight, stream_url

POLL_SECONDS = 3
STREAMING_REFRESH_SECONDS = 15


class TicketEnded(APIException):
    status_code = status.HTTP_410_GONE
    default_code = "ticket_ended"
    default_detail = "This ticket has ended: the clinic's day was closed."


class TokenRefused(APIException):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "ticket_not_found"
    default_detail = "This link does not belong to a ticket of this clinic."


def status_texts() -> dict:
    return {
        **api_error_texts(),
        "statuses": {value: str(label) for value, label in TicketStatus.choices},
        "waiting": _("Waiting"),
        "calledTo": _("Called to %(desk)s"),
        "goNow": _("Please go there now."),
        "inService": _("In service at %(desk)s"),
        "ahead": _("%(n)s ahead of you"),
        "next": _("You are next"),
        "minutes": _("%(n)s min"),
        "noEstimate": _("no desk open yet"),
        "ended": _("This ticket has ended."),
        "finished": _("Your visit for this ticket is finished. Thank you!"),
        "updatedAt": _("Updated at %(time)s"),
        "changedTo": _("Your ticket changed to %(code)s"),
        "printedCode": _("Printed ticket: %(code)s"),
    }


@never_cache  # the page carries the ticket's status token
@page_language
def status_page(request: HttpRequest) -> HttpResponse:
    """The page's shell; its script reads the token from the fragment and asks for the state."""
    clinic = clinic_here(request)
    config = {
        "stateUrl": "/s/state/",
        "events": stream_url(request, STATUS_STREAM_PATH),
        "strings": status_texts(),
        "pollSeconds": POLL_SECONDS,
        "streamingRefreshSeconds": STREAMING_REFRESH_SECONDS,
    }
    # A Referer never carries a fragment, so links from this page cannot leak the token.
    return render(request, "pages/status.html", {"clinic": clinic, "status_config": config})


class TicketStateApi(APIView):
    """The ticket's state for its status page: the signed token in the body is the credential."""

    authentication_classes: list = []
    permission_classes: list = []

    class InputSerializer(serializers.Serializer):
        token = serializers.CharField(max_length=TOKEN_MAX_LENGTH, trim_whitespace=True)

    @extend_schema(exclude=True)
    def post(self, request):
        clinic_here(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = serializer.validated_data["token"]
        try:
            ticket_id = ticket_status_token_read(token=token)
        except StatusTokenEnded:
            raise TicketEnded() from None
        except StatusTokenInvalid:
            raise TokenRefused() from None
        state = ticket_public_status(ticket_id=ticket_id)
        if state is None:  # anonymised or removed since: nothing left to show
            raise TicketEnded()
        # The stream to follow is the link's ticket's (its cookie's), whatever it became since.
        answer = Response({**state, "link_ticket_id": ticket_id})
        answer["Cache-Control"] = "no-store"
        status_cookie_set(answer, request=request, ticket_id=ticket_id, token=token)
        return answer


# A live stream (EventSource) cannot post a body, and a token in its URL would be logged: the
# status page's first poll leaves the token in an HttpOnly cookie, one per ticket, sent only to
# that ticket's stream, `/events/status/<ticket id>/` on this host (the events process's path;
# the id is no secret), which checks the ticket with it.
STATUS_COOKIE_PREFIX = "clinico_ticket_"
STATUS_STREAM_PATH = "/events/status/"
STATUS_COOKIE_MAX_AGE = 36 * 3600  # the token itself ends at the reset, re-checked on each use


def status_stream_path(*, ticket_id: int) -> str:
    return f"{STATUS_STREAM_PATH}{ticket_id}/"


def status_cookie_set(response, *, request, ticket_id: int, token: str) -> None:
    response.set_cookie(
        f"{STATUS_COOKIE_PREFIX}{ticket_id}",
        token,
        max_age=STATUS_COOKIE_MAX_AGE,
        path=status_stream_path(ticket_id=ticket_id),
        secure=settings.SESSION_COOKIE_SECURE or request.is_secure(),
        httponly=True,
        samesite="Strict",
    )


def status_ticket_from_cookie(request: HttpRequest, *, ticket_id: int) -> int:
    """The ticket a status stream may follow, from the page's cookie; raises as the token does.

    For the live stream of the status page (web/streams.py), which then follows the ticket the
    link's ticket has become (`ticket_current_id`).
    """
    token = request.COOKIES.get(f"{STATUS_COOKIE_PREFIX}{ticket_id}", "")
    if ticket_status_token_read(token=token) != ticket_id:
        raise StatusTokenInvalid
    return ticket_id


def _stream_ticket(request: HttpRequest, clinic: Clinic, ticket_id: int) -> int | None:
    """The ticket this request's cookie lets it follow now; raises as the token does."""
    with clinic:
        status_ticket_from_cookie(request, ticket_id=ticket_id)
        return ticket_current_id(ticket_id=ticket_id)


def _cookie_still_valid(request: HttpRequest, clinic: Clinic, ticket_id: int) -> bool:
    try:
        with clinic:
            status_ticket_from_cookie(request, ticket_id=ticket_id)
    except (StatusTokenInvalid, StatusTokenEnded):
        return False
    return True


async def status_stream(request: HttpRequest, ticket_id: int) -> HttpResponseBase:
    """The status page's live stream: the events of the ticket its link's ticket now is.

    The credential is the cookie the page's first poll left for this ticket (an EventSource has
    no body, and the token never goes into a URL). A transfer opens a new ticket: the page opens
    its stream again when its state names another ticket, and the stream follows that one.
    """
    early = stream_preflight(request)
    if early is not None:
        return early
    clinic = clinic_of(request)
    if clinic is None:
        return stream_error(404, "not_found", "Status pages are on clinic hosts.")
    try:
        current = await sync_to_async(_stream_ticket)(request, clinic, ticket_id)
    except StatusTokenEnded:
        return stream_error(410, "ticket_ended", _("This ticket has ended."))
    except StatusTokenInvalid:
        # Never shown (an EventSource reads no error body): the page polls and says it there.
        detail = "Open the ticket's status link again: this browser holds no valid link to it."
        return stream_error(403, "status_cookie_invalid", detail)
    if current is None:  # anonymised or removed since
        return stream_error(410, "ticket_ended", _("This ticket has ended."))

    def still_allowed() -> bool:  # until the clinic's reset ends the token
        return _cookie_still_valid(request, clinic, ticket_id)

    scope = StreamScope(schema_name=clinic.schema_name, ticket_id=current)
    credential = f"ticket:{clinic.schema_name}:{ticket_id}"
    return sse_response(request, scope=scope, credential=credential, still_allowed=still_allowed)
