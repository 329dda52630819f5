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
