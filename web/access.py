"""What every page starts with: the visitor's language, and who may see it.

Portuguese is the language unless the visitor chose English with the switcher: reception PCs
often run an English browser, and staff expect the product in Portuguese.
"""

import functools

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.models import User
from accounts.permissions import clinic_role_of
from tenants.models import Clinic
from tenants.selectors import chain_list_for_user


def page_language(view):
    """Activate pt-BR, or the language the visitor picked with the switcher (a cookie)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        codes = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in codes else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        return view(request, *args, **kwargs)

    return wrapper


def clinic_of(request: HttpRequest | None) -> Clinic | None:
    """The clinic whose host the request came to; None on the public host."""
    return getattr(request, "tenant", None)


def clinic_here(request: HttpRequest) -> Clinic:
    """The clinic of a page routed on clinic hosts only; a 404 should one be reached elsewhere."""
    clinic = clinic_of(request)
    if clinic is None:
        raise Http404
    return clinic


def is_chain_manager(user) -> bool:
    return isinstance(user, User) and chain_list_for_user(user=user).exists()


def no_access(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "pages/no_access.html", {"message": message}, status=403)


def signed_in_page(view):
    """A page in the visitor's language for signed-in users; others go to the sign-in page.

    Never stored by a browser or proxy cache (Cache-Control: no-store): staff pages carry keys,
    tokens and patients' data, and reception PCs are shared.
    """

    @never_cache
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse('login')}?next={request.get_full_path()}")
        return view(request, *args, **kwargs)

    return page_language(wrapper)


def staff_page(view):
    """A clinic page for signed-in staff of this clinic; the view receives the role."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        clinic = clinic_of(request)
        if clinic is None:  # staff pages are routed on clinic hosts only
            raise Http404
        user = request.user  # signed in: signed_in_page let no one else through
        role = clinic_role_of(user=user, clinic=clinic) if isinstance(user, User) else None
        if role is None:
            return no_access(
                request, _("Your account has no access to %(clinic)s.") % {"clinic": clinic.name}
            )
        return view(request, *args, role=role, **kwargs)

    return signed_in_page(wrapper)


def manager_page(view):
    """A public-host page for signed-in chain managers."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_chain_manager(request.user):
            return no_access(request, _("Your account does not manage any chain."))
        return view(request, *args, **kwargs)

    return signed_in_page(wrapper)


def api_error_texts() -> dict[str, str]:
    """The texts a page's script shows when an API call fails (`fmt` fills `%(status)s`)."""
    return {
        "networkError": _("No connection to the server. Check the network and try again."),
        "genericError": _("Something went wrong (%(status)s). Try again."),
    }
