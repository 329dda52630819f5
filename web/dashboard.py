"""The chain dashboard (the public host): each clinic's figures today, the closed days, and a
form to open a clinic."""

import datetime

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from queueing.clock import service_day_today
from queueing.selectors.figures import day_figures_get
from tenants.models import Clinic
from tenants.selectors import chain_day_summaries, chain_list_for_user, clinic_hostname
from web.access import api_error_texts, is_chain_manager, manager_page
from web.streams import stream_url

SUMMARY_DAYS = 7


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
    date_from = today - datetime.timedelta(days=SUMMARY_DAYS)
    chains: list[dict] = []
    user = request.user
    if not isinstance(user, User):  # manager pages let only signed-in chain managers through
        return chains
    for chain in chain_list_for_user(user=user).order_by("name"):
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


@manager_page
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
            "events": stream_url(request, "/events/dashboard/"),
            "strings": {
                **api_error_texts(),
                "opened": _("Clinic %(name)s opened: %(host)s"),
                "opening": _("Opening the clinic…"),
            },
        },
    }
    return render(request, "pages/dashboard.html", context)


@manager_page
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
    if request.user.is_authenticated and is_chain_manager(request.user):
        return redirect("dashboard")
    return redirect("login")
