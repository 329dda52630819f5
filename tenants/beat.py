"""Beat's scheduler: django-celery-beat's DatabaseScheduler with two corrections (docs/reset.md).

1. Upstream (2.8+) loads a crontab entry only while the server's hour is within two hours of the
   entry's hour converted to server time, and converts with each zone's offset on 1 January 2023
   (`_get_timezone_offset`), so a zone's daylight-saving offset is never used. With whole-hour
   DST shifts the two-hour window still covers the error, but only just; here the conversion uses
   each zone's offset *now*, so the window is centred on the true hour in every season.
2. Upstream compares the whole schedule entry by entry on every tick (`schedules_equal`) to decide
   whether to rebuild its heap, so a tick costs O(clinics). The database scheduler already
   rebuilds the heap whenever it reloads the schedule; between reloads the schedule object is
   the one the heap was built from, so the comparison is skipped and a tick is O(log clinics).
3. Because of that window, an entry whose run was missed while beat was down is only loaded,
   and then fired at once, up to two hours before its next time: a clinic's catch-up would
   land at an arbitrary local hour. Here beat's first load after it starts takes every enabled
   entry, so each missed reset is sent once at start-up; later loads use the window.
4. Upstream trusts `last_run_at`: one in the future (a server clock stepped back, a restored VM,
   an NTP correction, a script that ticked beat under time travel) holds its entry back until
   that moment plus a whole interval, silently. Here a `last_run_at` in the future counts as
   now, with a warning naming the entry: an interval entry runs again one interval later, a
   crontab entry at its next time.
5. A database restart under beat costs a few ticks, not the process: a tick that meets a broken
   or refused connection closes it and tries again a few seconds later (common/reconnect.py).
"""

import datetime
import logging
import zoneinfo

from django.db import DatabaseError, InterfaceError, connections
from django.utils import timezone
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from common.reconnect import connection_error_reason

logger = logging.getLogger(__name__)

# After a tick that met the database away, the next one comes this many seconds later.
DATABASE_AWAY_RETRY_SECONDS = 5.0


class ClockCheckedEntry(ModelEntry):
    """A PeriodicTask row's entry whose `last_run_at` is never later than now."""

    last_run_at: datetime.datetime | None

    def __init__(self, model, app=None):
        super().__init__(model, app=app)
        self._last_run_not_after_now()

    def _last_run_not_after_now(self) -> None:
        now, last_run_at = self._default_now(), self.last_run_at
        if last_run_at is None or timezone.is_naive(last_run_at) or timezone.is_naive(now):
            return  # DJANGO_CELERY_BEAT_TZ_AWARE off: upstream's naive UTC, left as it is
        if last_run_at <= now:
            return
        logger.warning(
            "Periodic task %s last ran at %s by the database, %s s ahead of this clock: "
            "counted as run now.",
            self.name,
            last_run_at.isoformat(),
            round((last_run_at - now).total_seconds()),
        )
        self.last_run_at = self.model.last_run_at = now

    def is_due(self):
        self._last_run_not_after_now()  # the clock may have been stepped back since the load
        return super().is_due()


class ClinicDatabaseScheduler(DatabaseScheduler):
    """DatabaseScheduler whose load window follows DST and whose tick does not grow with entries."""

    Entry = ClockCheckedEntry
    _heap_built_from = None
    _loaded_once = False
    # Set by DatabaseScheduler, which ships no types.
    _heap_invalidated: bool

    def tick(self, *args, **kwargs):
        try:
            return super().tick(*args, **kwargs)
        except (DatabaseError, InterfaceError) as error:
            connections.close_all()
            logger.warning(
                "Beat's tick met the database away (%s); again in %s s.",
                connection_error_reason(error),
                DATABASE_AWAY_RETRY_SECONDS,
            )
            return DATABASE_AWAY_RETRY_SECONDS

    def enabled_models_qs(self):
        if self._loaded_once:
            return super().enabled_models_qs()
        self._loaded_once = True
        return self.Model.objects.enabled()

    def _get_timezone_offset(self, timezone_name) -> int:
        """Hours to add to a wall-clock hour in `timezone_name` to get the server's (UTC) hour."""
        if isinstance(timezone_name, zoneinfo.ZoneInfo):
            target = timezone_name
        else:
            target = zoneinfo.ZoneInfo(str(timezone_name))
        now = timezone.now()
        server_offset = now.astimezone(datetime.UTC).utcoffset() or datetime.timedelta()
        target_offset = now.astimezone(target).utcoffset() or datetime.timedelta()
        return round((server_offset - target_offset).total_seconds() / 3600)

    def populate_heap(self, *args, **kwargs):
        super().populate_heap(*args, **kwargs)
        self._heap_built_from = self._schedule

    def schedules_equal(self, old_schedules, new_schedules) -> bool:
        if self._heap_invalidated:
            self._heap_invalidated = False
            return False
        if new_schedules is not None and new_schedules is self._heap_built_from:
            return True
        return super().schedules_equal(old_schedules, new_schedules)
