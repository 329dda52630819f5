"""Beat does not trust a `last_run_at` in the future: a platform sweeper still runs on time.

A server clock stepped back (a restored VM, an NTP correction), or anything that saved a
schedule under time travel, leaves a PeriodicTask's `last_run_at` ahead of the clock. The real
scheduler (settings.CELERY_BEAT_SCHEDULER) runs over the real PeriodicTask rows at frozen times;
only the final publish to RabbitMQ is captured instead of sent.
"""

import datetime
import logging

import pytest
import time_machine
from django.conf import settings
from django_celery_beat.models import PeriodicTask
from kombu.utils import symbol_by_name

from clinico.celery import app
from integrations.services import webhooks_sweep_schedule_ensure
from tenants.live_figures import live_figures_catch_up_schedule_ensure

pytestmark = pytest.mark.django_db(transaction=True)

UTC = datetime.UTC
START = datetime.datetime(2027, 3, 10, 14, 0, 7, tzinfo=UTC)


def _beat(start: datetime.datetime, seconds: int) -> list[tuple[str, float]]:
    """The real scheduler ticking each second for `seconds` from `start`: (task name, seconds
    after `start`) of every entry it sent."""
    scheduler_class = symbol_by_name(settings.CELERY_BEAT_SCHEDULER)
    sent: list[tuple[str, float]] = []

    class CapturingScheduler(scheduler_class):
        def apply_async(self, entry, producer=None, advance=True, **kwargs):
            moment = datetime.datetime.now(UTC)
            sent.append((entry.name, (moment - start).total_seconds()))

    with time_machine.travel(start, tick=False) as clock:
        scheduler = CapturingScheduler(app=app)
        scheduler.producer = None  # publishing is captured; nothing connects to RabbitMQ
        for second in range(seconds + 1):
            clock.move_to(start + datetime.timedelta(seconds=second))
            for _ in range(100):  # each tick sends at most one due entry; 0 means "again now"
                if scheduler.tick() != 0:
                    break
        scheduler.sync()
    return sent


def test_a_platform_task_ten_hours_ahead_is_sent_within_one_interval(caplog):
    sweeper = webhooks_sweep_schedule_ensure()
    live_figures_catch_up_schedule_ensure()
    interval = sweeper.interval.every
    ahead = START + datetime.timedelta(hours=10)
    PeriodicTask.objects.filter(name=sweeper.name).update(last_run_at=ahead)

    with caplog.at_level(logging.WARNING, logger="tenants.beat"):
        sent = _beat(START, interval + 2)

    sweeps = [at for name, at in sent if name == "sweep-webhooks"]
    assert sweeps, sent
    assert sweeps[0] <= interval + 1
    # The operator is told which entry the clock disagreed with.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("sweep-webhooks" in message for message in warnings), warnings
    # Once sent, the row holds a run time on this clock again.
    sweeper.refresh_from_db()
    assert sweeper.last_run_at <= START + datetime.timedelta(seconds=interval + 2)


def test_a_platform_task_on_time_is_not_sent_early():
    sweeper = webhooks_sweep_schedule_ensure()
    interval = sweeper.interval.every
    PeriodicTask.objects.filter(name=sweeper.name).update(last_run_at=START)

    sent = _beat(START, interval - 2)

    assert [name for name, _ in sent if name == "sweep-webhooks"] == []
