"""Staff page sessions end after a while without the person (CLINICO_STAFF_IDLE_MINUTES).

Each request a person makes moves the session's end on: a page load, a form sent, an action
(a POST from the page's script). A page refreshing its own data does not: the console reading
its queue again on every event of a busy clinic, a page polling while its stream is cut, a live
stream reconnecting. Those are GETs the pages' scripts send with `X-Clinico-Background: 1`
(static/clinico/common.js, `api`) or requests to the live streams (`/events/`), and for them the
session is read but neither saved nor re-sent, so its end stays where the person left it.
"""

from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

BACKGROUND_HEADER = "X-Clinico-Background"
STREAM_PATH_PREFIX = "/events/"


def is_background(request: HttpRequest) -> bool:
    """A request the page made by itself, not the person in front of it."""
    return request.headers.get(BACKGROUND_HEADER) == "1" or request.path.startswith(
        STREAM_PATH_PREFIX
    )


class IdleSessionMiddleware(SessionMiddleware):
    """Django's session middleware, whose save-on-every-request skips the page's own requests."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and is_background(request) and not session.modified:
            if session.accessed:
                patch_vary_headers(response, ("Cookie",))
            return response
        return super().process_response(request, response)
