"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

Chromium resolves `*.localhost` to the loopback address, so `http://clinic-a.localhost:<port>/`
reaches clinic_a on the live server. Live-server tests are transactional: their users and
memberships are committed, and the flush after each test empties the public tables (the clinic
fixtures re-provision a clinic whose row was flushed).
"""

import os
import sys
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import sync_playwright

from accounts.models import RateCounter
from accounts.services import chain_membership_grant, clinic_membership_grant, user_create
from tenants.selectors import clinic_hostname
from tests.database import database_url
from tests.processes import process_running

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "senha-forte-da-recepcao-42"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("CLINICO_SCREENSHOTS", "/tmp/clinico-screenshots"))


@pytest.fixture(scope="session")
def browser(django_db_setup):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium).")
    # Playwright's sync API keeps an event loop in this thread; the tests' ORM calls run
    # beside it, not in it, so Django's async-safety guard must stand aside while it runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _sign_in_counters_cleared():
    """Failed sign-ins of earlier tests (same IP, same process) must not lock these tests out."""
    RateCounter.objects.all().delete()
    yield
    RateCounter.objects.all().delete()


@pytest.fixture
def page(browser):
    # An English browser: the pages must still open in Portuguese.
    context = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def new_page(browser):
    """Open more tabs with their own cookies (a second person, a TV)."""
    contexts = []

    def open_page(**options):
        options.setdefault("viewport", {"width": 1366, "height": 900})
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def _port(live_server) -> int:
    return int(live_server.url.rsplit(":", 1)[1])


@pytest.fixture
def clinic_url(live_server):
    def url(clinic, path: str = "/") -> str:
        return f"http://{clinic_hostname(clinic=clinic)}:{_port(live_server)}{path}"

    return url


@pytest.fixture
def public_url(live_server):
    def url(path: str = "/") -> str:
        return f"http://{settings.BASE_DOMAIN}:{_port(live_server)}{path}"

    return url


def staff_user(clinic, role: str, email: str, full_name: str = "Rita Recepção"):
    user = user_create(email=email, password=PASSWORD, full_name=full_name)
    clinic_membership_grant(user=user, clinic=clinic, role=role)
    return user


def manager_user(chain, email: str):
    user = user_create(email=email, password=PASSWORD, full_name="Gabi Gestora")
    chain_membership_grant(user=user, chain=chain)
    return user


def sign_in(page, url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(url)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Senha").fill(password)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_load_state()


def console_ready(page) -> None:
    """Wait until the console's script has loaded the queue once."""
    page.locator("#queue-updated").filter(has_text="Atualizado").wait_for()


@pytest.fixture(scope="module")
def celery_worker(django_db_setup):
    """A real `celery worker` process on the test database and this run's broker."""
    from clinico.celery import app as celery_app
    from tenants.routing import declared_queues

    log_path = ROOT / ".run" / f"web-test-worker-{os.getpid()}.log"
    # The worker's e-mails (invitations, password links) land here as files, for tests to read.
    mail_dir = ROOT / ".run" / f"web-test-mail-{os.getpid()}"
    mail_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "CLINICO_EMAIL_FILE_PATH": str(mail_dir),
        "DJANGO_SETTINGS_MODULE": "clinico.settings.test",
        "DATABASE_URL": database_url(),
        # The broker this process publishes to (the integration tests may have moved it).
        # broker_write_url: conf.broker_url prefers the CELERY_BROKER_URL environment variable.
        "CELERY_BROKER_URL": celery_app.conf.broker_write_url or celery_app.conf.broker_url,
        "CLINICO_SHARD_QUEUES": str(settings.CLINICO_SHARD_QUEUES),
    }
    queues = ",".join(queue.name for queue in declared_queues())
    command = [
        str(Path(sys.executable).with_name("celery")), "-A", "clinico", "worker",
        "-Q", queues, "--pool", "solo", "--loglevel", "INFO",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
        "-n", f"web-test-{os.getpid()}@%h",
    ]  # fmt: skip
    with process_running(
        command,
        env=env,
        log_path=log_path,
        ready=lambda: " ready." in log_path.read_text(),
        what="the Celery worker",
    ) as process:
        process.log_path = log_path
        process.mail_dir = mail_dir
        yield process


def email_link_wait(mail_dir: Path, to: str, *, after: float = 0.0, timeout: float = 30.0) -> str:
    """The one-time link of the newest e-mail the worker wrote to `to` (after `after`)."""
    import email
    import re
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
            if path.stat().st_mtime < after:
                continue
            for raw in path.read_text().split("-" * 79):
                if not raw.strip():
                    continue
                message = email.message_from_bytes(raw.strip().encode())
                if message["To"] != to:
                    continue
                body = message.get_payload(decode=True).decode()
                links = re.findall(r"https?://\S+/password/set/\S+/", body)
                if links:
                    return links[0]
        time.sleep(0.2)
    raise AssertionError(f"no e-mail with a link to {to} in {mail_dir}")


AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_check(page, *, ready: str | None = None, url: str | None = None, prepare=None) -> None:
    """Assert that axe-core finds no serious or critical WCAG 2.1 AA violation on `page`.

    The pages run a Content-Security-Policy without inline script, which also stops an injected
    axe-core; the check therefore opens the page's address (or `url`, for a page whose address
    bar lost its fragment) again, with the same cookies, storage and screen, in a context that
    bypasses the policy, so the tested page keeps its own. `ready` is a selector to wait for;
    `prepare(copy)` brings the copy to the state to check (a step, an open form).
    """
    if not AXE_SCRIPT.exists():
        pytest.fail(f"{AXE_SCRIPT} is missing: run `make browser` (npm ci).")
    browser = page.context.browser
    context = browser.new_context(
        bypass_csp=True,
        storage_state=page.context.storage_state(),
        viewport=page.viewport_size,
        locale="pt-BR",
    )
    try:
        context.set_default_timeout(10_000)
        copy = context.new_page()
        copy.goto(url or page.url)
        copy.wait_for_load_state()
        if ready:
            copy.locator(ready).first.wait_for()
        if prepare is not None:
            prepare(copy)
        copy.add_script_tag(path=str(AXE_SCRIPT))
        results = copy.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
        )
    finally:
        context.close()
    serious = [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"axe-core on {page.url}: {serious}"
