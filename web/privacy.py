"""The access trail page: clinic admins read who saw or changed patient data, and download it."""

import datetime

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import ClinicRole, User
from accounts.permissions import ADMIN
from audit.models import AccessAction, AccessEntry
from audit.selectors import access_entries_csv, access_entries_list
from common.dates import day_in_range_validate
from patients.models import Patient
from queueing.clock import clinic_timezone
from web.access import clinic_of, no_access, staff_page

PAGE_SIZE = 200

# Who acted, as the trail records it, in the reader's words.
TRAIL_ROLES = {
    **{role.value: role.label for role in ClinicRole},
    "totem": gettext_lazy("Totem"),
    "partner": gettext_lazy("Partner system"),
    "chain_manager": gettext_lazy("Chain manager"),
}


def _field_label(name: str) -> str:
    """A patient field's name as the record form calls it ("birth date"), else the name itself."""
    try:
        field = Patient._meta.get_field(name)
    except FieldDoesNotExist:  # a field since renamed keeps its recorded name
        return name
    return str(getattr(field, "verbose_name", name))


def _trail_row(entry: AccessEntry, action: str) -> dict:
    return {
        "entry": entry,
        "action": action,
        "role": str(TRAIL_ROLES.get(entry.role, entry.role)),
        "fields": ", ".join(_field_label(name) for name in entry.fields),
    }


class TrailFilterForm(forms.Form):
    patient = forms.IntegerField(
        label=gettext_lazy("Patient id"), required=False, min_value=1, max_value=2**63 - 1
    )
    user = forms.CharField(
        label=gettext_lazy("User (id or e-mail)"), required=False, max_length=254
    )
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, validators=[day_in_range_validate]
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, validators=[day_in_range_validate]
    )

    def clean_user(self) -> int | None:
        value = self.cleaned_data["user"].strip()
        if not value:
            return None
        if value.isascii() and value.isdigit():
            return int(value)
        user = User.objects.filter(email__iexact=value).only("pk").first()
        if user is None:
            raise forms.ValidationError(_("No user has this e-mail."))
        return user.pk

    def clean(self) -> dict:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=clinic_timezone())


def _entries(form: TrailFilterForm) -> QuerySet[AccessEntry]:
    """The entries the valid form asks for; the dates are whole days in the clinic's timezone."""
    data = form.cleaned_data
    end = data.get("date_to")
    return access_entries_list(
        patient_id=data.get("patient"),
        user_id=data.get("user"),
        since=_day_start(data["date_from"]) if data.get("date_from") else None,
        until=_day_start(end + datetime.timedelta(days=1)) if end else None,
    )


def _admins_only(role: str, request: HttpRequest) -> HttpResponse | None:
    if role in ADMIN:
        return None
    return no_access(request, _("Only the clinic's administrators see the access trail."))


@staff_page
def access_trail(request: HttpRequest, role: str) -> HttpResponse:
    """The newest entries matching the filters, and a link to all of them as CSV."""
    if refused := _admins_only(role, request):
        return refused
    form = TrailFilterForm(request.GET or None)
    entries: list[AccessEntry] = []
    if form.is_bound and not form.is_valid():
        status = 400
    else:
        if not form.is_bound:
            form = TrailFilterForm({})
            form.is_valid()
        entries = list(_entries(form).reverse()[:PAGE_SIZE])
        status = 200
    actions: dict[str, str] = {
        AccessAction.SEARCH: _("search hit"),
        AccessAction.VIEW: _("record viewed"),
        AccessAction.UPDATE: _("record corrected"),
        AccessAction.EXPORT: _("data exported"),
        AccessAction.ANONYMISE: _("record anonymised"),
        AccessAction.CHECKIN: _("checked in"),
        AccessAction.BOOKING: _("appointment booked"),
    }
    context = {
        "clinic": clinic_of(request),
        "form": form,
        "rows": [_trail_row(entry, actions.get(entry.action, entry.action)) for entry in entries],
        "page_size": PAGE_SIZE,
        "query": request.GET.urlencode(),
    }
    return render(request, "pages/access_trail.html", context, status=status)


@staff_page
def access_trail_csv(request: HttpRequest, role: str) -> HttpResponseBase:
    """Every entry matching the page's filters, as CSV (the page shows only the newest)."""
    if refused := _admins_only(role, request):
        return refused
    form = TrailFilterForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "pages/access_trail.html",
            {"clinic": clinic_of(request), "form": form, "rows": [], "page_size": PAGE_SIZE},
            status=400,
        )
    response = StreamingHttpResponse(
        access_entries_csv(entries=_entries(form), zone=clinic_timezone()),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="access-trail.csv"'
    return response
