"""The clinic admin's pages (a clinic host's /manage/…): services, desks, staff, waiting-room
panels and the clinic's settings.

Every change goes through the same service function as its API operation (queueing.services,
accounts.services, tenants.services), so the pages and partners share one path. Clinic admins
only: other staff get the no-access page.
"""

import functools

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import ClinicRole
from accounts.permissions import ADMIN
from accounts.selectors import staff_list, staff_membership_get
from accounts.services import (
    clinic_membership_deactivate,
    clinic_membership_role_change,
    staff_invitation_send,
    staff_invite,
)
from common.net import request_origin
from queueing.models import Desk, Panel, Service
from queueing.panel_access import panel_link
from queueing.selectors.queue import desk_list, panel_get, panel_list, service_list
from queueing.services.panels import panel_create, panel_delete, panel_key_rotate, panel_update
from queueing.services.setup import desk_create, desk_update, service_create, service_update
from tenants.models import Clinic
from tenants.services import clinic_update_settings
from tenants.timezones import timezone_choices
from web.access import clinic_here, no_access, staff_page

SECTIONS = [
    ("services", gettext_lazy("Services")),
    ("desks", gettext_lazy("Desks")),
    ("staff", gettext_lazy("Staff")),
    ("panels", gettext_lazy("Panels")),
    ("settings", gettext_lazy("Settings")),
]


def admin_page(view):
    """A clinic page for its clinic admins; other staff get the no-access page (403)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, role: str, **kwargs):
        if role not in ADMIN:
            return no_access(request, _("Only the clinic's administrators manage the clinic."))
        return view(request, *args, **kwargs)

    return never_cache(staff_page(wrapper))


def _render(request: HttpRequest, section: str, template: str, context: dict, status: int = 200):
    context = {
        "clinic": clinic_here(request),
        "section": section,
        "sections": SECTIONS,
        **context,
    }
    return render(request, f"pages/admin/{template}", context, status=status)


def _errors_onto(form: forms.Form, error: ValidationError, names: dict[str, str] | None = None):
    """A service's errors onto the form: field errors by name, the rest on the form."""
    names = names or {}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, errors in error.message_dict.items():
        field = names.get(name, name)
        form.add_error(field if field in form.fields else None, errors)


def _saved(form: forms.Form, write, names: dict[str, str] | None = None, **kwargs):
    """`write(**kwargs)`, or None with its errors on `form`."""
    try:
        return write(**kwargs)
    except ValidationError as error:
        _errors_onto(form, error, names)
        return None


def _choices_field(label, queryset, help_text=""):
    return forms.ModelMultipleChoiceField(
        label=label,
        queryset=queryset,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=help_text,
    )


# --- services ------------------------------------------------------------------------------------


class ServiceForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=80)
    # The metaclass moves fields off the class, so this does not shadow BaseForm.prefix at run
    # time; the stubs see a class attribute.
    prefix = forms.CharField(  # type: ignore[assignment]
        label=gettext_lazy("Ticket prefix"),
        max_length=3,
        help_text=gettext_lazy("1 to 3 letters; tickets read R001, TRI012."),
    )
    target_wait_minutes = forms.IntegerField(
        label=gettext_lazy("Target wait (minutes)"), min_value=1, max_value=1440, initial=30
    )
    display_order = forms.IntegerField(
        label=gettext_lazy("Display order"),
        min_value=0,
        max_value=999,
        initial=0,
        help_text=gettext_lazy("Lower numbers come first in lists."),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def clean_prefix(self) -> str:
        return self.cleaned_data["prefix"].strip().upper()


def _service_initial(service: Service) -> dict:
    return {
        "name": service.name,
        "prefix": service.prefix,
        "target_wait_minutes": service.target_wait_minutes,
        "display_order": service.display_order,
        "is_active": service.is_active,
    }


@require_http_methods(["GET", "POST"])
@admin_page
def services(request: HttpRequest) -> HttpResponse:
    """The clinic's services, and a form for a new one."""
    form = ServiceForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(form, service_create, **form.cleaned_data)
    ):
        messages.success(request, _("Service created."))
        return redirect("manage-services")
    context = {"form": form, "services": service_list()}
    return _render(request, "services", "services.html", context, 400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@admin_page
def service_edit(request: HttpRequest, service_id: int) -> HttpResponse:
    service = Service.objects.filter(pk=service_id).first()
    if service is None:
        raise Http404
    form = ServiceForm(request.POST or None, initial=_service_initial(service))
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(form, service_update, service=service, **form.cleaned_data)
    ):
        messages.success(request, _("Service saved."))
        return redirect("manage-services")
    context = {"form": form, "service": service}
    return _render(request, "services", "service_edit.html", context, 400 if form.errors else 200)


