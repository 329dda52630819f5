"""Django admin of the public host: users and memberships, partner clients (operators only)."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.models import ChainMembership, ClinicMembership, PartnerClient, User
from accounts.services import (
    partner_client_id_new,
    partner_client_revoke,
    partner_client_secret_rotate,
    partner_secret_new,
)
from accounts.sign_in import AdminSignInForm

# Platform operators are superusers: their sign-in is under the same limits as every door
# (the 429 answer comes from accounts.sign_in.admin_sign_in, routed in clinico/urls_public).
admin.site.login_form = AdminSignInForm


class ClinicMembershipInline(admin.TabularInline):
    model = ClinicMembership
    extra = 0
    fields = ("clinic", "role", "is_active", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ()


class ChainMembershipInline(admin.TabularInline):
    model = ChainMembership
    extra = 0
    fields = ("chain", "is_active", "created_at")
    readonly_fields = ("created_at",)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_active")
    search_fields = ("email", "full_name")
    readonly_fields = ("date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name",)}),
        (_("Access"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ()
    inlines = [ClinicMembershipInline, ChainMembershipInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Clinic schemas keep who did what (ticket events, record changes) pointing at users,
        # which the public schema cannot follow: people are deactivated, never deleted.
        return False


@admin.register(ClinicMembership)
class ClinicMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "clinic", "role", "is_active", "updated_at")
    list_filter = ("role", "is_active", "clinic")
    search_fields = ("user__email", "clinic__schema_name", "clinic__name")
    list_select_related = ("user", "clinic")


@admin.register(ChainMembership)
class ChainMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "chain", "is_active", "created_at")
    list_filter = ("is_active", "chain")
    search_fields = ("user__email", "chain__slug")
    list_select_related = ("user", "chain")


@admin.register(PartnerClient)
class PartnerClientAdmin(admin.ModelAdmin):
    """Create a client (its secret is shown once, on the next page), revoke, issue a new secret."""

    list_display = ("name", "client_id", "scope", "requests_per_minute", "status", "created_at")
    list_filter = ("scope", "is_active")
    search_fields = ("name", "client_id")
    filter_horizontal = ("clinics",)
    readonly_fields = ("client_id", "created_at", "revoked_at", "is_active")
    fields = (
        "name",
        "clinics",
        "scope",
        "requests_per_minute",
        "client_id",
        "is_active",
        "created_at",
        "revoked_at",
    )
    actions = ["revoke", "rotate_secret"]

    @admin.display(description=_("status"))
    def status(self, client: PartnerClient) -> str:
        if client.is_active and client.revoked_at is None:
            return format_html('<span style="color:#080">{}</span>', _("active"))
        return format_html('<span style="color:#b00">{}</span>', _("revoked"))

    def save_model(self, request, obj: PartnerClient, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        secret, obj.secret_hash = partner_secret_new()
        obj.client_id = partner_client_id_new()
        super().save_model(request, obj, form, change)
        messages.warning(
            request,
            format_html(
                "Client id <code>{}</code>, secret <code>{}</code>. Copy the secret now: it is "
                "stored hashed and will not be shown again.",
                obj.client_id,
                secret,
            ),
        )

    @admin.action(description=_("Revoke: refuse their tokens from the next request on"))
    def revoke(self, request, queryset) -> None:
        for client in queryset:
            partner_client_revoke(client=client)
        self.message_user(request, f"{queryset.count()} partner client(s) revoked.")

    @admin.action(description=_("Issue a new secret (the old one stops working)"))
    def rotate_secret(self, request, queryset) -> None:
        for client in queryset:
            secret = partner_client_secret_rotate(client=client)
            messages.warning(
                request,
                format_html(
                    "New secret of <code>{}</code>: <code>{}</code> (shown once).",
                    client.client_id,
                    secret,
                ),
            )
