"""The patient's status page behind the ticket's QR code: a signed token, no login.

The token sits in the URL fragment (`/s/#<token>`) and reaches the server only in the body of
`POST /s/state/`; it names the clinic and the ticket and ends at the clinic's next reset.
"""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core import signing
from django.test import Client

from queueing.selectors.ticket_status import ticket_public_status
from queueing.services.workflow import ticket_call_next, ticket_start, ticket_transfer
from queueing.status_token import ticket_status_expiry, ticket_status_token
from tenants.models import Clinic
from tenants.selectors import clinic_hostname
from tests.queueing import factories

pytestmark = pytest.mark.django_db


def state(clinic, token: str):
    client = Client(HTTP_HOST=clinic_hostname(clinic=clinic))
    return client.post("/s/state/", {"token": token}, content_type="application/json")


def test_the_status_shows_code_position_and_wait_but_no_name_or_cpf(clinic_a):
    with clinic_a:
        reception = factories.reception()
        factories.waiting(reception)
        ticket = factories.waiting(reception)
        token = ticket_status_token(ticket=ticket)
        patient = ticket.patient

    answer = state(clinic_a, token)

    assert answer.status_code == 200 and answer["Cache-Control"] == "no-store"
    body = answer.json()
    assert (body["display_code"], body["status"], body["position"]) == (
        ticket.display_code,
        "waiting",
        2,
    )
    assert body["desk"] is None and body["ended"] is False
    assert patient.full_name not in answer.content.decode()
    assert patient.cpf not in answer.content.decode()


def test_a_called_ticket_shows_the_desk(clinic_a):
    with clinic_a:
        reception = factories.reception()
        ticket = factories.waiting(reception)
        desk = factories.desk("Guichê 2", reception)
        ticket_call_next(desk_id=desk.pk)
        token = ticket_status_token(ticket=ticket)

    body = state(clinic_a, token).json()

    assert (body["status"], body["desk"], body["position"]) == ("called", "Guichê 2", None)


def test_a_transferred_ticket_shows_the_new_one(clinic_a):
    with clinic_a:
        reception = factories.reception()
        triage = factories.service("Triagem", "T")
        ticket = factories.waiting(reception)
        desk = factories.desk("Guichê 1", reception)
        ticket_call_next(desk_id=desk.pk)
        ticket_start(ticket_id=ticket.pk)
        new = ticket_transfer(ticket_id=ticket.pk, service_id=triage.pk)
        token = ticket_status_token(ticket=ticket)

        assert ticket_public_status(ticket_id=ticket.pk)["display_code"] == new.display_code

    body = state(clinic_a, token).json()
    assert (body["display_code"], body["service"], body["status"]) == (
        new.display_code,
        "Triagem",
        "waiting",
    )


def test_a_token_of_clinic_a_is_refused_at_clinic_b(clinic_a, clinic_b):
    with clinic_a:
        token = ticket_status_token(ticket=factories.waiting(factories.reception()))
    with clinic_b:
        factories.waiting(factories.reception())  # clinic B has a ticket of the same id, maybe

    answer = state(clinic_b, token)

    assert answer.status_code == 404
    assert answer.json()["errors"][0]["code"] == "ticket_not_found"


@pytest.mark.parametrize(
    "token",
    ["", "x", "guess-1234", "W1siY2xpbmljX2EiLDEsOTk5OTk5OTk5OV0:abc", "a" * 5000],
    ids=["empty", "short", "guess", "bad-signature", "huge"],
)
def test_a_guessed_or_forged_token_is_refused(clinic_a, token):
    answer = state(clinic_a, token)

    assert answer.status_code in (400, 404)
    assert answer.json()["type"] in ("validation_error", "client_error")


def test_an_edited_token_is_refused(clinic_a):
    with clinic_a:
        ticket = factories.waiting(factories.reception())
        genuine = ticket_status_token(ticket=ticket)
    # The same payload with another ticket id, signed with a key that is not the server's
    forged = signing.Signer(key="not-the-secret", salt="clinico.ticket-status").sign_object(
        [clinic_a.schema_name, ticket.pk + 1, 4102444800]
    )
    payload, signature = genuine.rsplit(":", 1)
    spliced = f"{forged.rsplit(':', 1)[0]}:{signature}"

    assert state(clinic_a, forged).status_code == 404
    assert state(clinic_a, spliced).status_code == 404
    assert state(clinic_a, genuine).status_code == 200


def test_the_token_ends_at_the_clinics_next_reset(clinic_a):
    zone = zoneinfo.ZoneInfo(clinic_a.timezone)
    issued = datetime.datetime(2026, 3, 10, 15, 0, tzinfo=zone)
    with time_machine.travel(issued, tick=False), clinic_a:
        ticket = factories.waiting(factories.reception())
        token = ticket_status_token(ticket=ticket)
        expiry = ticket_status_expiry(service_day=ticket.service_day)
    assert expiry == datetime.datetime(2026, 3, 11, 0, 0, tzinfo=zone)

    with time_machine.travel(expiry - datetime.timedelta(seconds=1), tick=False):
        assert state(clinic_a, token).status_code == 200
    with time_machine.travel(expiry, tick=False):
        ended = state(clinic_a, token)

    assert ended.status_code == 410
    assert ended.json()["errors"][0]["code"] == "ticket_ended"


def test_a_later_reset_time_moves_the_end(clinic_a):
    Clinic.objects.filter(pk=clinic_a.pk).update(reset_time=datetime.time(3, 30))
    clinic = Clinic.objects.get(pk=clinic_a.pk)
    with clinic:
        expiry = ticket_status_expiry(service_day=datetime.date(2026, 3, 10))

    assert expiry == datetime.datetime(
        2026, 3, 11, 3, 30, tzinfo=zoneinfo.ZoneInfo(clinic.timezone)
    )


def test_the_status_page_is_a_shell_without_the_token(clinic_a):
    client = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))

    page = client.get("/s/")

    assert page.status_code == 200
    assert "/s/state/" in page.content.decode()


def test_the_first_poll_leaves_a_cookie_a_live_stream_can_check(clinic_a, rf):
    from queueing.status_token import StatusTokenInvalid
    from web.status import status_ticket_from_cookie

    with clinic_a:
        ticket = factories.waiting(factories.reception())
        other = factories.waiting(factories.reception())
        token = ticket_status_token(ticket=ticket)

    answer = state(clinic_a, token)

    cookie = answer.cookies[f"clinico_ticket_{ticket.pk}"]
    assert cookie.value == token
    # sent only to this ticket's stream: the poll has its token in the body
    assert (cookie["path"], cookie["httponly"], cookie["samesite"]) == (
        f"/events/status/{ticket.pk}/",
        True,
        "Strict",
    )
    assert answer.json()["link_ticket_id"] == ticket.pk
    stream = rf.get(cookie["path"], HTTP_COOKIE=f"clinico_ticket_{ticket.pk}={token}")
    with clinic_a:
        assert status_ticket_from_cookie(stream, ticket_id=ticket.pk) == ticket.pk
        # the cookie of one ticket does not open another's stream
        with pytest.raises(StatusTokenInvalid):
            status_ticket_from_cookie(stream, ticket_id=other.pk)
    with clinic_a, pytest.raises(StatusTokenInvalid):
        forged_cookie = f"clinico_ticket_{other.pk}={token}"
        forged = rf.get(f"/events/status/{other.pk}/", HTTP_COOKIE=forged_cookie)
        status_ticket_from_cookie(forged, ticket_id=other.pk)
