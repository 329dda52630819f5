"""Web pages: sign-in, the staff console and the TV panel (clinic host), the chain dashboard.

Server-rendered templates with a little plain JavaScript (static/clinico/) that calls the JSON
API with the session cookie and the CSRF header. Portuguese is the language unless the visitor
chose English with the switcher: reception PCs often run an English browser, and staff expect
the product in Portuguese.
"""

import functools

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.permissions import ADMIN, RECEPTION, clinic_role_of
from accounts.sign_in import SignInLimitsMixin, sign_in_page_limited
from queueing.clock import service_day_today
from queueing.models import PriorityReason, TicketStatus
from queueing.panel_access import (
    panel_cookie_set,
    panel_cookie_state,
    panel_key_current,
    panel_key_matches,
    panel_link,
)
from queueing.selectors.figures import day_figures_get
from queueing.selectors.queue import desk_list, service_list
from queueing.services.checkins import DECLARABLE_PRIORITY_REASONS
from tenants.models import Clinic
from tenants.selectors import chain_day_summaries, chain_list_for_user, clinic_hostname

SUMMARY_DAYS = 7


def page_language(view):
    """Activate pt-BR, or the language the visitor picked with the switcher (a cookie)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        codes = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in codes else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        return view(request, *args, **kwargs)

    return wrapper


def _clinic(request: HttpRequest) -> Clinic | None:
    return getattr(request, "tenant", None)


def _is_chain_manager(user) -> bool:
    return isinstance(user, User) and chain_list_for_user(user=user).exists()


# --- sign-in ---------------------------------------------------------------------------------


class SignInForm(SignInLimitsMixin, AuthenticationForm):
    """E-mail and password; on a clinic host the user must be active staff of that clinic.

    A right password without access here gets the wrong password's answer, and counts as a
    failure: the page must not tell a guesser that a password is right.
    """

    username = forms.EmailField(
        label=gettext_lazy("E-mail"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    error_messages = {
        "invalid_login": gettext_lazy(
            "E-mail or password is wrong, or this account has no access here. Check both and "
            "try again (the password is case-sensitive)."
        ),
        "inactive": gettext_lazy("This account is disabled. Ask your clinic's administrator."),
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        clinic = _clinic(self.request)
        allowed = (
            clinic_role_of(user=user, clinic=clinic) is not None
            if clinic is not None
            else _is_chain_manager(user)
        )
        if not allowed:
            raise self.get_invalid_login_error()


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "pages/login.html"

    def get_default_redirect_url(self) -> str:
        return reverse("console") if _clinic(self.request) else reverse("dashboard")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        clinic = _clinic(self.request)
        context["place"] = clinic.name if clinic else _("Chain dashboard")
        if clinic is None:  # said to everyone: refusals do not tell who has access where
            context["hint"] = _("Clinic staff sign in at their clinic's address.")
        return context


sign_in = page_language(sign_in_page_limited(SignInView.as_view()))


def sign_out(request: HttpRequest) -> HttpResponse:
    """Log out (POST only, so a link cannot sign someone out) and go back to the sign-in page."""
    if request.method != "POST":
        return redirect("login")
    return auth_views.LogoutView.as_view(next_page="login")(request)


def _login_redirect(request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse('login')}?next={request.get_full_path()}")


# --- clinic host: console and panel ------------------------------------------------------------


def _no_access(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "pages/no_access.html", {"message": message}, status=403)


def _js_strings() -> dict:
    """Texts the console's script shows, translated here so the script holds no language."""
    return {
        "statuses": {value: str(label) for value, label in TicketStatus.choices},
        "tiers": {
            "0": _("80+"),
            "1": _("Priority"),
            "2": _("Blood donor"),
            "3": _("Normal"),
        },
        "priorityReasons": {value: str(label) for value, label in PriorityReason.choices},
        "cpfLength": _("A CPF has 11 digits."),
        "cancelLabel": _("Cancel"),
        "checkingCpf": _("Looking up the CPF…"),
        "newPatient": _("New patient: fill in the registration below and press Check in."),
        "knownPatient": _("Patient found: %(name)s. Checking in…"),
        "pending": _("Check-in received; issuing the ticket…"),
        "queued": _("Ticket issued"),
        "failed": _("The check-in failed: %(reason)s"),
        "stillPending": _(
            "The ticket is taking longer than usual. It will appear in the queue as soon as it "
            "is issued; there is no need to check in again."
        ),
        "position": _("Position"),
        "estimatedWait": _("Estimated wait"),
        "minutes": _("%(n)s min"),
        "noEstimate": _("no desk open"),
        "service": _("Service"),
        "emptyQueue": _("No one is waiting."),
        "emptyQueueForDesk": _("No one is waiting for this desk's services."),
        "noDesk": _("Choose your desk to call patients."),
        "deskIdle": _("No patient at this desk. Press “Call next”."),
        "waited": _("waited %(n)s min"),
        "calledAt": _("called at %(time)s"),
        "recalls": _("recalled %(n)s×"),
        "waitingCount": _("%(n)s waiting"),
        "cancelReason": _("Why is the ticket cancelled?"),
        "cancelled": _("Ticket %(code)s cancelled."),
        "transferred": _("Ticket %(code)s transferred: new ticket %(new)s in %(service)s."),
        "called": _("Ticket %(code)s called to %(desk)s."),
        "networkError": _("No connection to the server. Check the network and try again."),
        "sessionExpired": _("Your session ended. Sign in again."),
        "genericError": _("Something went wrong (%(status)s). Try again."),
        "updatedAt": _("Updated at %(time)s"),
        "copied": _("Link copied."),
        "rotateConfirm": _(
            "Make a new panel key? The TV stops showing calls until the new link is opened on it."
        ),
        "panelKeyRotated": _("New panel key made. Open the new link on the TV."),
    }


