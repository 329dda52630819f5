"""The platform's gauges on beat's endpoint, read from the real database and RabbitMQ.

Each test sets the platform in a state an operator must see (a late reset, a beat entry whose
last run is in the future, a check-in left pending, a message waiting in a queue) and reads
what a scrape would show.
"""

import datetime
import json
import time
import uuid
from types import SimpleNamespace

import pytest
from celery.beat import ScheduleEntry, Scheduler
from celery.schedules import schedule as every
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from kombu import Connection, Exchange, Queue
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from clinico.celery import app as celery_app
from common.metrics import PUBLISHED_AT_HEADER, BeatCollector, PlatformCollector
from events.activity.models import ClinicActivity
from integrations.schedule.models import WebhookSchedule
from queueing.models import CheckIn
from tenants.schedules import clinic_reset_schedule_sync, reset_periodic_task_name
from tests.checkin_factories import cpf_from_number
from tests.queueing import factories as f

pytestmark = pytest.mark.django_db


def scrape(collector: PlatformCollector) -> dict[tuple[str, tuple], float]:
    registry = CollectorRegistry()
    registry.register(collector)
    samples = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _no_broker():
    return Connection("amqp://guest:guest@127.0.0.1:1//", connect_timeout=0.5)


def platform(queues=(), broker=_no_broker) -> PlatformCollector:
    return PlatformCollector(queues=lambda: list(queues), broker=broker)


def test_a_clinic_whose_reset_time_passed_unsent_counts_as_late_without_naming_it(clinic_a):
    clinic_reset_schedule_sync(clinic=clinic_a)
    PeriodicTask.objects.filter(
        name=reset_periodic_task_name(schema_name=clinic_a.schema_name)
    ).update(last_run_at=timezone.now() - datetime.timedelta(days=3))
    type(clinic_a).objects.filter(pk=clinic_a.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )

    samples = scrape(platform())

    assert samples[("clinico_clinic_resets_late", ())] >= 1
    # At least the day before's missed reset, at most the three days since the last one.
    late_s = samples[("clinico_clinic_reset_late_seconds", ())]
    assert 600 < late_s <= 3 * 86400 + 60
    assert not any(clinic_a.schema_name in str(labels) for _name, labels in samples)


def test_a_clinic_reset_sent_on_time_is_not_late(clinic_a):
    clinic_reset_schedule_sync(clinic=clinic_a)
    PeriodicTask.objects.filter(name__startswith="daily-reset:").update(last_run_at=timezone.now())

    samples = scrape(platform())

    assert samples[("clinico_clinic_resets_late", ())] == 0
    assert samples[("clinico_clinic_reset_late_seconds", ())] == 0


def _beat_with(*entries) -> BeatCollector:
    """A beat whose scheduler holds `entries` (celery's own entries and schedules)."""
    scheduler = Scheduler(celery_app, lazy=True)
    scheduler.data = {entry.name: entry for entry in entries}
    return BeatCollector(SimpleNamespace(scheduler=scheduler))


def _entry(name: str, *, seconds_ago: float, headers: dict | None = None) -> ScheduleEntry:
    return ScheduleEntry(
        name=name,
        task="tenants.checkins_sweep_task",
        schedule=every(30, app=celery_app),
        last_run_at=timezone.now() - datetime.timedelta(seconds=seconds_ago),
        options={"headers": headers or {}},
        app=celery_app,
    )


def test_beat_lag_and_a_last_run_in_the_future_are_shown_per_platform_task():
    late = _entry("sweep-pending-check-ins", seconds_ago=330)
    ahead = _entry("sweep-webhooks", seconds_ago=-10 * 3600)
    clinic = _entry("daily-reset:clinic_a", seconds_ago=90000, headers={"_schema_name": "x"})

    samples = scrape(_beat_with(late, ahead, clinic))

    # Every 30 s, last sent 330 s ago: 300 s past due.
    assert 290 < samples[("clinico_beat_task_lag_seconds", (("task", late.name),))] < 360
    assert 320 < samples[("clinico_beat_task_last_run_age_seconds", (("task", late.name),))] < 400
    # Sent "ten hours from now" (a clock stepped back): never due, and shown as such.
    assert samples[("clinico_beat_task_last_run_age_seconds", (("task", ahead.name),))] < -35000
    assert samples[("clinico_beat_task_lag_seconds", (("task", ahead.name),))] == 0
    # A clinic's own entry is no series of its own.
    assert not any("daily-reset" in str(labels) for _name, labels in samples)


