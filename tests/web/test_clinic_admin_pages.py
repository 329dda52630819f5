"""The clinic admin's pages without a browser: who may open them, and that a change made there
is the same change as the API's (the services' rules and errors)."""

import pytest
from django.test import Client

from accounts.models import ClinicMembership
from queueing.models import Desk, Service
from tenants.models import Clinic
from tenants.selectors import clinic_hostname
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db

PAGES = [
    "/manage/services/",
    "/manage/desks/",
    "/manage/staff/",
    "/manage/panels/",
    "/manage/settings/",
]


def _browser(clinic, role: str) -> Client:
    browser = Client(HTTP_HOST=clinic_hostname(clinic=clinic))
    browser.force_login(f.staff(clinic, role))
    return browser


@pytest.mark.parametrize("role", ["receptionist", "clinician"])
@pytest.mark.parametrize("url", PAGES)
def test_other_staff_get_the_no_access_page(clinic_a, role, url):
    answer = _browser(clinic_a, role).get(url)

    assert answer.status_code == 403
    assert "Só os administradores da clínica" in answer.content.decode()


@pytest.mark.parametrize("url", PAGES)
def test_a_clinic_admin_opens_every_page_in_portuguese(clinic_a, url):
    answer = _browser(clinic_a, "clinic_admin").get(url)

    assert answer.status_code == 200
    text = answer.content.decode()
    assert "Administração da clínica" in text and "Serviços" in text


def test_signed_out_visitors_go_to_the_sign_in_page(clinic_a):
    answer = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a)).get("/manage/staff/")
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_a_service_and_a_desk_made_on_the_pages(clinic_a):
    admin = _browser(clinic_a, "clinic_admin")

    made = admin.post(
        "/manage/services/",
        {"name": "Vacinação", "prefix": "vac", "target_wait_minutes": 15, "display_order": 1,
         "is_active": "on"},
    )  # fmt: skip
    twin = admin.post(
        "/manage/services/",
        {"name": "Outra", "prefix": "VAC", "target_wait_minutes": 15, "display_order": 2},
    )
    with clinic_a:
        service = Service.objects.get(prefix="VAC")
    desk = admin.post(
        "/manage/desks/", {"name": "Sala de vacina", "services": [service.pk], "is_active": "on"}
    )

    assert made.status_code == 302
    assert (service.name, service.target_wait_minutes, service.display_order) == (
        "Vacinação",
        15,
        1,
    )
    assert twin.status_code == 400
    assert "já é usado por outro serviço" in twin.content.decode()
    assert desk.status_code == 302
    with clinic_a:
        assert list(Desk.objects.get(name="Sala de vacina").services.all()) == [service]


def test_the_last_admin_cannot_be_deactivated_from_the_page(clinic_a):
    admin = _browser(clinic_a, "clinic_admin")
    ClinicMembership.objects.filter(clinic=clinic_a, role="clinic_admin").exclude(
        user__email__startswith="staff"
    ).update(is_active=False)
    (own,) = ClinicMembership.objects.filter(clinic=clinic_a, role="clinic_admin", is_active=True)

    answer = admin.post(f"/manage/staff/{own.pk}/deactivate/", follow=True)

    assert "último administrador da clínica" in answer.content.decode()
    assert ClinicMembership.objects.get(pk=own.pk).is_active


def test_settings_saved_on_the_page_move_the_daily_reset(clinic_a):
    from django_celery_beat.models import PeriodicTask

    admin = _browser(clinic_a, "clinic_admin")

    answer = admin.post(
        "/manage/settings/",
        {"name": clinic_a.name, "timezone": "America/Manaus", "reset_time": "02:15"},
    )

    assert answer.status_code == 302
    clinic = Clinic.objects.get(pk=clinic_a.pk)
    assert (clinic.timezone, clinic.reset_time.strftime("%H:%M")) == ("America/Manaus", "02:15")
    reset = PeriodicTask.objects.get(name=f"daily-reset:{clinic_a.schema_name}")
    assert reset.crontab.timezone.key == "America/Manaus"
    assert (reset.crontab.hour, reset.crontab.minute) == ("2", "15")


def test_a_new_panel_made_on_the_page_shows_its_link_once(clinic_a):
    admin = _browser(clinic_a, "clinic_admin")

    made = admin.post("/manage/panels/", {"name": "Térreo", "voice_rate": "1"})
    later = admin.get("/manage/panels/")

    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    assert "/panel/#key=" in made.content.decode()
    assert "/panel/#key=" not in later.content.decode()
    assert "Térreo" in later.content.decode()


def test_the_pages_switch_to_english(clinic_a):
    admin = _browser(clinic_a, "clinic_admin")
    admin.cookies["django_language"] = "en"

    text = admin.get("/manage/panels/").content.decode()

    assert "Waiting-room panels" in text and "New key and link" in text


def test_the_staff_page_shows_an_invited_account_of_another_clinic_as_any_new_invitee(
    clinic_a, clinic_b
):
    from accounts.models import User

    elsewhere = f.staff(clinic_b, "receptionist")
    User.objects.filter(pk=elsewhere.pk).update(full_name="Bruno Segredo")
    admin = _browser(clinic_a, "clinic_admin")

    answers = [
        admin.post("/manage/staff/", {"email": email, "role": "clinician"}, follow=True)
        for email in (elsewhere.email, "alguem.novo@sol.test")
    ]

    text = answers[1].content.decode()
    assert "Bruno" not in text
    items = {
        email: text.split(f'data-email="{email}"', 1)[1].split("</li>", 1)[0]
        for email in (elsewhere.email, "alguem.novo@sol.test")
    }
    for email, item in items.items():
        assert "convite pendente" in item.lower() and "Reenviar convite" in item, (email, item)
    assert "Bruno" not in answers[0].content.decode()
