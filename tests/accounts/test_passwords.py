"""Invitations and passwords: a one-time link by e-mail sets the password; "forgot my password"
never tells whether an e-mail has an account; a new password ends every older session."""

import re

import pytest
from django.db import connection
from django.test import Client

from accounts.models import ClinicMembership, User
from clinico.celery import app as celery_app
from tenants.selectors import clinic_hostname
from tests.accounts.conftest import PASSWORD, bearer, host_client, person, sign_in, staff

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "girassol-azul-2031"
LINK = re.compile(r"https?://[^\s]+/password/set/[^\s/]+/[^\s/]+/")


@pytest.fixture
def emails(mailoutbox):
    """The e-mails sent so far: the test's transaction never commits, so this runs what waits
    for the commit (the e-mail task's publication), and the task in this process (locmem)."""
    celery_app.conf.task_always_eager = True
    done: set[int] = set()

    def deliver() -> list:
        for _savepoints, callback, _robust in list(connection.run_on_commit):
            if id(callback) not in done:
                done.add(id(callback))
                callback()
        return mailoutbox

    try:
        yield deliver
    finally:
        celery_app.conf.task_always_eager = False


def _link(message) -> str:
    (link,) = LINK.findall(message.body)
    return link


def _path(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def _set_password_by_link(host: str, link: str, password: str) -> Client:
    browser = Client(HTTP_HOST=host)
    first = browser.get(_path(link))
    assert first.status_code == 302 and first["Location"].endswith("/set-password/")
    assert link.rsplit("/", 2)[1] not in first["Location"]  # the token left the address bar
    form = browser.get(first["Location"])
    assert form.status_code == 200
    done = browser.post(first["Location"], {"password1": password, "password2": password})
    assert done.status_code == 200, done.content.decode()[:2000]
    assert "Senha salva" in done.content.decode()
    return browser


def test_an_invited_receptionist_sets_a_password_from_the_email_and_signs_in(
    clinic_a, jwt_client, emails
):
    admin = jwt_client(clinic_a, "clinic_admin")

    answer = admin.post(
        "/api/v1/staff/",
        {"email": "Nova.Recepcao@Sol.test", "full_name": "Nina Nova", "role": "receptionist"},
        format="json",
    )

    assert answer.status_code == 201, answer.content
    assert answer.json()["can_sign_in"] is False
    (message,) = emails()
    assert message.to == ["nova.recepcao@sol.test"]
    assert clinic_a.name in message.subject
    host = clinic_hostname(clinic=clinic_a)
    link = _link(message)
    assert link.startswith(f"http://{host}/password/set/")
    assert "Nina Nova" in message.body

    _set_password_by_link(host, link, NEW_PASSWORD)

    signed_in = host_client(clinic_a).post(
        "/api/v1/auth/token/",
        {"email": "nova.recepcao@sol.test", "password": NEW_PASSWORD},
        format="json",
    )
    assert signed_in.status_code == 200
    # and the link works once
    again = Client(HTTP_HOST=host).get(_path(link), follow=True)
    assert again.status_code == 400
    assert "inválido ou expirado" in again.content.decode()


def test_resending_an_invitation_mails_a_new_link(clinic_a, jwt_client, emails):
    user = User.objects.create_user("sem-senha@sol.test", None)
    member = ClinicMembership.objects.create(user=user, clinic=clinic_a, role="clinician")

    answer = jwt_client(clinic_a, "clinic_admin").post(f"/api/v1/staff/{member.pk}/invitation/")

    assert answer.status_code == 202
    (message,) = emails()
    assert message.to == ["sem-senha@sol.test"] and _link(message)


def test_someone_with_a_password_is_told_to_sign_in_not_sent_a_link(clinic_a, jwt_client, emails):
    colleague = person("colega")

    jwt_client(clinic_a, "clinic_admin").post(
        "/api/v1/staff/", {"email": colleague.email, "role": "clinician"}, format="json"
    )

    (message,) = emails()
    assert "/password/set/" not in message.body
    assert "/login/" in message.body


def test_forgot_password_answers_the_same_for_unknown_emails_and_mails_only_real_ones(
    clinic_a, emails
):
    user = staff(clinic_a, "receptionist")
    client = host_client(clinic_a)

    known = client.post("/api/v1/auth/password/reset/", {"email": user.email}, format="json")
    unknown = client.post(
        "/api/v1/auth/password/reset/", {"email": "ninguem@sol.test"}, format="json"
    )

    assert (known.status_code, unknown.status_code) == (202, 202)
    assert known.json() == unknown.json()
    (message,) = emails()
    assert message.to == [user.email]


def test_a_reset_ends_every_older_session_and_refresh_token(clinic_a, emails):
    user = staff(clinic_a, "receptionist")
    tokens = sign_in(user, clinic_a)
    page = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    page.force_login(user)
    assert page.get("/").status_code == 200

    page_forgot = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    sent = page_forgot.post("/password/forgot/", {"email": user.email})
    assert "Verifique seu e-mail" in sent.content.decode()
    (message,) = emails()
    _set_password_by_link(clinic_hostname(clinic=clinic_a), _link(message), NEW_PASSWORD)

    refresh = host_client(clinic_a).post(
        "/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json"
    )
    access = bearer(host_client(clinic_a), tokens["access"]).get("/api/v1/me/")
    assert refresh.status_code == 401 and access.status_code == 401
    assert refresh.json()["errors"][0]["code"] == "password_changed"
    assert page.get("/").status_code == 302  # the signed-in page session ended too
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)


