"""Live streams of the pages (server-sent events), served by the ASGI events process only.

Each stream checks the same credential as its page: the panel its panel cookie (or the
`X-Panel-Key` header), the console a signed-in member of the clinic, the dashboard a signed-in
chain manager (the patient's status page has its stream in web/status.py: its ticket's cookie).
Pages find the stream at `/events/…` on their own host: behind a proxy that routes `/events/`
to the events process, or on the events port of the same host in development
(`CLINICO_EVENTS_PORT`); cookies are per host, not per port, so the page's cookie comes along,
and the answer allows that origin (same host name, another port) with credentials.

A stream reached on the WSGI web process answers 404 at once: there it would hold a thread for
as long as the page stays open, and the pages fall back to polling.
"""

import re
from collections.abc import AsyncIterator, Callable
from importlib import import_module
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.selectors import clinic_role_of
from common.net import client_address
from events.admission import retry_after_seconds, stream_slots
from events.live import StillAllowed, StreamScope, clinics_stream, event_stream
from queueing.panel_access import PANEL_KEY_HEADER, panel_for_key, panel_of_cookie
from queueing.selectors.queue import panel_desks
from tenants.models import Clinic
from tenants.selectors import chain_list_for_user
from web.access import clinic_of

# What the panel shows changes with these (calls, desks freed, desks closed for a break or
# (de)activated); the rest of the stream is not the waiting room's.
PANEL_KINDS = frozenset(
    {
        "desk.break_started",
        "desk.break_ended",
        "desk.activated",
        "desk.deactivated",
        "ticket.called",
        "ticket.recalled",
        "ticket.started",
        "ticket.finished",
        "ticket.no_show",
        "ticket.returned",
        "ticket.cancelled",
        "ticket.transferred",
        "ticket.expired",
        "ticket.restored",
    }
)
_DIGITS = re.compile(r"[0-9]{1,18}")


def stream_error(status: int, code: str, detail: str, attr: str | None = None) -> JsonResponse:
    """A stream's refusal, in the project's error body."""
    body = {"type": "client_error", "errors": [{"code": code, "detail": detail, "attr": attr}]}
    return JsonResponse(body, status=status)


def _not_served_here() -> JsonResponse:
    return stream_error(
        404, "stream_not_served_here", "Live streams are served by the events process."
    )


