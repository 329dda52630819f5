"""Every time a person reads is the clinic's local time: printed and reprinted tickets, the access
trail page and its CSV, whatever the clinic's zone (São Paulo UTC-3, Manaus UTC-4, Noronha UTC-2).
"""

import csv
import datetime
import io

import pytest
import time_machine
from django.test import Client

from audit.models import AccessEntry
from tenants.models import Clinic
from tenants.selectors import clinic_host_cache_clear, clinic_hostname
from tests.queueing import factories
from tests.web.test_totem_checkin import CPF, NEW, check_in, totem_client

pytestmark = pytest.mark.django_db

# 15:15 UTC on a December morning: 12:15 in São Paulo, 11:15 in Manaus, 13:15 in Noronha.
ISSUED = datetime.datetime(2026, 12, 7, 15, 15, tzinfo=datetime.UTC)
REPRINTED = ISSUED + datetime.timedelta(minutes=2)
LOCAL = {
    "America/Sao_Paulo": ("12:15", "12:17"),
    "America/Manaus": ("11:15", "11:17"),
    "America/Noronha": ("13:15", "13:17"),
}


@pytest.fixture(params=sorted(LOCAL))
def zoned_clinic(request, clinic_b):
    """clinic_b, for this test, in the zone of the parameter (rolled back after the test)."""
    Clinic.objects.filter(pk=clinic_b.pk).update(timezone=request.param)
    clinic_b.timezone = request.param
    clinic_host_cache_clear()
    yield clinic_b
    clinic_b.timezone = "America/Manaus"
    clinic_host_cache_clear()


def test_a_ticket_printed_at_the_totem_reads_the_clinics_local_time(zoned_clinic):
    issued, _reprinted = LOCAL[zoned_clinic.timezone]
    totem = totem_client(zoned_clinic)
    with time_machine.travel(ISSUED, tick=False):
        body = check_in(totem, {"cpf": CPF, "patient": NEW}).json()
        with zoned_clinic:
            from queueing.services.checkins import checkin_process

            checkin_process(checkin_id=body["id"])
        html = totem.get(f"/totem/tickets/{body['id']}/").content.decode()

    assert f"<dd>07/12/2026 {issued}</dd>" in html
    assert "15:15" not in html


def test_a_reprint_reads_the_local_time_of_the_ticket_and_of_the_reprint(zoned_clinic):
    issued, reprinted = LOCAL[zoned_clinic.timezone]
    with time_machine.travel(ISSUED, tick=False), zoned_clinic:
        ticket = factories.waiting(factories.reception())
    reception = Client(HTTP_HOST=clinic_hostname(clinic=zoned_clinic))
    reception.force_login(factories.staff(zoned_clinic, "receptionist"))

    with time_machine.travel(REPRINTED, tick=False):
        html = reception.get(f"/tickets/{ticket.pk}/print/").content.decode()

    assert f"<dd>07/12/2026 {issued}</dd>" in html
    assert f"Reimpressa às {reprinted}" in html
    assert "15:15" not in html and "15:17" not in html


def test_the_access_trail_and_its_csv_read_the_clinics_local_time(zoned_clinic):
    issued, _reprinted = LOCAL[zoned_clinic.timezone]
    with zoned_clinic:
        AccessEntry.objects.create(
            at=ISSUED,
            user_email="rita@sol.test",
            role="receptionist",
            patient_id=7,
            action="view",
            address="10.0.0.9",
        )
    admin = Client(HTTP_HOST=clinic_hostname(clinic=zoned_clinic))
    admin.force_login(factories.staff(zoned_clinic, "clinic_admin"))

    page = admin.get("/privacy/access-trail/").content.decode()
    download = admin.get("/privacy/access-trail/csv/")
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))

    assert f"07/12/2026 {issued}:00" in page
    offset = {"12:15": "-03:00", "11:15": "-04:00", "13:15": "-02:00"}[issued]
    [entry] = [row for row in rows[1:] if "10.0.0.9" in row]
    assert entry[0] == f"2026-12-07 {issued}:00{offset}"
    # The header is for people, in the page's language
    assert rows[0][0] == "Quando"


def test_the_access_trail_page_names_roles_and_fields_in_portuguese(clinic_a):
    with clinic_a:
        AccessEntry.objects.create(
            user_email="rita@sol.test",
            role="receptionist",
            patient_id=7,
            action="update",
            fields=["birth_date", "full_name"],
            address="10.0.0.9",
        )
    admin = Client(HTTP_HOST=clinic_hostname(clinic=clinic_a))
    admin.force_login(factories.staff(clinic_a, "clinic_admin"))

    page = admin.get("/privacy/access-trail/").content.decode()

    assert "(Recepcionista)" in page and "(receptionist)" not in page
    assert "data de nascimento, nome completo" in page and "birth_date" not in page
