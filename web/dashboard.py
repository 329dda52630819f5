"""The chain dashboard (the public host): a chain's clinics a page at a time with their figures
today, the chain's totals and charts, the closed days, and a form to open a clinic.

Everything is read from the public schema (tenants.live_figures keeps each clinic's today
there), so a load or a refresh costs the same few queries at 5 clinics or 10,000."""

import datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from tenants.models import Chain, Clinic
from tenants.selectors import (
    CHAIN_PAGE_SIZE,
    chain_clinics_page,
    chain_day_summaries,
    chain_list_for_user,
    chain_live_totals,
    clinic_hostname,
    clinic_live_values,
)
from tenants.timezones import timezone_choices, timezone_label
from web.access import api_error_texts, is_chain_manager, manager_page
from web.charts import Series, bar_chart, hbar_chart
from web.streams import stream_url

SUMMARY_DAYS = 7


def _live(clinic: Clinic) -> dict | None:
    """Today's figures of one clinic as the page shows them, from its public row."""
    values = clinic_live_values(clinic=clinic)
    if values is None:
        return None
    wait_avg_s = values["wait_avg_s"]
    wait_p90_s = values["wait_p90_s"]
    return {
        "service_day": values["service_day"].isoformat(),
        "waiting": values["waiting"],
        "at_desks": values["at_desks"],
        "served": values["served"],
        "no_shows": values["no_shows"],
        "wait_avg_min": round(wait_avg_s / 60, 1) if wait_avg_s is not None else None,
        "wait_p90_min": round(wait_p90_s / 60, 1) if wait_p90_s is not None else None,
        "desks_on_break": values["desks_on_break"],
        "break_min": round(values["break_s"] / 60, 1),
    }


def _int_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def _chosen_chain(request: HttpRequest) -> tuple[list[Chain], Chain | None]:
    """The manager's chains and the one the page shows (`?chain=`, else the first by name)."""
    user = request.user
    if not isinstance(user, User):  # manager pages let only signed-in chain managers through
        return [], None
    chains = list(chain_list_for_user(user=user).order_by("name"))
    wanted = _int_param(request, "chain")
    if wanted is None:
        return chains, chains[0] if chains else None
    chosen = next((chain for chain in chains if chain.pk == wanted), None)
    if chosen is None:
        raise Http404("No such chain.")
    return chains, chosen


def _dashboard_chain(request: HttpRequest, chain: Chain, *, with_summaries: bool = True) -> dict:
    """One page of the chain's clinics with their figures today, the chain's totals and charts.

    Read from the public schema only (ClinicLiveFigures, ClinicDaySummary): a few queries
    whatever the chain's size, never one per clinic.
    """
    page = chain_clinics_page(
        chain=chain, page=_int_param(request, "page") or 1, page_size=CHAIN_PAGE_SIZE
    )
    port = _port(request)
    clinics: list[dict[str, Any]] = [
        {
            "slug": clinic.schema_name,
            "name": clinic.name,
            "timezone": clinic.timezone,
            "timezone_label": timezone_label(clinic.timezone),
            "is_active": clinic.is_active,
            "url": f"{request.scheme}://{clinic_hostname(clinic=clinic)}{port}/",
            "figures_url": reverse("chain-clinic-figures", args=[clinic.schema_name]),
            "live": _live(clinic),
        }
        for clinic in page.clinics
    ]
    totals = chain_live_totals(chain=chain)
    result = {
        "id": chain.pk,
        "name": chain.name,
        "clinics": clinics,
        "totals": {
            **totals,
            "wait_avg_min": (
                round(totals["wait_avg_s"] / 60, 1) if totals["wait_avg_s"] is not None else None
            ),
            "break_min": round(totals["break_s"] / 60, 1),
        },
        "page": page.page,
        "pages": page.pages,
        "count": page.count,
    }
    if not with_summaries:
        return result
    today = timezone.localdate()
    # Only what the table shows: no per-service JSON to decode for a page of clinics.
    summaries = (
        chain_day_summaries(
            chain=chain, date_from=today - datetime.timedelta(days=SUMMARY_DAYS), date_to=today
        )
        .filter(clinic__in=[clinic.pk for clinic in page.clinics])
        .values(
            "clinic_id", "service_day", "served", "tickets", "wait_avg_s", "appointment_no_shows"
        )
    )
    by_clinic = {(s["clinic_id"], s["service_day"]): s for s in summaries}
    days = sorted({day for _clinic, day in by_clinic}, reverse=True)
    named = [c for c in clinics if c["live"]]
    result |= {
        "days": days,
        "summary_rows": [
            {"name": clinic.name, "cells": [by_clinic.get((clinic.pk, day)) for day in days]}
            for clinic in page.clinics
        ],
        "charts": {
            "hours": bar_chart(
                labels=[f"{h['hour']:02d}h" for h in totals["hours"]],
                series=[
                    Series(_("Arrivals"), [h["arrivals"] for h in totals["hours"]], "chart-a"),
                    Series(_("Calls"), [h["calls"] for h in totals["hours"]], "chart-b"),
                ],
                label=_("Arrivals and calls per hour, all clinics"),
            ),
            "waiting": hbar_chart(
                labels=[c["name"] for c in named],
                values=[c["live"]["waiting"] for c in named],
                label=_("Waiting now per clinic"),
                css="chart-a",
            ),
            "wait": hbar_chart(
                labels=[c["name"] for c in named],
                values=[c["live"]["wait_p90_min"] for c in named],
                label=_("Wait p90 today per clinic (minutes)"),
                unit=" min",
                css="chart-c",
            ),
        },
        "hours": totals["hours"],
    }
    return result


def _port(request: HttpRequest) -> str:
    host = request.get_host()
    return f":{host.rsplit(':', 1)[1]}" if ":" in host else ""


@manager_page
def dashboard(request: HttpRequest) -> HttpResponse:
    """Every clinic of the manager's chains: live figures, the last days, open a clinic."""
    chains, chain = _chosen_chain(request)
    context = {
        "chains": chains,
        "chain": _dashboard_chain(request, chain) if chain is not None else None,
        "timezones": timezone_choices(),
        "dashboard_config": {
            "chain": chain.pk if chain is not None else None,
            "page": _int_param(request, "page") or 1,
            "events": stream_url(request, "/events/dashboard/"),
            "strings": {
                **api_error_texts(),
                "opened": _("%(name)s is open at %(link)s."),
                "opening": _("Opening the clinic…"),
            },
        },
    }
    return render(request, "pages/dashboard.html", context)


@manager_page
def dashboard_live(request: HttpRequest) -> JsonResponse:
    """The figures of the page's clinics and the chain's totals, for the periodic refresh."""
    _chains, chain = _chosen_chain(request)
    clinics: dict = {}
    totals: dict = {}
    if chain is not None:
        shown = _dashboard_chain(request, chain, with_summaries=False)
        clinics = {clinic["slug"]: clinic["live"] for clinic in shown["clinics"]}
        totals = {k: v for k, v in shown["totals"].items() if k != "hours"}
    answer = JsonResponse({"clinics": clinics, "totals": totals})
    answer["Cache-Control"] = "no-store"
    return answer


def home(request: HttpRequest) -> HttpResponse:
    """The public site's root leads managers to their dashboard."""
    if request.user.is_authenticated and is_chain_manager(request.user):
        return redirect("dashboard")
    return redirect("login")
