"""Each clinic's reset fires at its own local reset time, driven by the real beat scheduler.

The scheduler is the one beat runs (settings.CELERY_BEAT_SCHEDULER, a django-celery-beat
DatabaseScheduler) over the real PeriodicTask rows provisioning wrote. Time is frozen and moved in
one-minute steps; only the final publish to RabbitMQ is captured instead of sent.
"""

import datetime
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django_celery_beat.models import PeriodicTask
from django_tenants.utils import schema_exists
from kombu.utils import symbol_by_name

from clinico.celery import app
from tenants.models import Chain, Clinic, Domain
from tenants.routing import clinic_queue_name
from tenants.schedules import reset_periodic_task_name
from tenants.selectors import clinic_host_cache_clear
from tenants.services import chain_create, clinic_provision, clinic_update_settings

pytestmark = pytest.mark.django_db(transaction=True)

UTC = datetime.UTC
ZONES = {
    "rs_noronha": "America/Noronha",  # UTC-2
    "rs_saopaulo": "America/Sao_Paulo",  # UTC-3
    "rs_manaus": "America/Manaus",  # UTC-4
    "rs_riobranco": "America/Rio_Branco",  # UTC-5
    "rs_lisboa": "Europe/Lisbon",  # UTC+0 in winter, UTC+1 from the last Sunday of March
}


def _drop(slug: str) -> None:
    PeriodicTask.objects.filter(name=reset_periodic_task_name(schema_name=slug)).delete()
    Domain.objects.filter(tenant__schema_name=slug).delete()
    Clinic.objects.filter(schema_name=slug).delete()
    if schema_exists(slug):
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{slug}" CASCADE')


@pytest.fixture(scope="module")
def zone_schemas(django_db_setup, django_db_blocker):
    """Drops this module's clinic schemas when it is done."""
    yield
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        for slug in ZONES:
            _drop(slug)
        Chain.objects.filter(slug="rede_fusos").delete()
        clinic_host_cache_clear()


@pytest.fixture
def clinics(zone_schemas, transactional_db) -> dict[str, Clinic]:
    """One clinic per zone, committed: beat's scheduler commits and reconnects as in production.

    The transactional test's flush removes the rows afterwards, so each test provisions afresh.
    """
    connection.set_schema_to_public()
    for slug in ZONES:
        _drop(slug)
    chain = Chain.objects.filter(slug="rede_fusos").first() or chain_create(
        name="Rede Fusos", slug="rede_fusos"
    )
    provisioned = {
        slug: clinic_provision(chain=chain, name=f"Clínica {slug}", slug=slug, timezone=tz)
        for slug, tz in ZONES.items()
    }
    clinic_host_cache_clear()
    return provisioned


def _beat_has_been_running_since(at: datetime.datetime) -> None:
    """As if beat had last fired every reset just before `at` (it ran without a gap till then)."""
    PeriodicTask.objects.filter(task="tenants.clinic_day_close_task").update(last_run_at=at)


def run_beat(start: datetime.datetime, end: datetime.datetime, *, on_minute=None) -> list:
    """Run the real scheduler from `start` to `end`; every reset it publishes, as (slug, UTC)."""
    scheduler_class = symbol_by_name(settings.CELERY_BEAT_SCHEDULER)
    sent: list[tuple[str, datetime.datetime, dict]] = []

    class CapturingScheduler(scheduler_class):
        def apply_async(self, entry, producer=None, advance=True, **kwargs):
            sent.append((entry.options["headers"].get("_schema_name"), _now(), entry.options))

    with time_machine.travel(start, tick=False) as clock:
        scheduler = CapturingScheduler(app=app)
        scheduler.producer = None  # publishing is captured; nothing connects to RabbitMQ
        moment = start
        while moment < end:
            if on_minute is not None:
                on_minute(moment)
            for _ in range(1000):  # each tick sends at most one due entry; 0 means "again now"
                if scheduler.tick() != 0:
                    break
            moment += datetime.timedelta(minutes=1)
            clock.move_to(moment)
        scheduler.sync()
    return [(slug, at, options) for slug, at, options in sent if slug in ZONES]


def _now() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def _local(slug: str, at: datetime.datetime) -> datetime.datetime:
    return at.astimezone(zoneinfo.ZoneInfo(ZONES[slug]))


def _fired(sent, slug: str) -> list[str]:
    """When `slug`'s reset fired, as its local wall-clock time (minute precision)."""
    return [f"{_local(slug, at):%Y-%m-%d %H:%M %Z}" for s, at, _ in sent if s == slug]


def test_every_clinic_resets_at_its_own_local_midnight(clinics):
    start = datetime.datetime(2027, 1, 11, 12, 0, tzinfo=UTC)
    _beat_has_been_running_since(start)

    sent = run_beat(start, start + datetime.timedelta(days=2))

    for slug in ZONES:
        fired = [_local(slug, at) for s, at, _ in sent if s == slug]
        assert [(f.day, f.hour, f.minute) for f in fired] == [(12, 0, 0), (13, 0, 0)], slug
    utc_times = {slug: _fired_utc(sent, slug)[0] for slug in ZONES}
    assert utc_times == {
        "rs_lisboa": "01-12 00:00",
        "rs_noronha": "01-12 02:00",
        "rs_saopaulo": "01-12 03:00",
        "rs_manaus": "01-12 04:00",
        "rs_riobranco": "01-12 05:00",
    }


def _fired_utc(sent, slug: str) -> list[str]:
    return [f"{at:%m-%d %H:%M}" for s, at, _ in sent if s == slug]


