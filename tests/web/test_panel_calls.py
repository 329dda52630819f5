"""The TV panel at 1920×1080: a recall updates its entry in "Last calls", the highlight reads at
high contrast in every frame, and a first open of a panel or totem link logs no refusal."""

import re

import pytest
from playwright.sync_api import expect

from queueing.services.workflow import ticket_call_next, ticket_recall
from tests.queueing import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TV = {"width": 1920, "height": 1080}
TOTEM = {"width": 1080, "height": 1920}
SHOTS = "/tmp/shots-x"

# Samples the call highlight each animation frame for `ms` and answers the lowest contrast ratio
# (WCAG's formula) between the code's colour and the box's background.
LOWEST_CONTRAST_JS = """ms => new Promise(done => {
  const channel = c => {
    c /= 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = rgb => {
    const [r, g, b] = rgb.match(/[\\d.]+/g).map(Number);
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const box = document.getElementById("now");
  const code = document.getElementById("now-code");
  let lowest = Infinity, frames = 0;
  const start = performance.now();
  (function sample() {
    const now = ratio(getComputedStyle(code).color, getComputedStyle(box).backgroundColor);
    lowest = Math.min(lowest, now);
    frames += 1;
    if (performance.now() - start < ms) requestAnimationFrame(sample);
    else done({lowest, frames});
  })();
})"""


def test_a_recall_updates_its_entry_in_the_last_calls(new_page, clinic_a, clinic_url):
    # Given two desks that called R001 and R002, on the TV
    with clinic_a:
        reception = factories.reception()
        desks = [factories.desk(f"Guichê {n}", reception) for n in (1, 2, 3)]
        for _ in range(3):
            factories.waiting(reception)
        first = ticket_call_next(desk_id=desks[0].pk)
        ticket_call_next(desk_id=desks[1].pk)
    tv = new_page(locale="pt-BR", viewport=TV)
    tv.goto(clinic_url(clinic_a, f"/panel/#key={clinic_a.panel_key}"))
    expect(tv.locator("#now-code")).to_have_text("R002")

    # When desk 1 recalls R001
    with clinic_a:
        ticket_recall(ticket_id=first.pk)

    # Then R001 is called now, and "Last calls" holds R002 once, not R001 a second time
    expect(tv.locator("#now-code")).to_have_text("R001")
    recent = tv.locator("#recent li")
    expect(recent).to_have_count(1)
    expect(recent.first).to_contain_text("R002")
    tv.screenshot(path=f"{SHOTS}/panel-recall-1920.png")

    # and when R003 is called after it, R001 appears once, at its recall
    with clinic_a:
        ticket_call_next(desk_id=desks[2].pk)
    expect(tv.locator("#now-code")).to_have_text("R003")
    expect(recent).to_have_count(2)
    expect(recent.nth(0)).to_contain_text("R001")
    expect(recent.nth(1)).to_contain_text("R002")


def test_the_call_highlight_reads_at_high_contrast_in_every_frame(new_page, clinic_a, clinic_url):
    with clinic_a:
        reception = factories.reception()
        desk = factories.desk("Guichê 1", reception)
        factories.waiting(reception)
    tv = new_page(locale="pt-BR", viewport=TV)
    tv.goto(clinic_url(clinic_a, f"/panel/#key={clinic_a.panel_key}"))
    expect(tv.locator("#now-desk")).to_have_text("Aguarde ser chamado")

    with clinic_a:
        ticket_call_next(desk_id=desk.pk)
    expect(tv.locator("#now")).to_have_class(re.compile(r"\bflash-call\b"))
    sampled = tv.evaluate(LOWEST_CONTRAST_JS, 3000)
    tv.screenshot(path=f"{SHOTS}/panel-highlight-1920.png")

    assert sampled["frames"] > 30
    assert sampled["lowest"] >= 4.5, sampled


@pytest.mark.parametrize(
    ("screen", "viewport"), [("panel", TV), ("totem", TOTEM)], ids=["panel", "totem"]
)
def test_a_first_open_of_a_screens_link_logs_no_refusal(
    new_page, clinic_a, clinic_url, screen, viewport
):
    key = clinic_a.panel_key if screen == "panel" else clinic_a.totem_key
    tab = new_page(locale="pt-BR", viewport=viewport)
    answers = []
    tab.on("response", lambda response: answers.append((response.status, response.url)))

    tab.goto(clinic_url(clinic_a, f"/{screen}/#key={key}"))
    expect(tab).to_have_url(re.compile(rf"/{screen}/$"))
    if screen == "panel":
        expect(tab.locator("#now-desk")).to_have_text("Aguarde ser chamado")
    else:
        expect(tab.get_by_role("heading", name="Bem-vindo! Digite seu CPF")).to_be_visible()

    # (The live stream's 404 here is the test server's: streams run in the events process.)
    assert [(status, url) for status, url in answers if status in (401, 403)] == []