# --- desks ---------------------------------------------------------------------------------------


class DeskForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=80)
    services = _choices_field(gettext_lazy("Services it calls"), Service.objects.none())
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = service_list()  # type: ignore[attr-defined]

    def clean_services(self):
        chosen = self.cleaned_data["services"]
        if not chosen:
            raise forms.ValidationError(_("Choose at least one service."))
        return [service.pk for service in chosen]


@require_http_methods(["GET", "POST"])
@admin_page
def desks(request: HttpRequest) -> HttpResponse:
    """The clinic's desks and rooms, and a form for a new one."""
    form = DeskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _saved(
            form,
            desk_create,
            name=data["name"],
            service_ids=data["services"],
            is_active=data["is_active"],
        ):
            messages.success(request, _("Desk created."))
            return redirect("manage-desks")
    context = {"form": form, "desks": desk_list()}
    return _render(request, "desks", "desks.html", context, 400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@admin_page
def desk_edit(request: HttpRequest, desk_id: int) -> HttpResponse:
    desk = desk_list().filter(pk=desk_id).first()
    if desk is None:
        raise Http404
    initial = {
        "name": desk.name,
        "services": [s.pk for s in desk.services.all()],
        "is_active": desk.is_active,
    }
    form = DeskForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _saved(
            form,
            desk_update,
            desk=desk,
            name=data["name"],
            service_ids=data["services"],
            is_active=data["is_active"],
        ):
            messages.success(request, _("Desk saved."))
            return redirect("manage-desks")
    context = {"form": form, "desk": desk}
    return _render(request, "desks", "desk_edit.html", context, 400 if form.errors else 200)


# --- staff ---------------------------------------------------------------------------------------


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail"), max_length=254)
    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=150, required=False)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=ClinicRole.choices)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=ClinicRole.choices)


def _staff_page(request: HttpRequest, form: InviteForm, status: int = 200) -> HttpResponse:
    clinic = clinic_here(request)
    members = list(staff_list(clinic=clinic))
    context = {"form": form, "members": members, "roles": ClinicRole.choices}
    return _render(request, "staff", "staff.html", context, status)


@require_http_methods(["GET", "POST"])
@admin_page
def staff(request: HttpRequest) -> HttpResponse:
    """The clinic's staff, and the invitation form (an e-mail with a link to set a password)."""
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        membership = _saved(
            form,
            staff_invite,
            clinic=clinic_here(request),
            origin=request_origin(request),
            **form.cleaned_data,
        )
        if membership:
            messages.success(
                request,
                _("Invitation sent to %(email)s.") % {"email": membership.user.email},
            )
            return redirect("manage-staff")
    return _staff_page(request, form, 400 if form.errors else 200)


def _member_or_404(request: HttpRequest, membership_id: int):
    membership = staff_membership_get(clinic=clinic_here(request), membership_id=membership_id)
    if membership is None:
        raise Http404
    return membership


def _member_action(request: HttpRequest, write, done: str, **kwargs) -> HttpResponse:
    try:
        write(**kwargs)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("manage-staff")


