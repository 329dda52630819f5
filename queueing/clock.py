"""The clinic's clock: its timezone and service day, read from the current tenant."""

import datetime
import zoneinfo

from django.utils import timezone

from common.tenancy import active_clinic


def clinic_timezone() -> zoneinfo.ZoneInfo:
    """The timezone of the clinic whose schema is active."""
    return zoneinfo.ZoneInfo(active_clinic().timezone)


def service_day_of(moment: datetime.datetime) -> datetime.date:
    """The clinic-local date of `moment`: the service day a ticket issued then belongs to."""
    return moment.astimezone(clinic_timezone()).date()


def service_day_today() -> datetime.date:
    return service_day_of(timezone.now())
