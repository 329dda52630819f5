"""The demo seeding: open doors with a published password, so development only."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from tenants.models import Chain, Clinic

pytestmark = pytest.mark.django_db


def test_seed_demo_refuses_to_run_with_debug_off_and_creates_nothing(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="runs only in development \\(DEBUG on"):
        call_command("seed_demo")

    assert not User.objects.filter(email="operador@clinico.demo").exists()
    assert not Chain.objects.filter(slug="demo").exists()


def test_seed_demo_in_development_creates_the_demo_clinics_and_logins(settings):
    settings.DEBUG = True

    call_command("seed_demo", stdout=io.StringIO())

    operator = User.objects.get(email="operador@clinico.demo")
    assert operator.is_staff and operator.check_password("clinico-demo")
    assert set(Clinic.objects.filter(chain__slug="demo").values_list("schema_name", flat=True)) == {
        "centro",
        "manaus",
    }


def test_the_demo_banner_gives_a_tv_panel_link_and_a_totem_link_that_open(settings):
    import re

    from django.test import Client

    settings.DEBUG = True
    out = io.StringIO()

    call_command("seed_demo", stdout=out)

    text = out.getvalue()
    panel = re.search(r"TV panel +http://(centro\.localhost):8000/panel/#key=(\S+)", text)
    totem = re.search(r"totem +http://(centro\.localhost):8000/totem/#key=(\S+)", text)
    assert panel and totem, text
    browser = Client(HTTP_HOST=panel.group(1))
    # The pages post the fragment's key once and keep a cookie: the same posts as the pages'.
    assert browser.get("/api/v1/panel/", HTTP_X_PANEL_KEY=panel.group(2)).status_code == 200
    centro = Clinic.objects.get(schema_name="centro")
    assert totem.group(2) == centro.totem_key
