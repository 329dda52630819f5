"""The delivery log in Django admin, on each clinic's host (`/admin/`, platform operators).

Webhook tables live in the clinic's schema, so they are shown by an admin site of the clinic
host rather than by the public host's, which has no clinic schema to read them from. Clinic
hosts serve no admin unless CLINICO_CLINIC_HOST_ADMIN is on (development settings; in
production an opt-in): off, every URL of this site answers 404, login page included.
"""

import functools

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import URLPattern, URLResolver

from accounts.sign_in import AdminSignInForm
from integrations.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookNotice,
    WebhookSubscription,
)
from integrations.services import webhook_redeliver, webhook_subscription_update


class ClinicAdminSite(admin.AdminSite):
    site_header = "Clinico — clinic data"
    site_title = "Clinico clinic admin"
    index_title = "This clinic's integrations"
    login_form = AdminSignInForm

    def get_urls(self) -> list:
        urls = super().get_urls()
        _guard(urls)
        return urls


def clinic_host_admin_enabled(view):
    """`view`, answering 404 while CLINICO_CLINIC_HOST_ADMIN is off."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.CLINICO_CLINIC_HOST_ADMIN:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _guard(patterns) -> None:
    """Every view of `patterns` (and of the URLconfs they include) behind the setting."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _guard(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            pattern.callback = clinic_host_admin_enabled(pattern.callback)


clinic_admin_site = ClinicAdminSite(name="clinic_admin")


class NoticeInline(admin.TabularInline):
    model = WebhookNotice
    extra = 0
    can_delete = False
    fields = ["at", "kind", "message"]
    readonly_fields = ["at", "kind", "message"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookSubscription, site=clinic_admin_site)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["id", "url", "owner", "is_active", "disabled_at", "disabled_reason"]
    list_filter = ["is_active", "personal_data"]
    search_fields = ["url", "partner_client_id", "description"]
    fields = [
        "url",
        "kinds",
        "description",
        "partner_client_id",
        "created_by",
        "personal_data",
        "is_active",
        "disabled_at",
        "disabled_reason",
        "previous_secret_until",
        "cursor",
        "created_at",
    ]
    readonly_fields = [
        "url",
        "kinds",
        "partner_client_id",
        "created_by",
        "personal_data",
        "is_active",
        "disabled_at",
        "disabled_reason",
        "previous_secret_until",
        "cursor",
        "created_at",
    ]
    inlines = [NoticeInline]
    actions = ["enable"]

    def has_add_permission(self, request) -> bool:
        return False  # subscriptions are made through the API, which shows the secret once

    @admin.display(description="owner")
    def owner(self, subscription: WebhookSubscription) -> str:
        return subscription.partner_client_id or "clinic"

    @admin.action(description="Enable again (resume pending deliveries)")
    def enable(self, request, queryset) -> None:
        for subscription in queryset.filter(is_active=False):
            webhook_subscription_update(subscription=subscription, is_active=True)
        messages.success(request, "Enabled; pending deliveries are being sent.")


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ["at", "status_code", "error", "duration_ms", "manual"]
    readonly_fields = ["at", "status_code", "error", "duration_ms", "manual"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery, site=clinic_admin_site)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event_id",
        "kind",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "kind", "subscription"]
    search_fields = ["event_id", "ticket_id"]
    readonly_fields = [
        "subscription",
        "event_id",
        "kind",
        "ticket_id",
        "event_at",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "window_started_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
    ]
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Redeliver the selected events")
    def redeliver(self, request, queryset) -> None:
        sent = 0
        for delivery in queryset.select_related("subscription"):
            try:
                webhook_redeliver(delivery=delivery)
            except ValidationError as error:
                messages.error(request, f"{delivery}: {' '.join(error.messages)}")
            else:
                sent += 1
        if sent:
            messages.success(request, f"{sent} event(s) queued for redelivery.")
