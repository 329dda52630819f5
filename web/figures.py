"""The clinic's figures page: charts (server-rendered SVG) with their numbers, and a CSV.

Clinic admins open it on the clinic host (`/figures/`); chain managers read it from the
dashboard on the public host (`/dashboard/clinics/<slug>/figures/`). Same numbers as
`GET /api/v1/figures/` and its CSV: one selector backs them all.
"""

import datetime
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.permissions import ADMIN
from queueing.api.figures import FiguresFilterSerializer, figures_csv_response
from queueing.clock import service_day_today
from queueing.selectors.report import FiguresReport, figures_report_get
from tenants.models import Clinic
from tenants.selectors import clinic_get_for_user
from web.access import clinic_here, manager_page, no_access, staff_page
from web.charts import Series, bar_chart, hbar_chart


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def figures_charts(report: FiguresReport) -> dict:
    """The page's charts, each beside the rows its table shows."""
    hours = [f"{row['hour']:02d}h" for row in report.hours]
    services = [row["service"] for row in report.services]
    attendants = [row["attendant"] for row in report.attendants]
    desks = [row["desk"] for row in report.desks]
    return {
        "arrivals_calls": bar_chart(
            labels=hours,
            series=[
                Series(_("Arrivals"), [r["arrivals"] for r in report.hours], "chart-a"),
                Series(_("Calls"), [r["calls"] for r in report.hours], "chart-b"),
            ],
            label=_("Arrivals and calls per hour"),
        ),
        "wait_hours": bar_chart(
            labels=hours,
            series=[
                Series(_("p50"), [_minutes(r["wait_p50_s"]) for r in report.hours], "chart-a"),
                Series(_("p90"), [_minutes(r["wait_p90_s"]) for r in report.hours], "chart-c"),
            ],
            label=_("Wait per hour of arrival (minutes)"),
            unit=" min",
        ),
        "wait_services": hbar_chart(
            labels=services,
            values=[_minutes(r["wait_p90_s"]) for r in report.services],
            label=_("Wait p90 per service (minutes)"),
            unit=" min",
            css="chart-c",
        ),
        "attendant_calls": hbar_chart(
            labels=attendants,
            values=[r["calls"] for r in report.attendants],
            label=_("Calls per attendant"),
            css="chart-b",
        ),
        "desk_calls": hbar_chart(
            labels=desks,
            values=[r["calls"] for r in report.desks],
            label=_("Calls per desk"),
            css="chart-b",
        ),
        "desk_breaks": hbar_chart(
            labels=desks,
            values=[_minutes(r["break_s"]) for r in report.desks],
            label=_("Break time per desk (minutes)"),
            unit=" min",
            css="chart-d",
        ),
    }


def _range(request: HttpRequest) -> tuple[tuple[datetime.date, datetime.date] | None, dict]:
    serializer = FiguresFilterSerializer(data=request.GET)
    if not serializer.is_valid():
        return None, {
            key: " ".join(str(e) for e in errors) for key, errors in serializer.errors.items()
        }
    data = serializer.validated_data
    return (data["date_from"], data["date_to"]), {}