def test_each_reset_is_published_with_the_clinics_schema_to_the_clinics_queue(clinics):
    start = datetime.datetime(2027, 1, 11, 23, 0, tzinfo=UTC)
    _beat_has_been_running_since(start)

    sent = run_beat(start, start + datetime.timedelta(hours=7))

    assert sorted(slug for slug, _, _ in sent) == sorted(ZONES)
    for slug, _, options in sent:
        queue = clinic_queue_name(schema_name=slug)
        assert options["headers"]["_schema_name"] == slug
        assert (options["queue"], options["routing_key"]) == (queue, queue)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Last Sunday of March 2027 (the 28th): 01:00 UTC clocks jump from 01:00 to 02:00.
        (
            datetime.datetime(2027, 3, 27, 12, 0, tzinfo=UTC),
            ["2027-03-28 00:00 WET", "2027-03-29 00:00 WEST", "2027-03-30 00:00 WEST"],
        ),
        # Last Sunday of October 2027 (the 31st): 01:00 UTC clocks go back from 02:00 to 01:00.
        (
            datetime.datetime(2027, 10, 30, 12, 0, tzinfo=UTC),
            ["2027-10-31 00:00 WEST", "2027-11-01 00:00 WET", "2027-11-02 00:00 WET"],
        ),
    ],
    ids=["march", "october"],
)
def test_lisbon_resets_at_local_midnight_across_its_clock_changes(clinics, start, expected):
    _beat_has_been_running_since(start)

    sent = run_beat(start, start + datetime.timedelta(days=3))

    assert _fired(sent, "rs_lisboa") == expected
    assert len(_fired(sent, "rs_saopaulo")) == 3  # and nobody else moved


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # 01:30 does not exist on 28 March 2027 in Lisbon: it fires once, as the clock jumps.
        (datetime.datetime(2027, 3, 27, 12, 0, tzinfo=UTC), 3),
        # 01:30 happens twice on 31 October 2027 in Lisbon: it still fires once that day.
        (datetime.datetime(2027, 10, 30, 12, 0, tzinfo=UTC), 3),
    ],
    ids=["march", "october"],
)
def test_a_reset_inside_the_changing_hour_fires_once_a_day(clinics, start, expected):
    clinic_update_settings(clinic=clinics["rs_lisboa"], reset_time=datetime.time(1, 30))
    _beat_has_been_running_since(start)

    sent = run_beat(start, start + datetime.timedelta(days=3))

    fired = [_local("rs_lisboa", at) for s, at, _ in sent if s == "rs_lisboa"]
    assert len(fired) == expected
    assert len({f.date() for f in fired}) == expected  # one a day, never two on the same day
    assert all(f.hour in (1, 2) for f in fired)


def test_a_clinic_that_moves_timezone_resets_at_the_new_zones_midnight(clinics):
    start = datetime.datetime(2027, 1, 11, 12, 0, tzinfo=UTC)
    _beat_has_been_running_since(start)
    clinic = clinics["rs_saopaulo"]

    def move(moment):
        if moment == datetime.datetime(2027, 1, 12, 12, 0, tzinfo=UTC):
            clinic_update_settings(clinic=clinic, timezone="America/Rio_Branco")

    # Beat keeps running while the setting changes; it picks the change up by itself.
    sent = run_beat(start, start + datetime.timedelta(days=2), on_minute=move)

    assert _fired_utc(sent, "rs_saopaulo") == ["01-12 03:00", "01-13 05:00"]


def test_a_clinic_that_moves_its_reset_time_resets_at_the_new_time(clinics):
    start = datetime.datetime(2027, 1, 11, 12, 0, tzinfo=UTC)
    _beat_has_been_running_since(start)
    clinic = clinics["rs_manaus"]

    def move(moment):
        if moment == datetime.datetime(2027, 1, 12, 12, 0, tzinfo=UTC):
            clinic_update_settings(clinic=clinic, reset_time=datetime.time(3, 30))

    sent = run_beat(start, start + datetime.timedelta(days=2), on_minute=move)

    assert _fired(sent, "rs_manaus") == ["2027-01-12 00:00 -04", "2027-01-13 03:30 -04"]


def test_a_deactivated_clinic_never_resets(clinics):
    start = datetime.datetime(2027, 1, 11, 12, 0, tzinfo=UTC)
    _beat_has_been_running_since(start)
    clinic_update_settings(clinic=clinics["rs_noronha"], is_active=False)

    sent = run_beat(start, start + datetime.timedelta(days=2))

    assert PeriodicTask.objects.get(name="daily-reset:rs_noronha").enabled is False
    assert _fired(sent, "rs_noronha") == []
    assert len(_fired(sent, "rs_manaus")) == 2


def test_after_beat_was_down_every_missed_reset_is_sent_once_at_restart(clinics):
    # Beat last ran on the 8th; it comes back at 12:00 UTC on the 11th.
    _beat_has_been_running_since(datetime.datetime(2027, 1, 8, 12, 0, tzinfo=UTC))
    start = datetime.datetime(2027, 1, 11, 12, 0, tzinfo=UTC)

    sent = run_beat(start, start + datetime.timedelta(days=1))

    # Once at start-up (the reset closes every missed day), then at the local midnight only.
    for slug in ZONES:
        fired = [_local(slug, at) for s, at, _ in sent if s == slug]
        assert fired[0] == _local(slug, start), slug
        assert [(f.day, f.hour, f.minute) for f in fired[1:]] == [(12, 0, 0)], slug
