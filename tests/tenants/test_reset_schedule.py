"""Each clinic's reset fires at its own local reset time, driven by the real beat scheduler.

The scheduler is the one beat runs (settings.CELERY_BEAT_SCHEDULER, a django-celery-beat
DatabaseScheduler) over the real PeriodicTask rows provisioning wrote, at frozen times; only the
final publish to RabbitMQ is captured instead of sent.

The clock stops only around the moments where beat could go wrong, and jumps in between: each
clinic's local reset time, each clock change of its zone, each hour at which beat starts or stops
loading a reset, and each settings change (`_steps`). The jumps hide nothing: a due entry stays
due until beat publishes it, so a publish at any moment shows at the next stop, and since the stop
before each reset time is the minute before it, a publish shows at a clinic's reset time only when
it happened in that minute, as with a tick every minute.
"""

import datetime
import zoneinfo
from collections.abc import Callable

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from django_tenants.utils import schema_exists
from kombu.utils import symbol_by_name

from clinico.celery import app
from tenants.models import Chain, Clinic, Domain
from tenants.routing import clinic_queue_name
from tenants.schedules import reset_periodic_task_name
from tenants.selectors import clinic_host_cache_clear
from tenants.services import chain_create, clinic_provision, clinic_update_settings

UTC = datetime.UTC
ZONES = {
    "rs_noronha": "America/Noronha",  # UTC-2
    "rs_saopaulo": "America/Sao_Paulo",  # UTC-3
    "rs_manaus": "America/Manaus",  # UTC-4
    "rs_riobranco": "America/Rio_Branco",  # UTC-5
    "rs_lisboa": "Europe/Lisbon",  # UTC+0 in winter, UTC+1 from the last Sunday of March
}
MINUTE = datetime.timedelta(minutes=1)
# django-celery-beat loads a crontab entry while the server's hour is within two hours of it.
HORIZON_BEFORE = datetime.timedelta(hours=2)
HORIZON_AFTER = datetime.timedelta(hours=3)

pytestmark = pytest.mark.django_db(transaction=True)


def _drop(slug: str) -> None:
    PeriodicTask.objects.filter(name=reset_periodic_task_name(schema_name=slug)).delete()
    Domain.objects.filter(tenant__schema_name=slug).delete()
    Clinic.objects.filter(schema_name=slug).delete()
    if schema_exists(slug):
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{slug}" CASCADE')


@pytest.fixture(scope="module")
def zone_clinics(django_db_setup, django_db_blocker) -> list:
    """One clinic per zone, provisioned once for the module; its public rows, as provisioned.

    Each test is transactional (beat's scheduler commits and reconnects as in production), so
    the flush after it removes these rows; the next test puts them back, while the clinics'
    schemas stay for the whole module.
    """
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        for slug in ZONES:
            _drop(slug)
        chain = Chain.objects.filter(slug="rede_fusos").first() or chain_create(
            name="Rede Fusos", slug="rede_fusos"
        )
        for slug, tz in ZONES.items():
            clinic_provision(chain=chain, name=f"Clínica {slug}", slug=slug, timezone=tz)
        tasks = PeriodicTask.objects.filter(
            name__in=[reset_periodic_task_name(schema_name=slug) for slug in ZONES]
        )
        rows = [
            [chain],
            list(Clinic.objects.filter(schema_name__in=ZONES)),
            list(Domain.objects.filter(tenant__schema_name__in=ZONES)),
            list(CrontabSchedule.objects.filter(periodictask__in=tasks).distinct()),
            list(tasks),
        ]
    yield rows
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        for slug in ZONES:
            _drop(slug)
        Chain.objects.filter(slug="rede_fusos").delete()
        clinic_host_cache_clear()


@pytest.fixture
def clinics(zone_clinics) -> dict[str, Clinic]:
    """The zone clinics as provisioned: their zone, a 00:00 reset, active."""
    connection.set_schema_to_public()
    for rows in zone_clinics:
        type(rows[0]).objects.bulk_create(rows, ignore_conflicts=True)
    clinic_host_cache_clear()
    return {clinic.schema_name: clinic for clinic in Clinic.objects.filter(schema_name__in=ZONES)}


def _beat_has_been_running_since(at: datetime.datetime) -> None:
    """As if beat had last fired every reset just before `at` (it ran without a gap till then)."""
    PeriodicTask.objects.filter(task="tenants.clinic_day_close_task").update(last_run_at=at)


