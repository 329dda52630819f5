"""With DEBUG on (the development stack), an outage met before any view still answers 503.

No database marker: the test points the connection at a closed port itself, outside the
per-test transaction, and puts it back.
"""

import json
import uuid

from django.db import connections
from django.test import Client

from tests.common.test_outage_answers import _closed_port


def test_with_debug_on_an_outage_in_the_host_lookup_still_answers_503(settings, django_db_blocker):
    settings.DEBUG = True  # the development stack: Django would render its debug page
    host = f"nowhere-{uuid.uuid4().hex[:8]}.{settings.BASE_DOMAIN}"
    default = connections["default"]
    with django_db_blocker.unblock():
        default.close()
        port = default.settings_dict["PORT"]
        default.settings_dict["PORT"] = _closed_port()
        try:
            api = Client(raise_request_exception=False).get("/api/v1/me/", HTTP_HOST=host)
            page = Client(raise_request_exception=False).get("/login/", HTTP_HOST=host)
        finally:
            default.close()
            default.settings_dict["PORT"] = port

    assert (api.status_code, api["Retry-After"]) == (503, "5")
    assert json.loads(api.content)["errors"][0]["code"] == "database_unavailable"
    assert (page.status_code, page["Retry-After"]) == (503, "5")
    assert page["Content-Type"].startswith("text/html")
