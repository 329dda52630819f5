"""The panel page's sign-in: the key, posted once, becomes a signed cookie; never a URL."""

import pytest
from django.test import Client

from queueing.panel_access import PANEL_COOKIE
from queueing.services.workflow import ticket_call_next
from tenants.selectors import clinic_hostname
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db


def tv_for(clinic) -> Client:
    """A browser on the clinic's host, as the waiting-room TV is."""
    return Client(HTTP_HOST=clinic_hostname(clinic=clinic))


@pytest.fixture
def called_ticket(clinic_a):
    with clinic_a:
        reception = f.reception()
        desk = f.desk("Guichê 1", reception)
        f.waiting(reception)
        ticket = ticket_call_next(desk_id=desk.pk)
    return ticket


def test_the_posted_key_becomes_a_host_only_httponly_strict_cookie(clinic_a):
    tv = tv_for(clinic_a)

    answer = tv.post("/panel/", {"key": clinic_a.panel_key})

    assert (answer.status_code, answer["Location"]) == (303, "/panel/")
    cookie = answer.cookies[PANEL_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert (cookie["domain"], cookie["path"]) == ("", "/")  # this clinic's host only
    assert int(cookie["max-age"]) >= 300 * 24 * 3600  # a TV stays on for months
    assert clinic_a.panel_key not in cookie.value


def test_the_cookie_opens_the_panel_page_and_its_polls_with_no_key_in_them(clinic_a, called_ticket):
    tv = tv_for(clinic_a)
    tv.post("/panel/", {"key": clinic_a.panel_key})

    page = tv.get("/panel/")
    poll = tv.get("/api/v1/panel/")

    assert page.status_code == 200
    assert 'id="now-code"' in page.content.decode()
    assert clinic_a.panel_key not in page.content.decode()
    assert poll.status_code == 200
    assert poll.json()["recent_calls"][0]["display_code"] == called_ticket.display_code
    # and the page renews the cookie, so a TV left on never signs out
    assert PANEL_COOKIE in page.cookies


def test_without_the_cookie_the_page_asks_for_the_key_and_shows_no_calls(clinic_a, called_ticket):
    tv = tv_for(clinic_a)

    page = tv.get("/panel/")
    poll = tv.get("/api/v1/panel/")

    text = page.content.decode()
    assert page.status_code == 200  # a sign-in page: every new TV's first open comes here
    assert "não tem a chave do painel" in text
    assert 'method="post"' in text and 'name="key"' in text
    assert 'key_connect.js" data-screen="panel"' in text
    assert called_ticket.display_code not in text
    assert poll.status_code in (401, 403)
    assert called_ticket.display_code not in poll.content.decode()


def test_a_wrong_key_is_refused_and_gives_no_cookie(clinic_a, clinic_b):
    for wrong in ("chave-errada", clinic_b.panel_key):
        answer = tv_for(clinic_a).post("/panel/", {"key": wrong})

        assert answer.status_code == 403
        assert "não é válida para esta clínica" in answer.content.decode()
        assert PANEL_COOKIE not in answer.cookies


def test_a_link_with_the_key_in_its_query_string_is_refused(clinic_a, called_ticket):
    answer = tv_for(clinic_a).get(f"/panel/?key={clinic_a.panel_key}")

    text = answer.content.decode()
    assert answer.status_code == 400
    assert "#key=" in text
    assert PANEL_COOKIE not in answer.cookies
    assert called_ticket.display_code not in text


def test_another_clinics_cookie_or_a_forged_one_opens_nothing(clinic_a, clinic_b):
    at_b = tv_for(clinic_b)
    at_b.post("/panel/", {"key": clinic_b.panel_key})
    carried = at_b.cookies[PANEL_COOKIE].value

    for value in (carried, "forged", carried[:-2] + "xx"):
        tv = tv_for(clinic_a)
        tv.cookies[PANEL_COOKIE] = value

        assert tv.get("/api/v1/panel/").status_code == 403
        assert tv.get("/panel/").status_code == 403
