"""The patient's status page behind the ticket's QR code: `/s/#<token>`, no login.

The token is signed (queueing/status_token.py) and sits in the URL's fragment, which browsers
never send: the page's script posts it in the body of `POST /s/state/` every few seconds. No
request line, access log or Referer holds it. The page shows the code, position, estimated
wait and the desk once called; never a name or a CPF.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import APIView

from queueing.models import TicketStatus
from queueing.selectors.ticket_status import ticket_public_status
from queueing.status_token import (
    TOKEN_MAX_LENGTH,
    StatusTokenEnded,
    StatusTokenInvalid,
    ticket_status_token_read,
)
from web.access import api_error_texts, clinic_here, page_language


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
    }


@page_language
def status_page(request: HttpRequest) -> HttpResponse:
    """The page's shell; its script reads the token from the fragment and asks for the state."""
    clinic = clinic_here(request)
    config = {"stateUrl": "/s/state/", "strings": status_texts(), "pollSeconds": 3}
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
        answer = Response(state)
        answer["Cache-Control"] = "no-store"
        status_cookie_set(answer, request=request, ticket_id=ticket_id, token=token)
        return answer


# A live stream (EventSource) cannot post a body, and a token in its URL would be logged: the
# status page's first poll leaves the token in an HttpOnly cookie, one per ticket, sent only to
# /s/ on this host; a stream at /s/… names the ticket id (no secret) and is checked with it.
STATUS_COOKIE_PREFIX = "clinico_ticket_"
STATUS_COOKIE_PATH = "/s/"
STATUS_COOKIE_MAX_AGE = 36 * 3600  # the token itself ends at the reset, re-checked on each use


def status_cookie_set(response, *, request, ticket_id: int, token: str) -> None:
    response.set_cookie(
        f"{STATUS_COOKIE_PREFIX}{ticket_id}",
        token,
        max_age=STATUS_COOKIE_MAX_AGE,
        path=STATUS_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE or request.is_secure(),
        httponly=True,
        samesite="Strict",
    )


def status_ticket_from_cookie(request: HttpRequest, *, ticket_id: int) -> int:
    """The ticket a status stream may follow, from the page's cookie; raises as the token does.

    For the live stream of the status page: `ticket_public_status(ticket_id=…)` is the state to
    send on each event of that ticket (or of the ticket it was transferred to).
    """
    token = request.COOKIES.get(f"{STATUS_COOKIE_PREFIX}{ticket_id}", "")
    if ticket_status_token_read(token=token) != ticket_id:
        raise StatusTokenInvalid
    return ticket_id
