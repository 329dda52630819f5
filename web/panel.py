"""The waiting-room TV panel (a clinic host's /panel/): ticket codes and desks, no login."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from queueing.panel_access import panel_cookie_set, panel_for_key, panel_of_cookie
from web.access import clinic_here, clinic_of, page_language
from web.streams import stream_url

VOICE_RATES = ("0.7", "0.9", "1", "1.2")


def _panel_refused(request: HttpRequest, reason: str, status: int = 403) -> HttpResponse:
    """The panel's sign-in page: why the panel is not shown, and a field for the key.

    Its script posts the key of a `#key=` link; the key is never part of a URL sent here.
    """
    context = {"clinic": clinic_of(request), "reason": reason}
    return render(request, "pages/panel_error.html", context, status=status)


@require_http_methods(["GET", "POST"])
@never_cache  # the page and its redirect carry the panel's key
@page_language
def panel(request: HttpRequest) -> HttpResponse:
    """The waiting-room TV: no login; the panel key, posted once, becomes a panel cookie."""
    clinic = clinic_here(request)
    if "key" in request.GET:
        return _panel_refused(request, "key_in_url", status=400)
    if request.method == "POST":
        key = request.POST.get("key", "").strip()
        panel = panel_for_key(key=key)
        if panel is None:
            return _panel_refused(request, "invalid" if key else "missing")
        answer = HttpResponseRedirect(reverse("panel"), status=303)
        panel_cookie_set(answer, request=request, clinic=clinic, panel=panel)
        return answer
    cookie, panel = panel_of_cookie(request=request, clinic=clinic)
    if cookie is None:
        # A TV that never had the panel: its sign-in page, where a `#key=` link posts its key.
        # Not an error (the first open of every new TV comes here first), so no 403 is logged.
        return _panel_refused(request, "missing", status=200)
    if cookie != "valid" or panel is None:
        return _panel_refused(request, "changed")
    config: dict[str, object] = {
        "events": stream_url(request, "/events/panel/"),
        "strings": {
            "offline": _("No connection. Trying again…"),
            "keyRefused": _(
                "This panel key is no longer valid. Open the new link from the panels page."
            ),
            "waiting": _("Please wait to be called"),
            "closed": _("Closed"),
            # Under the code of a called ticket that was transferred since.
            "changedTo": _("Your ticket changed to %(code)s"),
            # Said aloud on each call: "Senha R 0 0 5, Guichê 2".
            "speech": _("Ticket %(code)s, %(desk)s"),
            "voiceOn": _("Voice on"),
            "voiceOff": _("Voice off"),
        },
    }
    config["panel"] = {
        "id": panel.pk,
        "name": panel.name,
        "voiceEnabled": panel.voice_enabled,
        "voiceRate": float(panel.voice_rate),
    }
    context = {
        "clinic": clinic,
        "panel": panel,
        "panel_config": config,
        # The voice's speeds as the page's language writes them ("0,9×").
        "voice_rates": [(value, formats.number_format(float(value))) for value in VOICE_RATES],
    }
    page = render(request, "pages/panel.html", context)
    panel_cookie_set(page, request=request, clinic=clinic, panel=panel)  # a TV that runs for years
    return page