def _steps(start: datetime.datetime, end: datetime.datetime) -> set:
    """Where the clock stops from `start` to `end`, for the zone clinics as they are set now.

    Around each local reset time (both readings of a time in a skipped or repeated hour) and each
    clock change of the clinics' zones: 5 minutes before, the minute before, the moment itself
    and the minute after. Around each hour at which beat starts or stops loading a reset (it
    loads an entry while the server's hour is within two hours of the entry's): 5 minutes before
    and the hour itself. Beat reloads its schedule every 5 minutes, so it reloads at the first
    stop of each of these and again exactly at the moment: what it loads just before and at the
    moment both count.
    """
    around, edges = set(), set()
    for clinic in Clinic.objects.filter(schema_name__in=ZONES):
        zone = zoneinfo.ZoneInfo(clinic.timezone)
        day = start.astimezone(zone).date() - datetime.timedelta(days=1)
        while day <= end.astimezone(zone).date():
            for fold in (0, 1):
                local = datetime.datetime.combine(day, clinic.reset_time, zone).replace(fold=fold)
                at = local.astimezone(UTC)
                around.add(at)
                hour = at.replace(minute=0)
                edges |= {hour - HORIZON_BEFORE, hour + HORIZON_AFTER}
            day += datetime.timedelta(days=1)
        around |= _clock_changes(zone, start, end)
    steps = {start}
    steps |= {moment + minutes * MINUTE for moment in around for minutes in (-5, -1, 0, 1)}
    steps |= {moment + minutes * MINUTE for moment in edges for minutes in (-5, 0)}
    return {step for step in steps if start <= step < end}


def _clock_changes(zone: zoneinfo.ZoneInfo, start, end) -> set:
    """The instants (to the minute) from `start` to `end` at which `zone`'s UTC offset changes."""
    changes = set()
    quarter = datetime.timedelta(minutes=15)
    moment = start
    while moment < end:
        before = moment.astimezone(zone).utcoffset()
        if (moment + quarter).astimezone(zone).utcoffset() != before:
            change = moment + MINUTE
            while change.astimezone(zone).utcoffset() == before:
                change += MINUTE
            changes.add(change)
        moment += quarter
    return changes


def run_beat(
    start: datetime.datetime,
    end: datetime.datetime,
    *,
    changes: dict[datetime.datetime, Callable[[], None]] | None = None,
) -> list:
    """Run the real scheduler from `start` to `end`, applying `changes` when the clock reaches
    them; every reset it publishes, as (slug, UTC time, publish options)."""
    changes = changes or {}
    scheduler_class = symbol_by_name(settings.CELERY_BEAT_SCHEDULER)
    sent: list[tuple[str, datetime.datetime, dict]] = []

    class CapturingScheduler(scheduler_class):
        def apply_async(self, entry, producer=None, advance=True, **kwargs):
            sent.append((entry.options["headers"].get("_schema_name"), _now(), entry.options))

    steps = _steps(start, end) | {moment for moment in changes if start <= moment < end}
    with time_machine.travel(start, tick=False) as clock:
        scheduler = CapturingScheduler(app=app)
        scheduler.producer = None  # publishing is captured; nothing connects to RabbitMQ
        moment = start
        while moment is not None:
            clock.move_to(moment)
            if moment in changes:
                changes[moment]()
                steps |= _steps(moment, end)
            for _ in range(1000):  # each tick sends at most one due entry; 0 means "again now"
                if scheduler.tick() != 0:
                    break
            moment = min((step for step in steps if step > moment), default=None)
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

    def move():
        clinic_update_settings(clinic=clinic, timezone="America/Rio_Branco")

    # Beat keeps running while the setting changes; it picks the change up by itself.
    sent = run_beat(
        start,
        start + datetime.timedelta(days=2),
        changes={datetime.datetime(2027, 1, 12, 12, 0, tzinfo=UTC): move},
    )

    assert _fired_utc(sent, "rs_saopaulo") == ["01-12 03:00", "01-13 05:00"]


def test_a_clinic_that_moves_its_reset_time_resets_at_the_new_time(clinics):
    start = datetime.datetime(2027, 1, 11, 12, 0, tzinfo=UTC)
    _beat_has_been_running_since(start)
    clinic = clinics["rs_manaus"]

    def move():
        clinic_update_settings(clinic=clinic, reset_time=datetime.time(3, 30))

    sent = run_beat(
        start,
        start + datetime.timedelta(days=2),
        changes={datetime.datetime(2027, 1, 12, 12, 0, tzinfo=UTC): move},
    )

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