def _same_host_origin(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """Let the page of this very host (another port: the web process) read the stream."""
    origin = request.headers.get("Origin")
    response["Vary"] = "Origin"
    if origin and urlsplit(origin).hostname == request.get_host().rsplit(":", 1)[0]:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
        response["Access-Control-Allow-Headers"] = f"Last-Event-ID, {PANEL_KEY_HEADER}"
    return response


def _last_event_id(request: HttpRequest) -> int | None | JsonResponse:
    """The resumption point: the Last-Event-ID header, or `?last_event_id=` (a new connection)."""
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    if raw in (None, ""):
        return None
    if not _DIGITS.fullmatch(raw):
        detail = "Last-Event-ID must be an event id (digits)."
        return stream_error(400, "invalid", detail, "last_event_id")
    return int(raw)


class _Stream:
    """A stream's messages, and its place in the process's limits until it ends.

    The place is given back when the messages end (the client went, the credential ended) or,
    for an answer never sent, when Django closes the response.
    """

    def __init__(self, messages: AsyncIterator[str], release: Callable[[], None]):
        self._messages = messages
        self.close = release

    def __aiter__(self) -> AsyncIterator[str]:
        return self._messages


def _sse(request: HttpRequest, stream: _Stream) -> HttpResponseBase:
    response = StreamingHttpResponse(stream, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return _same_host_origin(request, response)


def _too_many(status: int, code: str) -> JsonResponse:
    if status == 503:
        detail = _("Too many screens are connecting at once; this one will try again shortly.")
    else:
        detail = _("Too many live screens are open with this access; close one and try again.")
    refusal = stream_error(status, code, detail)
    refusal["Retry-After"] = str(retry_after_seconds())
    return refusal


def stream_opened(
    request: HttpRequest,
    *,
    credential: str,
    open_messages: Callable[[Callable[[], None]], AsyncIterator[str]],
) -> HttpResponseBase:
    """The stream `open_messages(release)` makes, if `credential` and the client's address
    may hold one more; else 429 (this credential or address holds too many) or 503 (this
    process holds as many as it may), both with Retry-After."""
    address = client_address(request)
    refusal = stream_slots.refusal(credential=credential, address=address)
    if refusal is not None:
        return _too_many(*refusal)
    release = stream_slots.take(credential=credential, address=address)
    return _sse(request, _Stream(open_messages(release), release))


def sse_response(
    request: HttpRequest,
    *,
    scope: StreamScope,
    credential: str,
    still_allowed: StillAllowed | None = None,
) -> HttpResponseBase:
    """The stream of `scope` as the answer to `request`, resuming after its Last-Event-ID.

    For stream views of other page families (the patient's status page: a StreamScope with the
    clinic's schema and `ticket_id`), once they have checked their own credential.
    `credential` names it for the per-credential limit; `still_allowed` is synchronous and runs
    on the events process's read pool, at most every CLINICO_EVENTS_RECHECK_SECONDS.
    """
    if not isinstance(request, ASGIRequest):
        return _not_served_here()
    after = _last_event_id(request)
    if isinstance(after, JsonResponse):
        return after

    def open_messages(release: Callable[[], None]) -> AsyncIterator[str]:
        return event_stream(
            scope=scope, after_id=after, still_allowed=still_allowed, release=release
        )

    return stream_opened(request, credential=credential, open_messages=open_messages)


def stream_preflight(request: HttpRequest) -> HttpResponseBase | None:
    """The answer before any credential is read: not served here, CORS preflight, not a GET."""
    if not isinstance(request, ASGIRequest):
        return _not_served_here()
    if request.method == "OPTIONS":
        return _same_host_origin(request, HttpResponse(status=204))
    if request.method != "GET":
        return stream_error(405, "method_not_allowed", "Streams answer GET only.")
    return None


# --- the panel -------------------------------------------------------------------------------


def _panel_desk_ids(request: HttpRequest, clinic: Clinic) -> tuple[int, frozenset[int]] | None:
    """The panel this TV proves it is (by key header or cookie) and its desk ids, else None."""
    with schema_context(clinic.schema_name):
        header = request.headers.get(PANEL_KEY_HEADER)
        if header is not None:
            panel = panel_for_key(key=header)
        else:
            state, panel = panel_of_cookie(request=request, clinic=clinic)
            if state != "valid":
                panel = None
        if panel is None:
            return None
        # Inactive desks too: one activated while the panel is open appears on it live.
        desks = panel_desks(panel=panel, active_only=False)
        return panel.pk, frozenset(desks.values_list("pk", flat=True))


async def panel_stream(request: HttpRequest) -> HttpResponseBase:
    """The waiting-room panel's stream: its desks' calls and the changes that clear a desk."""
    early = stream_preflight(request)
    if early is not None:
        return early
    clinic = clinic_of(request)
    if clinic is None:
        return stream_error(404, "not_found", "Panels are on clinic hosts.")
    panel = await sync_to_async(_panel_desk_ids)(request, clinic)
    if panel is None:
        return stream_error(403, "panel_key_invalid", _("This panel key is no longer valid."))
    panel_id, desk_ids = panel

    def still_allowed() -> bool:
        # The same panel with the same desks: a changed panel ends the stream, and the TV's
        # page opens it again with what the panel shows now.
        return _panel_desk_ids(request, clinic) == (panel_id, desk_ids)

    scope = StreamScope(schema_name=clinic.schema_name, kinds=PANEL_KINDS, desk_ids=desk_ids)
    credential = f"panel:{clinic.schema_name}:{panel_id}"
    return sse_response(request, scope=scope, credential=credential, still_allowed=still_allowed)


# --- the staff console -----------------------------------------------------------------------


def _session_still_valid(session_key: str | None, user_pk: int) -> bool:
    """The session this stream opened with is still this user's, unexpired, with the password
    it was signed in with, and the user is active: signing out, an idle or expired session, a
    new password or a deactivated account each end the stream."""
    if session_key is None:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    data = store.load()  # an expired or deleted session loads empty
    if str(data.get(SESSION_KEY)) != str(user_pk):
        return False
    user = User.objects.filter(pk=user_pk, is_active=True).first()
    if user is None:
        return False
    return constant_time_compare(data.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash())


async def console_stream(request: HttpRequest) -> HttpResponseBase:
    """The staff console's stream: every event of the clinic, for its signed-in members."""
    early = stream_preflight(request)
    if early is not None:
        return early
    clinic = clinic_of(request)
    if clinic is None:
        return stream_error(404, "not_found", "The console is on clinic hosts.")
    user = await request.auser()
    if not isinstance(user, User):
        return stream_error(401, "not_authenticated", _("Sign in to follow the queue."))
    if await sync_to_async(clinic_role_of)(user=user, clinic=clinic) is None:
        return stream_error(
            403, "permission_denied", _("Your account has no access to this clinic.")
        )
    session_key = request.session.session_key

    def still_allowed() -> bool:
        return (
            _session_still_valid(session_key, user.pk)
            and clinic_role_of(user=user, clinic=clinic) is not None
        )

    return sse_response(
        request,
        scope=StreamScope(schema_name=clinic.schema_name),
        credential=f"user:{user.pk}",
        still_allowed=still_allowed,
    )


# --- the chain dashboard ---------------------------------------------------------------------


def _managed_schemas(user: User) -> list[str]:
    return list(
        Clinic.objects.filter(chain__in=chain_list_for_user(user=user), is_active=True)
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )


async def dashboard_stream(request: HttpRequest) -> HttpResponseBase:
    """The chain dashboard's stream: which of the manager's clinics just changed."""
    early = stream_preflight(request)
    if early is not None:
        return early
    user = await request.auser()
    if not isinstance(user, User):
        return stream_error(401, "not_authenticated", _("Sign in to follow the dashboard."))
    schemas = await sync_to_async(_managed_schemas)(user)
    if not schemas:
        return stream_error(403, "permission_denied", _("Your account does not manage any chain."))
    session_key = request.session.session_key

    def still_allowed() -> bool:
        # The same clinics: a manager who lost a chain (or gained a clinic) gets a stream of
        # what they manage now when the page opens it again.
        return _session_still_valid(session_key, user.pk) and _managed_schemas(user) == schemas

    def open_messages(release: Callable[[], None]) -> AsyncIterator[str]:
        return clinics_stream(schemas=schemas, still_allowed=still_allowed, release=release)

    return stream_opened(request, credential=f"user:{user.pk}", open_messages=open_messages)


def stream_url(request: HttpRequest, path: str) -> str:
    """Where this page opens its stream: its own origin, or the events port of its host."""
    port = settings.CLINICO_EVENTS_PAGE_PORT
    if not port:
        return path
    host = request.get_host().rsplit(":", 1)[0]
    return f"{request.scheme}://{host}:{port}{path}"
