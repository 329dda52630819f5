"""Signing in and out of the pages, on a clinic host (its staff) and on the public host
(chain managers)."""

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.permissions import clinic_role_of
from accounts.sign_in import SignInLimitsMixin, sign_in_page_limited
from web.access import clinic_of, is_chain_manager, page_language


class SignInForm(SignInLimitsMixin, AuthenticationForm):
    """E-mail and password; on a clinic host the user must be active staff of that clinic.

    A right password without access here gets the wrong password's answer, and counts as a
    failure: the page must not tell a guesser that a password is right.
    """

    username = forms.EmailField(
        label=gettext_lazy("E-mail"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    error_messages = {
        "invalid_login": gettext_lazy(
            "E-mail or password is wrong, or this account has no access here. Check both and "
            "try again (the password is case-sensitive)."
        ),
        "inactive": gettext_lazy("This account is disabled. Ask your clinic's administrator."),
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        clinic = clinic_of(self.request)
        allowed = (
            clinic_role_of(user=user, clinic=clinic) is not None
            if clinic is not None
            else is_chain_manager(user)
        )
        if not allowed:
            raise self.get_invalid_login_error()


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "pages/login.html"

    def get_default_redirect_url(self) -> str:
        return reverse("console") if clinic_of(self.request) else reverse("dashboard")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        clinic = clinic_of(self.request)
        context["place"] = clinic.name if clinic else _("Chain dashboard")
        if clinic is None:  # said to everyone: refusals do not tell who has access where
            context["hint"] = _("Clinic staff sign in at their clinic's address.")
        return context


sign_in = page_language(sign_in_page_limited(SignInView.as_view()))


def sign_out(request: HttpRequest) -> HttpResponseBase:
    """Log out (POST only, so a link cannot sign someone out) and go back to the sign-in page."""
    if request.method != "POST":
        return redirect("login")
    return auth_views.LogoutView.as_view(next_page="login")(request)
