"""Helpers the apps' REST APIs share: service errors as 400s, query parameters validated."""

import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from common.dates import EARLIEST_DAY, day_out_of_range, latest_day

# PostgreSQL's bigint: ids beyond it match no row, and some statements cast to it and fail.
BIGINT_MAX = 2**63 - 1

OUT_OF_RANGE = _("Give a date from {earliest} to {latest}.")
NOT_ASCII = _("Write the date with the digits 0-9 (YYYY-MM-DD).")


def ascii_date_text(field: serializers.Field, value: object) -> None:
    """Refuse a date or time written with other scripts' digits ("٢٠٢٦-١٢-٠١"): Django's date
    parsing reads any Unicode digit, and the README says inputs are ASCII."""
    if isinstance(value, str) and not value.isascii():
        field.fail("not_ascii")


class AsciiDateField(serializers.DateField):
    """A date written in ASCII digits, with no range (a birth date may be any past day)."""

    default_error_messages = {"not_ascii": NOT_ASCII}

    def to_internal_value(self, value):
        ascii_date_text(self, value)
        return super().to_internal_value(value)


class DateField(serializers.DateField):
    """A date a clinic can mean: from 2000-01-01 to two years from today (common.dates)."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE, "not_ascii": NOT_ASCII}

    def to_internal_value(self, value):
        ascii_date_text(self, value)
        day = super().to_internal_value(value)
        if day_out_of_range(day):
            self.fail("out_of_range", earliest=EARLIEST_DAY, latest=latest_day())
        return day


class DateTimeField(serializers.DateTimeField):
    """A moment a clinic can mean, on the days of DateField; never an OverflowError."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE, "not_ascii": NOT_ASCII}

    def to_internal_value(self, value):
        ascii_date_text(self, value)
        try:
            moment = super().to_internal_value(value)
        except OverflowError:  # 9999-12-31T23:59:59 moved to another zone leaves the calendar
            moment = None
        if moment is None or day_out_of_range(moment.date()):
            self.fail("out_of_range", earliest=EARLIEST_DAY, latest=latest_day())
        return moment


class IdField(serializers.IntegerField):
    """A row id (1 to bigint's maximum) written in ASCII digits.

    Python's int() also reads other scripts' digits ("٣" is 3) and str.isdigit() accepts "²",
    which int() then refuses: an id is checked character by character instead.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and not (data.isascii() and data.isdigit()):
            self.fail("invalid")
        return super().to_internal_value(data)


def query_params_validate(*, request, serializer_class: type[serializers.Serializer]) -> dict:
    """The request's query parameters as `serializer_class` validates them; else a 400 naming each.

    Document the same serializer with `extend_schema(parameters=[serializer_class])`: the
    parameters and their 400 bodies then appear in the OpenAPI document (common.openapi).
    """
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def django_validation_to_api(error: DjangoValidationError) -> serializers.ValidationError:
    """A service's ValidationError as the API's 400, keeping the field names."""
    if hasattr(error, "error_dict"):
        return serializers.ValidationError(error.message_dict)
    return serializers.ValidationError({"non_field_errors": error.messages})


def date_range_checked(
    *, date_from: datetime.date, date_to: datetime.date, max_days: int
) -> dict[str, datetime.date]:
    """`{"date_from", "date_to"}` of a `from`/`to` query, or a 400 naming `from`."""
    if date_from > date_to:
        raise serializers.ValidationError({"from": "`from` must not be after `to`."})
    if (date_to - date_from).days >= max_days:
        raise serializers.ValidationError({"from": f"Ask for at most {max_days} days at a time."})
    return {"date_from": date_from, "date_to": date_to}
