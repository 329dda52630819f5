"""What each principal may learn about a CPF (docs/roles.md), walked with real tokens.

One row per principal: what a search answers, what a check-in and an appointment made by staff
show it, what its own check-in shows it, and whether checking in or booking a CPF answers
differently for a patient of the clinic and a CPF it does not know. The panel is walked too.
Anything a principal may not learn must be absent from the whole answer, masked or not.
"""

import dataclasses
import datetime

import pytest
from django.utils import timezone

from appointments.services import appointment_create
from patients.cpf import cpf_mask
from patients.models import Patient
from queueing.models import Panel, Service
from queueing.services.checkins import checkin_create, checkin_process
from queueing.services.panels import panel_key_rotate
from tests.accounts.conftest import host_client
from tests.patients.test_patient_access import PR, PW, A, C, M, R, api_as

pytestmark = pytest.mark.django_db

CPF = "52998224725"
UNKNOWN_CPF = "11144477735"
MASKED = cpf_mask(CPF)
REGISTRATION = {"full_name": "Ana Lima", "birth_date": "1984-05-06"}


@dataclasses.dataclass(frozen=True)
class May:
    """One row of the table in docs/roles.md ("What each principal may learn about a CPF")."""

    search: str  # "record" (full CPF), "match" (masked and the name), "refused"
    staff_checkin: str  # a check-in reception made: "masked", "none" (no CPF), "not_found"
    own_checkin: str  # a check-in this principal made: "masked", "n/a" (it cannot make one)
    staff_booking: str  # an appointment reception booked: "masked", "none", "not_found"
    writes_alike: bool | None  # a known and a new CPF answer alike (None: may not write)


MATRIX = {
    R: May("record", "masked", "n/a", "masked", writes_alike=False),
    C: May("refused", "none", "n/a", "none", writes_alike=None),
    A: May("record", "masked", "n/a", "masked", writes_alike=False),
    M: May("refused", "none", "n/a", "none", writes_alike=None),
    PR: May("refused", "not_found", "n/a", "not_found", writes_alike=None),
    PW: May("match", "not_found", "masked", "not_found", writes_alike=True),
}


def _no_cpf(response) -> None:
    text = response.content.decode()
    assert CPF not in text and MASKED not in text and "982.247" not in text, text


def _tomorrow_noon() -> datetime.datetime:
    noon = timezone.localtime(timezone.now()).replace(hour=12, minute=0, second=0, microsecond=0)
    return noon + datetime.timedelta(days=1)


@pytest.fixture
def known(clinic_a):
    """Maria, a patient of clinic A, with a check-in and an appointment made by reception."""
    with clinic_a:
        Patient.objects.create(
            cpf=CPF, full_name="Maria da Silva", birth_date=datetime.date(1958, 3, 14)
        )
        checkin, _ = checkin_create(cpf=CPF)
        checkin_process(checkin_id=checkin.pk)
        booking, _ = appointment_create(
            cpf=CPF,
            service_id=Service.objects.get(is_default=True).pk,
            scheduled_at=_tomorrow_noon(),
        )
    return checkin, booking


def _client_id(api) -> str:
    return api.get("/api/v1/me/").json().get("client_id") or ""


def _write_answers(api, cpf: str, *, registration: dict | None) -> list[tuple]:
    """Status and error (or body keys) of a check-in and a booking of `cpf`."""
    body: dict = {"cpf": cpf}
    if registration is not None:
        body["patient"] = registration
    service = None
    answers = []
    for url, extra in (
        ("/api/v1/check-ins/", {}),
        ("/api/v1/appointments/", {"scheduled_at": _tomorrow_noon().isoformat()}),
    ):
        if url.startswith("/api/v1/appointments"):
            service = service or api.get("/api/v1/services/").json()[0]["id"]
            extra["service"] = service
        response = api.post(url, {**body, **extra}, format="json")
        content = response.json()
        shape = (
            [(e["code"], e["attr"]) for e in content["errors"]]
            if response.status_code >= 400
            else sorted(content)
        )
        answers.append((response.status_code, shape))
    return answers


@pytest.mark.parametrize("principal", list(MATRIX))
def test_each_principal_learns_about_a_cpf_only_what_docs_roles_say(clinic_a, known, principal):
    may = MATRIX[principal]
    staff_checkin, staff_booking = known
    api = api_as(principal, clinic_a)

    search = api.post("/api/v1/patients/search/", {"cpf": CPF}, format="json")
    if may.search == "refused":
        assert search.status_code == 403, search.content
        _no_cpf(search)
    else:
        (found,) = search.json()
        assert found.get("cpf", MASKED) == (CPF if may.search == "record" else MASKED), found
        assert ("cpf" in found) == (may.search == "record"), found

    read = api.get(f"/api/v1/check-ins/{staff_checkin.pk}/")
    if may.staff_checkin == "not_found":
        assert read.status_code == 404, read.content
        _no_cpf(read)
    else:
        assert read.status_code == 200, read.content
        body = read.json()
        assert body["ticket"]["display_code"], body
        assert body["cpf"] == (MASKED if may.staff_checkin == "masked" else None), body
        if may.staff_checkin == "none":
            _no_cpf(read)

    if may.own_checkin != "n/a":
        with clinic_a:
            own, _ = checkin_create(cpf=CPF, partner_client_id=_client_id(api))
        assert api.get(f"/api/v1/check-ins/{own.pk}/").json()["cpf"] == MASKED

    booking = api.get(f"/api/v1/appointments/{staff_booking.pk}/")
    listed = api.get(f"/api/v1/appointments/?day={staff_booking.service_day.isoformat()}")
    if may.staff_booking == "not_found":
        assert booking.status_code == 404, booking.content
        assert staff_booking.pk not in [a["id"] for a in listed.json()], listed.json()
        _no_cpf(booking)
        _no_cpf(listed)
    else:
        assert booking.status_code == 200, booking.content
        shown = booking.json()["patient"]
        assert (shown and shown["cpf"]) == (MASKED if may.staff_booking == "masked" else None)
        if may.staff_booking == "none":
            _no_cpf(booking)
            _no_cpf(listed)

    if may.writes_alike is not None:
        for registration in (None, REGISTRATION):
            answers = [
                _write_answers(api, cpf, registration=registration) for cpf in (CPF, UNKNOWN_CPF)
            ]
            if may.writes_alike:
                assert answers[0] == answers[1], answers
            elif registration is None:
                assert answers[0] != answers[1], answers  # reception may search anyway


def test_the_panel_learns_nothing_about_any_cpf(clinic_a, known):
    with clinic_a:
        _panel, key = panel_key_rotate(panel=Panel.objects.get(is_default=True))

    answer = host_client(clinic_a).get("/api/v1/panel/", HTTP_X_PANEL_KEY=key)

    assert answer.status_code == 200, answer.content
    _no_cpf(answer)
    assert "Maria" not in answer.content.decode()