def test_pending_check_ins_are_counted_from_the_public_index_with_their_age(clinic_a):
    before = scrape(platform())[("clinico_checkins_pending", ())]
    with clinic_a:
        CheckIn.objects.create(cpf=cpf_from_number(777_000_111), service=f.reception())

    samples = scrape(platform())

    assert samples[("clinico_checkins_pending", ())] == before + 1
    assert samples[("clinico_checkins_pending_oldest_age_seconds", ())] >= 0
    assert samples[("clinico_database_up", ())] == 1


def test_an_unreachable_broker_shows_as_down_and_the_database_still_answers():
    samples = scrape(platform(queues=["platform"]))

    assert samples[("clinico_broker_up", ())] == 0
    assert samples[("clinico_database_up", ())] == 1


def test_a_queue_shows_its_depth_and_its_oldest_message_age_and_keeps_the_message():
    """The head message is read and given back: the queue holds it afterwards, in its place."""
    url = celery_app.conf.broker_url
    name = f"metrics-test-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name, auto_delete=False)
    with Connection(url) as conn:
        producer = conn.Producer()
        for age in (30, 5):
            producer.publish(
                {"n": age}, exchange=queue.exchange, routing_key=name, declare=[queue],
                headers={PUBLISHED_AT_HEADER: time.time() - age}, serializer="json",
            )  # fmt: skip
    try:
        samples = scrape(platform(queues=[name], broker=lambda: Connection(url)))

        labels = (("queue", name),)
        assert samples[("clinico_broker_up", ())] == 1
        assert samples[("clinico_celery_queue_messages", labels)] == 2
        assert 29 <= samples[("clinico_celery_queue_oldest_message_age_seconds", labels)] < 60
        with Connection(url) as conn:
            channel = conn.channel()
            first = channel.basic_get(queue=name, no_ack=True)
            assert json.loads(first.body) == {"n": 30}  # still at the head
            assert channel.queue_declare(queue=name, passive=True).message_count == 1
    finally:
        with Connection(url) as conn:
            conn.channel().queue_delete(name)


def test_webhook_work_due_ten_minutes_ago_is_backlog_of_that_age(clinic_a):
    WebhookSchedule.objects.update_or_create(
        clinic=clinic_a, defaults={"due_at": timezone.now() - datetime.timedelta(minutes=10)}
    )

    samples = scrape(platform())

    assert samples[("clinico_webhooks_backlog_clinics", ())] >= 1
    assert 600 <= samples[("clinico_webhooks_oldest_due_age_seconds", ())] < 900


def test_webhook_work_due_later_is_no_backlog(clinic_a):
    WebhookSchedule.objects.all().delete()
    ClinicActivity.objects.all().delete()
    WebhookSchedule.objects.create(
        clinic=clinic_a, due_at=timezone.now() + datetime.timedelta(minutes=10)
    )

    samples = scrape(platform())

    assert samples[("clinico_webhooks_backlog_clinics", ())] == 0
    assert samples[("clinico_webhooks_oldest_due_age_seconds", ())] == 0


@pytest.mark.django_db(transaction=True)
def test_a_platform_task_beat_just_sent_shows_no_lag_with_the_real_scheduler():
    from django_celery_beat.models import IntervalSchedule

    from tenants.beat import ClinicDatabaseScheduler

    every_15s, _ = IntervalSchedule.objects.get_or_create(every=15, period="seconds")
    PeriodicTask.objects.update_or_create(
        name="sweep-metrics-test",
        defaults={
            "task": "tenants.checkins_sweep_task",
            "interval": every_15s,
            "last_run_at": timezone.now() - datetime.timedelta(minutes=2),
        },
    )
    try:
        scheduler = ClinicDatabaseScheduler(app=celery_app)
        entry = scheduler.schedule["sweep-metrics-test"]
        scheduler.reserve(entry)  # beat sends it now, as it does every 15 s

        samples = scrape(BeatCollector(SimpleNamespace(scheduler=scheduler)))
        scheduler._dirty.clear()  # nothing for beat's own save at exit to write
    finally:
        PeriodicTask.objects.filter(name="sweep-metrics-test").delete()

    labels = (("task", "sweep-metrics-test"),)
    assert samples[("clinico_beat_task_last_run_age_seconds", labels)] < 5
    assert samples[("clinico_beat_task_lag_seconds", labels)] == 0