def _page(
    request: HttpRequest, *, clinic: Clinic, csv_url: str, back_url: str, back_label: str
) -> HttpResponse:
    today = service_day_today()
    days, errors = _range(request)
    report = figures_report_get(date_from=days[0], date_to=days[1]) if days else None
    presets = [
        (_("Today"), today, today),
        (_("Last 7 days"), today - datetime.timedelta(days=6), today),
        (_("Last 30 days"), today - datetime.timedelta(days=29), today),
    ]
    context = {
        "clinic": clinic,
        "report": report,
        "errors": errors,
        "date_from": (days[0] if days else request.GET.get("from", "")),
        "date_to": (days[1] if days else request.GET.get("to", "")),
        "presets": [
            (label, "?" + urlencode({"from": start.isoformat(), "to": end.isoformat()}))
            for label, start, end in presets
        ],
        "csv_url": f"{csv_url}?{urlencode({'from': days[0], 'to': days[1]})}" if days else "",
        "charts": figures_charts(report) if report else {},
        "back_url": back_url,
        "back_label": back_label,
        "services": [
            {
                **row,
                "wait_p50_min": _minutes(row["wait_p50_s"]),
                "wait_p90_min": _minutes(row["wait_p90_s"]),
                "service_avg_min": _minutes(row["service_avg_s"]),
                "within_pct": _percent(row["within_target_share"]),
            }
            for row in (report.services if report else [])
        ],
        "hours": [
            {
                **row,
                "wait_p50_min": _minutes(row["wait_p50_s"]),
                "wait_p90_min": _minutes(row["wait_p90_s"]),
            }
            for row in (report.hours if report else [])
        ],
        "attendants": [
            {
                **row,
                "service_avg_min": _minutes(row["service_avg_s"]),
                "service_total_min": _minutes(row["service_total_s"]),
            }
            for row in (report.attendants if report else [])
        ],
        "desks": [
            {
                **row,
                "service_avg_min": _minutes(row["service_avg_s"]),
                "break_min": _minutes(row["break_s"]),
            }
            for row in (report.desks if report else [])
        ],
        "totals": (
            {
                **report.totals,
                "wait_p50_min": _minutes(report.totals["wait_p50_s"]),
                "wait_p90_min": _minutes(report.totals["wait_p90_s"]),
                "service_avg_min": _minutes(report.totals["service_avg_s"]),
                "within_pct": _percent(report.totals["within_target_share"]),
                "break_min": _minutes(report.totals["break_s"]),
            }
            if report
            else None
        ),
    }
    return render(request, "pages/figures.html", context, status=200 if days else 400)


def _csv(request: HttpRequest, *, clinic: Clinic) -> HttpResponse:
    days, errors = _range(request)
    if days is None:
        text = "\n".join(f"{field}: {message}" for field, message in errors.items())
        return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
    report = figures_report_get(date_from=days[0], date_to=days[1])
    return figures_csv_response(report=report, clinic_name=clinic.name, slug=clinic.schema_name)


def _admin_only(request: HttpRequest, role: str) -> HttpResponse | None:
    if role in ADMIN:
        return None
    return no_access(request, _("Only the clinic's administrators see its figures."))


@staff_page
def clinic_figures(request: HttpRequest, role: str) -> HttpResponse:
    """The clinic's figures for a clinic admin, on the clinic host."""
    if refused := _admin_only(request, role):
        return refused
    return _page(
        request,
        clinic=clinic_here(request),
        csv_url=reverse("figures-page-csv"),
        back_url=reverse("console"),
        back_label=_("Back to the console"),
    )


@staff_page
def clinic_figures_csv(request: HttpRequest, role: str) -> HttpResponse:
    if refused := _admin_only(request, role):
        return refused
    return _csv(request, clinic=clinic_here(request))


def _managed_clinic(request: HttpRequest, slug: str) -> Clinic:
    clinic = clinic_get_for_user(user=request.user, slug=slug)  # type: ignore[arg-type]
    if clinic is None:
        raise Http404
    return clinic


@manager_page
def chain_clinic_figures(request: HttpRequest, slug: str) -> HttpResponse:
    """One clinic's figures for its chain's managers (read-only), on the public host."""
    clinic = _managed_clinic(request, slug)
    with clinic:
        return _page(
            request,
            clinic=clinic,
            csv_url=reverse("chain-clinic-figures-csv", args=[slug]),
            back_url=reverse("dashboard") + f"?chain={clinic.chain_id}",
            back_label=_("Back to the dashboard"),
        )


@manager_page
def chain_clinic_figures_csv(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = _managed_clinic(request, slug)
    with clinic:
        return _csv(request, clinic=clinic)
