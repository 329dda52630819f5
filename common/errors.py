"""The error answers beyond drf-standardized-errors' own: 413, 503, and Django's handlers.

Every error has the API's one body format, `{"type", "errors": [{"code", "detail", "attr"}]}`:
DRF views get it from drf-standardized-errors with the `ExceptionHandler` below; requests that
fail outside a DRF view (in a middleware, in a page, on a URL that matches nothing) get it from
the `handler400`/`handler404`/`handler500` views that both URLconfs name. Pages get short HTML.

A database or broker that cannot be reached answers 503 with `Retry-After`, never 500: clients
(and the load balancer) can tell an outage, worth retrying, from a bug.
"""

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.signals import got_request_exception
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import HttpResponse, JsonResponse
from django.views import defaults
from drf_standardized_errors.handler import ExceptionHandler as StandardizedExceptionHandler
from kombu.exceptions import OperationalError as BrokerOperationalError
from rest_framework import status
from rest_framework.exceptions import APIException

from common.metrics import unavailable_counted

RETRY_AFTER_SECONDS = 5

# SQLSTATEs of a database that is away rather than of a statement that failed: connection
# exceptions (class 08), shutdowns and restarts (57P01-57P03), too many connections (53300).
# psycopg2 reports a connection that could not be made, or that broke, with no SQLSTATE at all.
_OUTAGE_SQLSTATE_CLASSES = ("08",)
_OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is too large."


class ServiceUnavailable(APIException):
    """503: a service the request needs cannot be reached now; `wait` becomes Retry-After."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = "The service is unavailable; try again in a few seconds."

    def __init__(self, detail=None, code=None, wait: int = RETRY_AFTER_SECONDS):
        super().__init__(detail, code)
        self.wait = wait


def request_too_large() -> RequestTooLarge:
    limit_kb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
    return RequestTooLarge(f"The request body is larger than {limit_kb} KB; send less data.")


def database_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        f"The database cannot be reached; try again in {RETRY_AFTER_SECONDS} seconds.",
        code="database_unavailable",
    )


def broker_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        f"The message broker cannot be reached; try again in {RETRY_AFTER_SECONDS} seconds.",
        code="broker_unavailable",
    )


def is_database_outage(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached (not that a statement failed)."""
    if isinstance(error, DatabaseInterfaceError):
        return True  # the connection is closed: it broke, and could not be made again
    if not isinstance(error, DatabaseOperationalError):
        return False
    sqlstate = getattr(error.__cause__, "pgcode", None)
    return (
        sqlstate is None
        or sqlstate.startswith(_OUTAGE_SQLSTATE_CLASSES)
        or sqlstate in _OUTAGE_SQLSTATES
    )


def outage_of(error: BaseException) -> ServiceUnavailable | None:
    """The 503 that `error` calls for when it is an unreachable database or broker, else None."""
    if is_database_outage(error):
        return database_unavailable()
    if isinstance(error, BrokerOperationalError):
        return broker_unavailable()
    return None


class ExceptionHandler(StandardizedExceptionHandler):
    """drf-standardized-errors' handler, with 413 for big bodies and 503 for outages."""

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, RequestDataTooBig):
            return request_too_large()
        converted = outage_of(exc) or super().convert_known_exceptions(exc)
        if isinstance(converted, ServiceUnavailable):  # an outage, or a view's own 503
            unavailable_counted(str(converted.get_codes()))
        return converted


# --- outside DRF: Django's error handlers ------------------------------------------------------


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def error_body(*, kind: str, code: str, detail: str) -> dict:
    """The API's error body with one error that names no field."""
    return {"type": kind, "errors": [{"code": code, "detail": str(detail), "attr": None}]}


def _page(status_code: int, title: str, text: str) -> HttpResponse:
    # Bilingual and template-free: this answer must render with the database down.
    html = (
        f'<!doctype html><html lang="pt-br"><meta charset="utf-8"><title>{title}</title>'
        f"<h1>{title}</h1><p>{text}</p></html>"
    )
    return HttpResponse(html, status=status_code)


def _too_large(request) -> HttpResponse:
    error = request_too_large()
    if _is_api(request):
        body = error_body(kind="client_error", code=error.default_code, detail=str(error.detail))
        return JsonResponse(body, status=error.status_code)
    return _page(
        error.status_code,
        "Envio grande demais / Request too large",
        "O formulário enviou dados demais. / The form sent too much data.",
    )


def _unavailable(request, outage: ServiceUnavailable) -> HttpResponse:
    unavailable_counted(str(outage.get_codes()))
    if _is_api(request):
        codes = outage.get_codes()
        body = error_body(kind="server_error", code=str(codes), detail=str(outage.detail))
        response: HttpResponse = JsonResponse(body, status=outage.status_code)
    else:
        response = _page(
            outage.status_code,
            "Serviço indisponível / Service unavailable",
            f"Tente de novo em alguns segundos. / Try again in {outage.wait} seconds.",
        )
    response["Retry-After"] = str(outage.wait)
    return response


def handler400(request, exception=None):
    """400, or 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django raises it as a 400)."""
    if isinstance(exception, RequestDataTooBig):
        return _too_large(request)
    if _is_api(request):
        body = error_body(kind="client_error", code="bad_request", detail="Bad request.")
        return JsonResponse(body, status=status.HTTP_400_BAD_REQUEST)
    return defaults.bad_request(request, exception)


def handler404(request, exception=None):
    """A URL that matches nothing: the API's 404 body under /api/, the plain page elsewhere."""
    if _is_api(request):
        body = error_body(kind="client_error", code="not_found", detail="Not found.")
        return JsonResponse(body, status=status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)


def handler500(request):
    """An exception no view handled: 503 when it is an outage, else 500."""
    # Django calls this inside its `except` block, so the exception is still at hand.
    error = sys.exc_info()[1]
    outage = outage_of(error) if error is not None else None
    if outage is not None:
        return _unavailable(request, outage)
    if _is_api(request):
        body = error_body(kind="server_error", code="error", detail="Server Error (500)")
        return JsonResponse(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    return defaults.server_error(request)


class OutageMiddleware:
    """Outermost: a request that met an outage answers 503 even with DEBUG on.

    With DEBUG off Django hands an uncaught exception to `handler500`, which answers the outage;
    with DEBUG on (the development stack) it renders its debug page instead, for exceptions
    raised in a middleware (the clinic's host lookup) as well as in a view. The exception is
    remembered when Django signals it, and a 500 that came from an outage becomes the 503.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == status.HTTP_500_INTERNAL_SERVER_ERROR:
            error = getattr(request, "_uncaught_exception", None)
            outage = outage_of(error) if error is not None else None
            if outage is not None:
                return _unavailable(request, outage)
        return response


def _uncaught_exception_remember(sender, request=None, **kwargs) -> None:
    # Sent inside Django's `except` block, so the exception is at hand.
    if request is not None:
        request._uncaught_exception = sys.exc_info()[1]


got_request_exception.connect(_uncaught_exception_remember, dispatch_uid="clinico_outage_answer")
