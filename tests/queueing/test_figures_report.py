"""The figures page's numbers (API, CSV) against a seeded day counted by hand."""

import csv
import datetime
import io

import pytest
import time_machine

from queueing.selectors.report import CSV_SECTIONS, figures_report_get
from queueing.services import workflow
from queueing.services.desk_breaks import desk_break_end, desk_break_start
from queueing.services.setup import service_update
from tests.conftest import client_for
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db

OPENING = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)  # 09:00 in São Paulo
DAY = datetime.date(2026, 3, 2)


def at(minute: int):
    return time_machine.travel(OPENING + datetime.timedelta(minutes=minute), tick=False)


def seed_the_day(clinic) -> None:
    """Two desks, two clinicians, two services. Minutes after 09:00:

    R: target 10 min; T: target 5 min. Guichê 1 calls R; Guichê 2 calls R and T.
    A R001 issued 0, Ana (G1) calls 4, starts 5, finishes 11   wait 240, service 360
    B R002 issued 1, Bia (G2) calls 6, starts 7, finishes 9    wait 300, service 120
    C R003 issued 2, Ana (G1) calls 13, no-show 14             wait 660 (over 10 min)
    Guichê 2 on lunch from 10 to 40                            break 1800 s
    D T001 issued 62 (10:02), Bia (G2) calls 65, starts 66, finishes 70   wait 180, service 240
    E R004 issued 70, still waiting
    F R005 issued 75, cancelled 76
    """
    ana = f.staff(clinic, "clinician")
    bia = f.staff(clinic, "clinician")
    ana.full_name, bia.full_name = "Ana Lima", "Bia Souza"
    ana.save(update_fields=["full_name"])
    bia.save(update_fields=["full_name"])
    with clinic:
        reception = service_update(service=f.reception(), target_wait_minutes=10)
        triage = f.service("Triagem", "T", target_wait_minutes=5)
        one = f.desk("Guichê 1", reception)
        two = f.desk("Guichê 2", reception, triage)
        t = {}
        for minute, name in [(0, "A"), (1, "B"), (2, "C")]:
            with at(minute):
                t[name] = f.waiting(reception)
        with at(4):
            assert workflow.ticket_call_next(desk_id=one.pk, actor=ana).pk == t["A"].pk
        with at(5):
            workflow.ticket_start(ticket_id=t["A"].pk)
        with at(6):
            assert workflow.ticket_call_next(desk_id=two.pk, actor=bia).pk == t["B"].pk
        with at(7):
            workflow.ticket_start(ticket_id=t["B"].pk)
        with at(9):
            workflow.ticket_finish(ticket_id=t["B"].pk)
        with at(10):
            desk_break_start(desk_id=two.pk, reason="lunch", actor=bia)
        with at(11):
            workflow.ticket_finish(ticket_id=t["A"].pk)
        with at(13):
            assert workflow.ticket_call_next(desk_id=one.pk, actor=ana).pk == t["C"].pk
        with at(14):
            workflow.ticket_no_show(ticket_id=t["C"].pk)
        with at(40):
            desk_break_end(desk_id=two.pk, actor=bia)
        with at(62):
            t["D"] = f.waiting(triage)
        with at(65):
            assert workflow.ticket_call_next(desk_id=two.pk, actor=bia).pk == t["D"].pk
        with at(66):
            workflow.ticket_start(ticket_id=t["D"].pk)
        with at(70):
            workflow.ticket_finish(ticket_id=t["D"].pk)
            t["E"] = f.waiting(reception)
        with at(75):
            t["F"] = f.waiting(reception)
        with at(76):
            workflow.ticket_cancel(ticket_id=t["F"].pk, reason="Left")


EXPECTED_TOTALS = {
    "arrivals": 6,
    "calls": 4,
    "served": 3,
    "no_shows": 1,
    "cancelled": 1,
    "wait_p50_s": 270.0,  # waits 180, 240, 300, 660: between 240 and 300
    "wait_p90_s": 552.0,  # 300 + 0.7 × (660 − 300)
    "service_avg_s": 240.0,  # (360 + 120 + 240) / 3
    "within_target_share": 0.75,  # all but C
    "break_s": 1800.0,
    "out_of_order_calls": 0,
}
EXPECTED_HOURS = [
    # 09h: A, B, C arrive and are called; their waits 240, 300, 660
    {"hour": 9, "arrivals": 3, "calls": 3, "wait_p50_s": 300.0, "wait_p90_s": 588.0},
    # 10h: D, E, F arrive; D is called after 180 s
    {"hour": 10, "arrivals": 3, "calls": 1, "wait_p50_s": 180.0, "wait_p90_s": 180.0},
]
EXPECTED_SERVICES = [
    {
        "service": "Recepção",
        "prefix": "R",
        "target_wait_minutes": 10,
        "arrivals": 5,
        "calls": 3,
        "served": 2,
        "no_shows": 1,
        "cancelled": 1,
        "wait_p50_s": 300.0,
        "wait_p90_s": 588.0,  # 300 + 0.8 × (660 − 300)
        "service_avg_s": 240.0,
        "within_target_share": 0.6667,
    },
    {
        "service": "Triagem",
        "prefix": "T",
        "target_wait_minutes": 5,
        "arrivals": 1,
        "calls": 1,
        "served": 1,
        "no_shows": 0,
        "cancelled": 0,
        "wait_p50_s": 180.0,
        "wait_p90_s": 180.0,
        "service_avg_s": 240.0,
        "within_target_share": 1.0,
    },
]
EXPECTED_ATTENDANTS = [
    {
        "attendant": "Ana Lima",
        "calls": 2,
        "served": 1,
        "service_avg_s": 360.0,
        "service_total_s": 360.0,
    },
    {
        "attendant": "Bia Souza",
        "calls": 2,
        "served": 2,
        "service_avg_s": 180.0,
        "service_total_s": 360.0,
    },
]
EXPECTED_DESKS = [
    {
        "desk": "Guichê 1",
        "calls": 2,
        "served": 1,
        "service_avg_s": 360.0,
        "break_s": 0.0,
        "out_of_order_calls": 0,
    },
    {
        "desk": "Guichê 2",
        "calls": 2,
        "served": 2,
        "service_avg_s": 180.0,
        "break_s": 1800.0,
        "out_of_order_calls": 0,
    },
]


