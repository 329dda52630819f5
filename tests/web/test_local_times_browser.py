"""In Chromium set to another zone (Tokyo), the clinic's pages still read the clinic's time:
the reprinted ticket and the console's clock both say Manaus time for a clinic in Manaus."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from tests.queueing import factories
from tests.web.conftest import console_ready, sign_in, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ISSUED = datetime.datetime(2026, 12, 7, 15, 15, tzinfo=datetime.UTC)  # 11:15 in Manaus


def test_a_reprinted_ticket_and_the_console_read_the_clinics_time_in_a_browser_elsewhere(
    new_page, clinic_b, clinic_url, screenshots
):
    with time_machine.travel(ISSUED, tick=False), clinic_b:
        ticket = factories.waiting(factories.reception())
    staff_user(clinic_b, "receptionist", "rita@manaus.test")
    page = new_page(locale="en-US", timezone_id="Asia/Tokyo")
    sign_in(page, clinic_url(clinic_b, "/login/"), "rita@manaus.test")
    console_ready(page)

    # The console's clock helper formats a server time in the clinic's zone, not the PC's
    shown = page.evaluate("window.clinico.clockTime(new Date('2026-12-07T15:15:00Z'), 'pt-BR')")
    assert shown == "11:15"

    with page.context.expect_page() as opened:
        page.locator(f'[data-ticket="{ticket.pk}"]').get_by_role("link", name="Reimprimir").click()
    printable = opened.value
    now_manaus = timezone.now().astimezone(zoneinfo.ZoneInfo("America/Manaus"))
    slip = printable.get_by_test_id("ticket")
    expect(slip).to_contain_text("07/12/2026 11:15")
    note = printable.locator(".slip-note").inner_text()
    reprinted = note.split("Reimpressa às ", 1)[1][:5]
    allowed = {(now_manaus + datetime.timedelta(minutes=m)).strftime("%H:%M") for m in (-1, 0, 1)}
    assert reprinted in allowed, (note, allowed)
    printable.set_viewport_size({"width": 800, "height": 1000})
    printable.screenshot(path=str(screenshots / "ticket-reprint-manaus.png"))