def test_the_api_sets_a_password_from_the_link_parts_with_the_validators_reasons(clinic_a, emails):
    user = staff(clinic_a, "receptionist")
    host_client(clinic_a).post("/api/v1/auth/password/reset/", {"email": user.email}, format="json")
    (message,) = emails()
    uid, token = _link(message).rstrip("/").rsplit("/", 2)[1:]
    client = host_client(clinic_a)

    weak = client.post(
        "/api/v1/auth/password/reset/confirm/",
        {"uid": uid, "token": token, "password": "12345678"},
        format="json",
    )
    wrong = client.post(
        "/api/v1/auth/password/reset/confirm/",
        {"uid": uid, "token": token[:-2] + "xx", "password": NEW_PASSWORD},
        format="json",
    )
    good = client.post(
        "/api/v1/auth/password/reset/confirm/",
        {"uid": uid, "token": token, "password": NEW_PASSWORD},
        format="json",
    )

    assert weak.status_code == 400
    assert {e["attr"] for e in weak.json()["errors"]} == {"password"}
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["attr"] == "token"
    assert good.status_code == 204
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)


def test_the_set_password_page_gives_the_validators_reasons_in_portuguese(clinic_a, emails):
    user = staff(clinic_a, "receptionist")
    host = clinic_hostname(clinic=clinic_a)
    Client(HTTP_HOST=host).post("/password/forgot/", {"email": user.email})
    browser = Client(HTTP_HOST=host)
    form_url = browser.get(_path(_link(emails()[0])))["Location"]

    answer = browser.post(form_url, {"password1": "12345678", "password2": "12345678"})

    text = answer.content.decode()
    assert answer.status_code == 400
    assert "Esta senha é muito comum" in text
    assert "Esta senha é inteiramente numérica" in text
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_changing_the_password_when_signed_in_keeps_this_page_session_only(clinic_a):
    user = staff(clinic_a, "clinician")
    tokens = sign_in(user, clinic_a)
    here = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    here.force_login(user)
    elsewhere = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    elsewhere.force_login(user)

    wrong = here.post(
        "/password/change/",
        {"current": "not-it", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    done = here.post(
        "/password/change/",
        {"current": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert wrong.status_code == 400 and "senha atual" in wrong.content.decode().lower()
    assert done.status_code == 200
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    refused = bearer(host_client(clinic_a), tokens["access"]).get("/api/v1/me/")
    assert refused.status_code == 401


def test_a_manager_opening_a_clinic_invites_its_first_admin(public_client, emails):
    from tenants.models import Chain
    from tests.accounts.conftest import manager

    chain = Chain.objects.get(slug="rede_sol")
    tokens = sign_in(manager(chain))
    client = bearer(public_client, tokens["access"])

    answer = client.post(
        f"/api/v1/chains/{chain.pk}/clinics/",
        {"slug": "sul_convite", "name": "Clínica Sul", "admin_email": "chefe@sul.test"},
        format="json",
    )

    assert answer.status_code == 201, answer.content
    (message,) = emails()
    assert message.to == ["chefe@sul.test"]
    assert _link(message).startswith("http://sul-convite.localhost/password/set/")
    member = ClinicMembership.objects.get(user__email="chefe@sul.test")
    assert (member.clinic.schema_name, member.role) == ("sul_convite", "clinic_admin")


def test_asking_for_links_in_a_loop_is_refused_after_five_a_minute(clinic_a, emails, minute_start):
    user = staff(clinic_a, "receptionist")
    client = host_client(clinic_a)

    answers = [
        client.post("/api/v1/auth/password/reset/", {"email": user.email}, format="json")
        for _ in range(6)
    ]

    assert [a.status_code for a in answers] == [202] * 5 + [429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert len(emails()) == 5


def test_a_manager_resets_the_password_on_the_public_host(emails):
    from django.conf import settings

    from tenants.models import Chain
    from tests.accounts.conftest import manager

    gestora = manager(Chain.objects.get(slug="rede_sol"))
    site = Client(HTTP_HOST=settings.BASE_DOMAIN)

    sent = site.post("/password/forgot/", {"email": gestora.email})

    assert sent.status_code == 200
    (message,) = emails()
    link = _link(message)
    assert link.startswith(f"http://{settings.BASE_DOMAIN}/password/set/")
    _set_password_by_link(settings.BASE_DOMAIN, link, NEW_PASSWORD)
    signed_in = Client(HTTP_HOST=settings.BASE_DOMAIN).post(
        "/login/", {"username": gestora.email, "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == "/dashboard/"