def _without_ids(rows: list[dict], key: str) -> list[dict]:
    return [{k: v for k, v in row.items() if k != key} for row in rows]


def test_the_days_figures_match_the_hand_count(clinic_a):
    seed_the_day(clinic_a)
    with clinic_a, at(120):
        report = figures_report_get(date_from=DAY, date_to=DAY)
    assert report.totals == EXPECTED_TOTALS
    assert report.hours == EXPECTED_HOURS
    assert _without_ids(report.services, "service_id") == EXPECTED_SERVICES
    assert _without_ids(report.attendants, "user_id") == EXPECTED_ATTENDANTS
    assert _without_ids(report.desks, "desk_id") == EXPECTED_DESKS


def test_a_range_without_that_day_has_no_figures(clinic_a):
    seed_the_day(clinic_a)
    with clinic_a, at(60 * 24):
        report = figures_report_get(
            date_from=DAY + datetime.timedelta(days=1), date_to=DAY + datetime.timedelta(days=7)
        )
    assert (report.totals["arrivals"], report.totals["break_s"], report.hours) == (0, 0.0, [])


def test_the_api_answers_the_same_figures_to_the_admin_and_a_chain_manager(clinic_a):
    seed_the_day(clinic_a)
    admin = f.staff(clinic_a, "clinic_admin")
    client = client_for(clinic_a)
    client.force_authenticate(user=admin)
    with at(120):
        body = client.get("/api/v1/figures/", {"from": "2026-03-02", "to": "2026-03-02"}).json()
        today = client.get("/api/v1/figures/").json()
        backwards = client.get("/api/v1/figures/", {"from": "2026-03-03", "to": "2026-03-02"})
    assert (body["date_from"], body["date_to"]) == ("2026-03-02", "2026-03-02")
    assert body["totals"] == EXPECTED_TOTALS
    assert body["hours"] == EXPECTED_HOURS
    assert _without_ids(body["attendants"], "user_id") == EXPECTED_ATTENDANTS
    assert today["totals"] == EXPECTED_TOTALS  # today is the default range
    assert (backwards.status_code, backwards.json()["errors"][0]["attr"]) == (400, "from")


SECTION_PT = {
    "totals": "Totais",
    "hours": "Por hora",
    "services": "Por serviço",
    "attendants": "Por atendente",
    "desks": "Por guichê",
    "out_of_order": "Chamadas fora de ordem",
}


def _csv_blocks(content: bytes) -> dict[str, list[dict]]:
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM spreadsheets look for
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][0] == "Clínica" and lines[0][2:5:2] == ["De", "Até"]
    blocks: dict[str, list[dict]] = {}
    i = 2
    sections = iter(CSV_SECTIONS.items())
    while i < len(lines):
        # Each block is named and headed in Portuguese, its columns in the API's order
        name, header = next(sections)
        assert lines[i][0] == SECTION_PT[name]
        assert all(label and "_" not in label for label in lines[i + 1])
        assert len(lines[i + 1]) == len(header)
        i += 2
        rows = []
        while i < len(lines) and lines[i]:
            rows.append(dict(zip(header, lines[i], strict=True)))
            i += 1
        blocks[name] = rows
        i += 1
    return blocks


def _pt_number(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


def test_the_csv_has_the_same_numbers_with_decimal_commas(clinic_a):
    seed_the_day(clinic_a)
    admin = f.staff(clinic_a, "clinic_admin")
    client = client_for(clinic_a)
    client.force_authenticate(user=admin)
    with at(120):
        response = client.get("/api/v1/figures/csv/", {"from": "2026-03-02"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    blocks = _csv_blocks(response.content)
    assert blocks["totals"] == [{k: _pt_number(v) for k, v in EXPECTED_TOTALS.items()}]
    assert blocks["hours"] == [{k: _pt_number(v) for k, v in h.items()} for h in EXPECTED_HOURS]
    assert blocks["services"][0]["within_target_share"] == "0,6667"
    assert [b["attendant"] for b in blocks["attendants"]] == ["Ana Lima", "Bia Souza"]
    assert blocks["desks"][1] == {
        "desk": "Guichê 2",
        "calls": "2",
        "served": "2",
        "service_avg_s": "180",
        "break_s": "1800",
        "out_of_order_calls": "0",
    }


def test_every_column_of_the_figures_csv_has_a_name_in_the_readers_language():
    from queueing.selectors.report import CSV_LABELS, CSV_SECTION_NAMES, CSV_SECTIONS

    assert set(CSV_SECTION_NAMES) == set(CSV_SECTIONS)
    assert {key for keys in CSV_SECTIONS.values() for key in keys} <= set(CSV_LABELS)