def _staff_page(view):
    """A clinic page for signed-in staff of this clinic; the view receives the role."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return _login_redirect(request)
        role = clinic_role_of(user=request.user, clinic=_clinic(request))
        if role is None:
            return _no_access(
                request,
                _("Your account has no access to %(clinic)s.") % {"clinic": _clinic(request).name},
            )
        return view(request, *args, role=role, **kwargs)

    return page_language(wrapper)


@_staff_page
def console(request: HttpRequest, role: str) -> HttpResponse:
    """The receptionist's and the desks' screen: check-in by CPF, the live queue, the desk."""
    clinic = _clinic(request)
    services = [
        {"id": s.pk, "name": s.name, "prefix": s.prefix}
        for s in service_list().filter(is_active=True)
    ]
    desks = [
        {"id": d.pk, "name": d.name, "services": sorted(s.pk for s in d.services.all())}
        for d in desk_list().filter(is_active=True)
    ]
    panel_url = None
    if role in ADMIN:
        panel_url = panel_link(request=request, key=panel_key_current(clinic=clinic))
    context = {
        "clinic": clinic,
        "role": role,
        "can_check_in": role in RECEPTION,
        "can_cancel": role in RECEPTION,
        "panel_url": panel_url,
        "priority_reasons": [
            (value, label)
            for value, label in PriorityReason.choices
            if value in DECLARABLE_PRIORITY_REASONS
        ],
        "console_config": {
            "services": services,
            "desks": desks,
            "canCancel": role in RECEPTION,
            "strings": _js_strings(),
            "language": translation.get_language(),
        },
    }
    return render(request, "pages/console.html", context)


def _panel_refused(request: HttpRequest, reason: str, status: int = 403) -> HttpResponse:
    """The panel's sign-in page: why the panel is not shown, and a field for the key.

    Its script posts the key of a `#key=` link; the key is never part of a URL sent here.
    """
    context = {"clinic": _clinic(request), "reason": reason}
    return render(request, "pages/panel_error.html", context, status=status)


@require_http_methods(["GET", "POST"])
@page_language
def panel(request: HttpRequest) -> HttpResponse:
    """The waiting-room TV: no login; the panel key, posted once, becomes a panel cookie."""
    clinic = _clinic(request)
    if "key" in request.GET:
        return _panel_refused(request, "key_in_url", status=400)
    if request.method == "POST":
        key = request.POST.get("key", "").strip()
        if not panel_key_matches(clinic=clinic, key=key):
            return _panel_refused(request, "invalid" if key else "missing")
        answer = HttpResponseRedirect(reverse("panel"), status=303)
        panel_cookie_set(answer, request=request, clinic=clinic)
        return answer
    cookie = panel_cookie_state(request=request, clinic=clinic)
    if cookie != "valid":
        return _panel_refused(request, "changed" if cookie == "stale" else "missing")
    config = {
        "strings": {
            "offline": _("No connection. Trying again…"),
            "keyRefused": _(
                "This panel key is no longer valid. Open the new link from the console."
            ),
            "waiting": _("Please wait to be called"),
        },
    }
    answer = render(request, "pages/panel.html", {"clinic": clinic, "panel_config": config})
    panel_cookie_set(answer, request=request, clinic=clinic)  # a TV that runs for years
    return answer


# --- public host: chain dashboard --------------------------------------------------------------


def _clinic_live_figures(clinic: Clinic) -> dict:
    """Today's figures of one clinic, read in its schema."""
    with clinic:
        today = service_day_today()
        figures = day_figures_get(service_day=today).clinic
    wait_avg_s = figures["wait_avg_s"]
    return {
        "service_day": today.isoformat(),
        "waiting": figures["waiting"],
        "at_desks": figures["called_now"] + figures["in_service"],
        "served": figures["served"],
        "no_shows": figures["no_shows"],
        "wait_avg_min": round(wait_avg_s / 60, 1) if wait_avg_s is not None else None,
    }


