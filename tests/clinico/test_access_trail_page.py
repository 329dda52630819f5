"""The access trail page: clinic admins read and download the trail in the browser."""

import csv
import datetime
import io

import pytest
from django.test import Client

from patients.models import Patient
from tenants.selectors import clinic_hostname
from tests.checkin_factories import staff_client, staff_user

pytestmark = pytest.mark.django_db

PAGE = "/privacy/access-trail/"


def browser_for(clinic, user) -> Client:
    browser = Client(HTTP_HOST=clinic_hostname(clinic=clinic))
    browser.force_login(user)
    return browser


@pytest.fixture
def patients(clinic_a):
    with clinic_a:
        return [
            Patient.objects.create(
                cpf=cpf, full_name="Maria da Silva", birth_date=datetime.date(1958, 3, 14)
            )
            for cpf in ("52998224725", "15350946056")
        ]


@pytest.fixture
def reads(clinic_a, patients):
    """One receptionist reads the first record, then another reads the second."""
    receptionist = staff_user(clinic_a, "receptionist")
    other = staff_user(clinic_a, "receptionist")
    first, second = patients
    for user, patient in ((receptionist, first), (other, second)):
        answer = staff_client(clinic_a, user=user).get(
            f"/api/v1/patients/{patient.pk}/", HTTP_X_ACCESS_PURPOSE="atendimento"
        )
        assert answer.status_code == 200
    return receptionist, other


@pytest.fixture
def admin_browser(clinic_a):
    return browser_for(clinic_a, staff_user(clinic_a, "clinic_admin"))


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [row for row in body.split("<tr>")[1:]]


def test_an_admin_sees_a_real_record_read_with_the_readers_email(admin_browser, reads, patients):
    receptionist, other = reads

    page = admin_browser.get(PAGE)

    text = page.content.decode()
    assert page.status_code == 200
    assert "Trilha de acesso" in text and "Baixar CSV" in text
    rows = _rows(text)
    assert len(rows) == 2
    # newest first: the other receptionist's read came last
    assert other.email in rows[0] and receptionist.email in rows[1]
    assert "cadastro visualizado" in rows[1] and "atendimento" in rows[1]
    assert f'data-label="Id do paciente">{patients[0].pk}</td>' in rows[1]
    # opening the page is not a patient read
    assert len(_rows(admin_browser.get(PAGE).content.decode())) == 2


def test_filters_narrow_the_list_and_the_csv_has_the_same_rows(admin_browser, reads, patients):
    receptionist, other = reads
    today = datetime.date.today()
    week_ago, tomorrow = today - datetime.timedelta(days=7), today + datetime.timedelta(days=1)

    by_patient = _rows(admin_browser.get(PAGE, {"patient": patients[1].pk}).content.decode())
    by_email = _rows(admin_browser.get(PAGE, {"user": receptionist.email}).content.decode())
    by_id = _rows(admin_browser.get(PAGE, {"user": other.pk}).content.decode())
    in_range = _rows(
        admin_browser.get(PAGE, {"date_from": week_ago, "date_to": tomorrow}).content.decode()
    )
    too_old = admin_browser.get(PAGE, {"date_to": week_ago}).content.decode()

    assert len(by_patient) == 1 and other.email in by_patient[0]
    assert len(by_email) == 1 and receptionist.email in by_email[0]
    assert len(by_id) == 1 and other.email in by_id[0]
    assert len(in_range) == 2
    assert _rows(too_old) == [] and "Nenhum registro corresponde" in too_old

    page = admin_browser.get(PAGE, {"user": receptionist.email}).content.decode()
    assert (
        f'href="/privacy/access-trail/csv/?user={receptionist.email.replace("@", "%40")}"' in page
    )
    download = admin_browser.get(f"{PAGE}csv/", {"user": receptionist.email})
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert [(r["E-mail do usuário"], r["Id do paciente"], r["Ação"]) for r in lines] == [
        (receptionist.email, str(patients[0].pk), "view")
    ]


@pytest.mark.parametrize("role", ["receptionist", "clinician"])
@pytest.mark.parametrize("path", [PAGE, f"{PAGE}csv/"])
def test_other_roles_get_the_no_access_page(clinic_a, reads, role, path):
    browser = browser_for(clinic_a, staff_user(clinic_a, role))

    page = browser.get(path)

    text = page.content.decode()
    assert page.status_code == 403
    assert "Sem acesso" in text
    assert "Somente os administradores da clínica veem a trilha de acesso." in text
    assert reads[0].email not in text


@pytest.mark.parametrize(
    "query, message",
    [
        ({"date_from": "31/02/2026"}, "Informe uma data válida."),
        ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "A data final é anterior"),
        ({"patient": "abc"}, "Informe um número inteiro."),
        ({"user": "ninguem@example.test"}, "Nenhum usuário tem este e-mail."),
    ],
)
def test_a_bad_filter_shows_a_form_error(admin_browser, reads, query, message):
    page = admin_browser.get(PAGE, query)
    download = admin_browser.get(f"{PAGE}csv/", query)

    text = page.content.decode()
    assert page.status_code == 400
    assert message in text and 'class="field-error"' in text
    assert _rows(text) == []
    assert download.status_code == 400 and message in download.content.decode()


def test_the_console_links_admins_only_to_the_trail(clinic_a):
    admin = browser_for(clinic_a, staff_user(clinic_a, "clinic_admin"))
    receptionist = browser_for(clinic_a, staff_user(clinic_a, "receptionist"))

    assert 'href="/privacy/access-trail/"' in admin.get("/").content.decode()
    assert 'href="/privacy/access-trail/"' not in receptionist.get("/").content.decode()


def test_the_trail_filtered_by_email_shows_that_persons_check_ins_with_their_email(
    clinic_a, admin_browser
):
    from queueing.services.checkins import checkin_process

    receptionist = staff_user(clinic_a, "receptionist")
    body = {"cpf": "52998224725", "patient": {"full_name": "Ana", "birth_date": "1990-01-02"}}
    created = staff_client(clinic_a, user=receptionist).post(
        "/api/v1/check-ins/", body, format="json", REMOTE_ADDR="192.0.2.61"
    )
    with clinic_a:
        checkin_process(checkin_id=created.json()["id"])

    page = admin_browser.get(PAGE, {"user": receptionist.email})

    rows = _rows(page.content.decode())
    assert page.status_code == 200 and len(rows) == 1, rows
    assert receptionist.email in rows[0] and "192.0.2.61" in rows[0], rows[0]
