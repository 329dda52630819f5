"""The days a clinic can mean: what date inputs accept (API, pages, CSV downloads).

No queue, appointment or report of Clinico lies before 2000-01-01, and appointments are booked at
most two years ahead. Outside those bounds a date is a typo or a probe, and it would overflow the
calendar arithmetic of reports (9999-12-31 plus one day) or of timezone conversions.
"""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

EARLIEST_DAY = datetime.date(2000, 1, 1)
FUTURE_DAYS = 2 * 365 + 1


def latest_day() -> datetime.date:
    """The last day an input may name: two years from today, wherever today is.

    From UTC's date plus a day, not the active zone's: the bound is the same in every clinic,
    at every hour (a page in São Paulo at 22:00 and its API in UTC agree on it).
    """
    return timezone.now().astimezone(datetime.UTC).date() + datetime.timedelta(days=FUTURE_DAYS + 1)


def day_out_of_range(day: datetime.date) -> bool:
    """Whether `day` lies outside what a clinic can mean (before 2000, over two years ahead)."""
    return not EARLIEST_DAY <= day <= latest_day()


def day_in_range_validate(day: datetime.date) -> None:
    """Django validator (forms): a ValidationError naming the bounds when `day` is outside them."""
    if day_out_of_range(day):
        raise ValidationError(
            _("Give a date from {earliest} to {latest}.").format(
                earliest=EARLIEST_DAY, latest=latest_day()
            ),
            code="out_of_range",
        )