def _dashboard_chains(request: HttpRequest, *, with_summaries: bool = True) -> list[dict]:
    today = timezone.localdate()
    date_from = today - timezone.timedelta(days=SUMMARY_DAYS)
    chains = []
    for chain in chain_list_for_user(user=request.user).order_by("name"):
        clinics = []
        for clinic in chain.clinics.order_by("name"):
            entry = {
                "slug": clinic.schema_name,
                "name": clinic.name,
                "timezone": clinic.timezone,
                "is_active": clinic.is_active,
                "url": f"{request.scheme}://{clinic_hostname(clinic=clinic)}{_port(request)}/",
                "live": _clinic_live_figures(clinic) if clinic.is_active else None,
            }
            clinics.append(entry)
        if not with_summaries:
            chains.append({"id": chain.pk, "name": chain.name, "clinics": clinics})
            continue
        summaries = list(chain_day_summaries(chain=chain, date_from=date_from, date_to=today))
        days = sorted({s.service_day for s in summaries}, reverse=True)
        by_clinic = {(s.clinic_id, s.service_day): s for s in summaries}
        chains.append(
            {
                "id": chain.pk,
                "name": chain.name,
                "clinics": clinics,
                "days": days,
                "summary_rows": [
                    {
                        "name": clinic.name,
                        "cells": [by_clinic.get((clinic.pk, day)) for day in days],
                    }
                    for clinic in chain.clinics.order_by("name")
                ],
            }
        )
    return chains


def _port(request: HttpRequest) -> str:
    host = request.get_host()
    return f":{host.rsplit(':', 1)[1]}" if ":" in host else ""


def _manager_page(view):
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return _login_redirect(request)
        if not _is_chain_manager(request.user):
            return _no_access(request, _("Your account does not manage any chain."))
        return view(request, *args, **kwargs)

    return page_language(wrapper)


@_manager_page
def dashboard(request: HttpRequest) -> HttpResponse:
    """Every clinic of the manager's chains: live figures, the last days, open a clinic."""
    timezones = ["America/Sao_Paulo", "America/Manaus", "America/Noronha", "America/Rio_Branco"]
    timezones += [
        "America/Belem",
        "America/Fortaleza",
        "America/Recife",
        "America/Bahia",
        "America/Cuiaba",
        "America/Porto_Velho",
        "America/Boa_Vista",
    ]
    context = {
        "chains": _dashboard_chains(request),
        "timezones": timezones,
        "dashboard_config": {
            "strings": {
                "opened": _("Clinic %(name)s opened: %(host)s"),
                "networkError": _("No connection to the server. Check the network and try again."),
                "genericError": _("Something went wrong (%(status)s). Try again."),
                "opening": _("Opening the clinic…"),
            }
        },
    }
    return render(request, "pages/dashboard.html", context)


@_manager_page
def dashboard_live(request: HttpRequest) -> JsonResponse:
    """Live figures of every clinic on the dashboard, for its periodic refresh."""
    figures = {
        clinic["slug"]: clinic["live"]
        for chain in _dashboard_chains(request, with_summaries=False)
        for clinic in chain["clinics"]
    }
    answer = JsonResponse({"clinics": figures})
    answer["Cache-Control"] = "no-store"
    return answer


def home(request: HttpRequest) -> HttpResponse:
    """The public site's root leads managers to their dashboard."""
    if request.user.is_authenticated and _is_chain_manager(request.user):
        return redirect("dashboard")
    return redirect("login")