@require_POST
@admin_page
def staff_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _member_or_404(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("manage-staff")
    return _member_action(
        request,
        clinic_membership_role_change,
        _("Role of %(email)s changed.") % {"email": membership.user.email},
        membership=membership,
        role=form.cleaned_data["role"],
    )


@require_POST
@admin_page
def staff_resend(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _member_or_404(request, membership_id)
    return _member_action(
        request,
        staff_invitation_send,
        _("Invitation sent again to %(email)s.") % {"email": membership.user.email},
        membership=membership,
        origin=request_origin(request),
    )


@require_POST
@admin_page
def staff_deactivate(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _member_or_404(request, membership_id)
    return _member_action(
        request,
        clinic_membership_deactivate,
        _("%(email)s no longer has access to this clinic.") % {"email": membership.user.email},
        membership=membership,
    )


# --- panels --------------------------------------------------------------------------------------


class PanelForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=80)
    desks = _choices_field(
        gettext_lazy("Desks it shows"),
        Desk.objects.none(),
        gettext_lazy("With no desk and no service chosen, the panel shows every desk."),
    )
    services = _choices_field(
        gettext_lazy("Also the desks serving these services"), Service.objects.none()
    )
    voice_enabled = forms.BooleanField(label=gettext_lazy("Say each call aloud"), required=False)
    voice_rate = forms.DecimalField(
        label=gettext_lazy("Speech rate"),
        min_value=0.5,
        max_value=2,
        decimal_places=2,
        initial=1,
        help_text=gettext_lazy("1 is normal speed; from 0.5 to 2."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["desks"].queryset = Desk.objects.filter(is_active=True).order_by("name")  # type: ignore[attr-defined]
        self.fields["services"].queryset = service_list()  # type: ignore[attr-defined]

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["desk_ids"] = [desk.pk for desk in data.pop("desks")]
        data["service_ids"] = [service.pk for service in data.pop("services")]
        return data


def _panels_page(
    request: HttpRequest, form: PanelForm, *, new_link: tuple[Panel, str] | None = None
) -> HttpResponse:
    context = {"form": form, "panels": panel_list(), "new_link": new_link}
    page = _render(request, "panels", "panels.html", context, 400 if form.errors else 200)
    page["Cache-Control"] = "no-store"  # a new key's link is on it
    return page


@require_http_methods(["GET", "POST"])
@admin_page
def panels(request: HttpRequest) -> HttpResponse:
    """The clinic's waiting-room panels; a new one's link is shown once, with its key."""
    form = PanelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        names = {"desk_ids": "desks", "service_ids": "services"}
        created = _saved(form, panel_create, names, **form.service_kwargs())
        if created:
            panel, key = created
            messages.success(request, _("Panel created. Open its link on the TV."))
            new_link = (panel, panel_link(request=request, key=key))
            return _panels_page(request, PanelForm(), new_link=new_link)
    return _panels_page(request, form)


@require_http_methods(["GET", "POST"])
@admin_page
def panel_edit(request: HttpRequest, panel_id: int) -> HttpResponse:
    panel = panel_get(panel_id=panel_id)
    if panel is None:
        raise Http404
    initial = {
        "name": panel.name,
        "desks": [d.pk for d in panel.desks.all()],
        "services": [s.pk for s in panel.services.all()],
        "voice_enabled": panel.voice_enabled,
        "voice_rate": panel.voice_rate,
    }
    form = PanelForm(request.POST or None, initial=initial)
    names = {"desk_ids": "desks", "service_ids": "services"}
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(form, panel_update, names, panel=panel, **form.service_kwargs())
    ):
        messages.success(request, _("Panel saved."))
        return redirect("manage-panels")
    context = {"form": form, "panel": panel}
    return _render(request, "panels", "panel_edit.html", context, 400 if form.errors else 200)


@require_POST
@admin_page
def panel_rotate(request: HttpRequest, panel_id: int) -> HttpResponse:
    """A new key: the TV showing this panel is signed out until the new link is opened on it."""
    panel = panel_get(panel_id=panel_id)
    if panel is None:
        raise Http404
    panel, key = panel_key_rotate(panel=panel)
    messages.success(request, _("New key made. The TV was signed out: open this link on it."))
    return _panels_page(
        request, PanelForm(), new_link=(panel, panel_link(request=request, key=key))
    )


@require_POST
@admin_page
def panel_remove(request: HttpRequest, panel_id: int) -> HttpResponse:
    panel = panel_get(panel_id=panel_id)
    if panel is None:
        raise Http404
    try:
        panel_delete(panel=panel)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Panel deleted."))
    return redirect("manage-panels")


# --- settings ------------------------------------------------------------------------------------


class SettingsForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Clinic name"), max_length=120)
    timezone = forms.ChoiceField(label=gettext_lazy("Timezone"), choices=())
    reset_time = forms.TimeField(
        label=gettext_lazy("Daily reset time"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=gettext_lazy("The queue starts afresh at this local time each day."),
    )

    def __init__(self, *args, current_timezone: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices(  # type: ignore[attr-defined]
            current=current_timezone
        )


@require_http_methods(["GET", "POST"])
@admin_page
def settings(request: HttpRequest) -> HttpResponse:
    """The clinic's name, timezone and reset time; the daily reset's schedule follows."""
    clinic = Clinic.objects.get(pk=clinic_here(request).pk)
    initial = {"name": clinic.name, "timezone": clinic.timezone, "reset_time": clinic.reset_time}
    form = SettingsForm(request.POST or None, initial=initial, current_timezone=clinic.timezone)
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(form, clinic_update_settings, clinic=clinic, **form.cleaned_data)
    ):
        messages.success(request, _("Settings saved. The daily reset follows the new time."))
        return redirect("manage-settings")
    context = {"form": form}
    return _render(request, "settings", "settings.html", context, 400 if form.errors else 200)
