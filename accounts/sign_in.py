"""The browser doors' sign-in (the pages' `/login/`, Django admin) under the sign-in limits.

They share the counts of the API's `auth/token/`: switching door gives an attacker no extra
attempts. Over a limit the page answers 429 with Retry-After and says how long to wait.
"""

import functools
from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import ngettext

from accounts.services import clinic_membership_joined
from accounts.throttles import (
    SignInLimited,
    sign_in_attempt_fail,
    sign_in_attempt_start,
    sign_in_attempt_succeed,
)
from common.net import client_address

if TYPE_CHECKING:
    # What the mixin is mixed into, for the type checker only: at run time it stays a plain
    # mixin, so the forms' method order is unchanged.
    _SignInForm = AuthenticationForm
else:
    _SignInForm = object


class SignInLimitsMixin(_SignInForm):
    """For AuthenticationForm subclasses: each attempt counted, refused over the limits."""

    retry_after: int | None = None  # set when the limits refused the attempt

    def clean(self):
        account = (self.cleaned_data.get("username") or "").strip().lower()
        if not account or not self.cleaned_data.get("password"):
            return super().clean()  # nothing is tried: the fields' own errors show
        if self.request is None:
            raise ImproperlyConfigured("The sign-in limits count per address: pass the request.")
        try:
            attempt = sign_in_attempt_start(
                kind="user", account=account, address=client_address(self.request)
            )
        except SignInLimited as refusal:
            self.retry_after = refusal.retry_after
            raise forms.ValidationError(
                ngettext(
                    "Too many failed attempts. Wait %(seconds)s second and try again.",
                    "Too many failed attempts. Wait %(seconds)s seconds and try again.",
                    refusal.retry_after,
                )
                % {"seconds": refusal.retry_after},
                code="throttled",
            ) from None
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            sign_in_attempt_fail(attempt=attempt)
            raise
        sign_in_attempt_succeed(attempt=attempt)
        clinic = getattr(self.request, "tenant", None)
        user = self.get_user()
        if clinic is not None and user is not None:
            clinic_membership_joined(user=user, clinic=clinic)
        return cleaned


class AdminSignInForm(SignInLimitsMixin, AdminAuthenticationForm):
    """Django admin's sign-in (platform operators, who are superusers) under the limits."""


def sign_in_page_limited(view):
    """Answers 429 with Retry-After when the limits refused the view's sign-in form."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        form = (getattr(response, "context_data", None) or {}).get("form")
        retry_after = getattr(form, "retry_after", None)
        if retry_after:
            response.status_code = 429
            response["Retry-After"] = str(retry_after)
        return response

    return wrapper


@sign_in_page_limited
def admin_sign_in(request, *args, **kwargs):
    """Django admin's login page, with `AdminSignInForm` (set on the site in accounts/admin)."""
    return admin.site.login(request, *args, **kwargs)
