"""Password pages on both hosts: "forgot my password", a one-time link's "choose a password"
(invitations use it too), and changing one's password when signed in."""

from django import forms
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.passwords import password_link_user
from accounts.services import password_reset_confirm, password_reset_request, user_password_change
from accounts.throttles import SignInLimited, sign_in_attempt_start
from common.net import client_address, request_origin
from web.access import clinic_of, page_language, signed_in_page

# Django's PasswordResetConfirmView does the same: the token leaves the address bar (and every
# Referer) for the session at once, and the form lives at this URL.
LINK_SESSION_KEY = "_password_link_token"
LINK_URL_TOKEN = "set-password"


class ForgotForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail"), max_length=254)


class NewPasswordForm(forms.Form):
    password1 = forms.CharField(
        label=gettext_lazy("New password"), strip=False, widget=forms.PasswordInput
    )
    password2 = forms.CharField(
        label=gettext_lazy("New password again"), strip=False, widget=forms.PasswordInput
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ. Type the same one twice."))
        return data


class ChangeForm(NewPasswordForm):
    current = forms.CharField(
        label=gettext_lazy("Current password"), strip=False, widget=forms.PasswordInput
    )
    field_order = ["current", "password1", "password2"]


def _place(request: HttpRequest) -> str:
    clinic = clinic_of(request)
    return clinic.name if clinic else _("Chain dashboard")


def _service_errors(form: forms.Form, error: ValidationError, fields: dict[str, str]) -> None:
    """A service's field errors onto the form's fields (`fields` maps service → form names)."""
    for name, messages in error.message_dict.items():
        form.add_error(fields.get(name), messages)


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters()
@never_cache
@page_language
def password_forgot(request: HttpRequest) -> HttpResponse:
    """Ask for a link by e-mail; the answer is the same whether or not the e-mail has an account."""
    form = ForgotForm(request.POST or None)
    status = 400 if form.is_bound else 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        try:
            # Counted like a failed sign-in, and left counted: no one e-mails a person in a loop.
            sign_in_attempt_start(
                kind="password_link", account=email, address=client_address(request)
            )
        except SignInLimited as refusal:
            form.add_error(None, _("Too many requests. Try again in a minute."))
            page = render(
                request,
                "pages/password_forgot.html",
                {"form": form, "place": _place(request)},
                status=429,
            )
            page["Retry-After"] = str(refusal.retry_after)
            return page
        password_reset_request(email=email, origin=request_origin(request))
        return render(request, "pages/password_sent.html", {"place": _place(request)})
    context = {"form": form, "place": _place(request)}
    return render(request, "pages/password_forgot.html", context, status=status)


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters()
@never_cache
@page_language
def password_set(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """Choose a password from an e-mailed one-time link (an invitation or a reset)."""
    if token != LINK_URL_TOKEN:
        request.session[LINK_SESSION_KEY] = token
        return redirect("password-set", uidb64=uidb64, token=LINK_URL_TOKEN)
    session_token = request.session.get(LINK_SESSION_KEY, "")
    user = password_link_user(uidb64=uidb64, token=session_token)
    context: dict = {"place": _place(request)}
    if user is None:
        return render(request, "pages/password_set.html", {**context, "invalid": True}, status=400)
    form = NewPasswordForm(request.POST or None)
    context.update(form=form, email=user.email)
    if request.method == "POST" and form.is_valid():
        try:
            password_reset_confirm(
                uidb64=uidb64, token=session_token, password=form.cleaned_data["password1"]
            )
        except ValidationError as error:
            if "token" in error.message_dict:
                form.add_error(None, _("This link is invalid or expired, or was already used."))
            else:
                _service_errors(form, error, {"password": "password1"})
        else:
            del request.session[LINK_SESSION_KEY]
            return render(request, "pages/password_done.html", context)
    status = 400 if form.is_bound else 200
    return render(request, "pages/password_set.html", context, status=status)


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters()
@never_cache
@signed_in_page
def password_change(request: HttpRequest) -> HttpResponse:
    """A signed-in person's new password: other sessions and every API token end; this one stays."""
    form = ChangeForm(request.POST or None)
    user = request.user
    assert isinstance(user, User)
    if request.method == "POST" and form.is_valid():
        try:
            user_password_change(
                user=user,
                current_password=form.cleaned_data["current"],
                new_password=form.cleaned_data["password1"],
            )
        except ValidationError as error:
            if "current_password" in error.message_dict:
                form.add_error("current", _("The current password is wrong."))
            else:
                _service_errors(form, error, {"new_password": "password1"})
        else:
            update_session_auth_hash(request, user)
            home = reverse("console") if clinic_of(request) else reverse("dashboard")
            context = {"place": _place(request), "changed": True, "home": home}
            return render(request, "pages/password_done.html", context)
    status = 400 if form.is_bound else 200
    home = reverse("console") if clinic_of(request) else reverse("dashboard")
    context = {"form": form, "place": _place(request), "home": home}
    return render(request, "pages/password_change.html", context, status=status)
