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
"""

import datetime
import zoneinfo

from django.utils import timezone
from django_celery_beat.schedulers import DatabaseScheduler


class ClinicDatabaseScheduler(DatabaseScheduler):
    """DatabaseScheduler whose load window follows DST and whose tick does not grow with entries."""

    _heap_built_from = None
    _loaded_once = False
    # Set by DatabaseScheduler, which ships no types.
    _heap_invalidated: bool

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
