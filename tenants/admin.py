"""Platform operators' admin: chains, clinics and each clinic's daily reset task."""

import zoneinfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django_celery_beat.models import PeriodicTask

from tenants.models import Chain, Clinic, ClinicDaySummary
from tenants.schedules import reset_periodic_task_name
from tenants.services import clinic_update_settings


@admin.register(Chain)
class ChainAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]


class ClinicForm(forms.ModelForm):
    class Meta:
        model = Clinic
        fields = ["name", "timezone", "reset_time"]

    def clean_timezone(self) -> str:
        value = self.cleaned_data["timezone"]
        if value not in zoneinfo.available_timezones():
            raise forms.ValidationError(f'"{value}" is not an IANA timezone (America/Sao_Paulo).')
        return value


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    form = ClinicForm
    list_display = ["name", "schema_name", "chain", "timezone", "reset_time", "is_active", "reset"]
    list_filter = ["chain", "timezone", "is_active"]
    search_fields = ["name", "schema_name"]
    readonly_fields = ["schema_name", "chain", "is_active", "reset", "created_at"]
    fields = ["name", "schema_name", "chain", "timezone", "reset_time", "is_active", "reset"]
    actions = ["deactivate", "activate"]

    def has_add_permission(self, request) -> bool:
        return False  # clinics are opened by clinic_provision (API or `create_clinic`)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="daily reset")
    def reset(self, clinic: Clinic) -> str:
        task = PeriodicTask.objects.filter(
            name=reset_periodic_task_name(schema_name=clinic.schema_name)
        ).first()
        if task is None:
            return "missing"
        url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
        state = "enabled" if task.enabled else "paused"
        return format_html('<a href="{}">{} ({})</a>', url, task.crontab, state)

    def save_model(self, request, obj, form, change):
        """Settings go through the service, so the reset task follows timezone and time."""
        try:
            clinic_update_settings(
                clinic=obj,
                name=obj.name,
                timezone=obj.timezone,
                reset_time=obj.reset_time,
            )
        except ValidationError as error:
            self.message_user(request, "; ".join(error.messages), level=messages.ERROR)

    def _set_active(self, request, queryset, active: bool) -> None:
        for clinic in queryset:
            clinic_update_settings(clinic=clinic, is_active=active)
        verb = "activated (daily reset resumed)" if active else "deactivated (daily reset paused)"
        self.message_user(request, f"{queryset.count()} clinic(s) {verb}.")

    @admin.action(description="Deactivate selected clinics (pause their daily reset)")
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, False)

    @admin.action(description="Activate selected clinics (resume their daily reset)")
    def activate(self, request, queryset):
        self._set_active(request, queryset, True)


@admin.register(ClinicDaySummary)
class ClinicDaySummaryAdmin(admin.ModelAdmin):
    list_display = ["clinic", "service_day", "tickets", "served", "expired", "wait_avg_s"]
    list_filter = ["clinic__chain"]
    date_hierarchy = "service_day"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
