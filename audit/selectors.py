"""Reads of the access trail, for clinic admins and for a patient's data export."""

import csv
import datetime
import io
import re
import zoneinfo
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from audit.models import AccessEntry

CSV_COLUMNS = (
    "at",
    "user_id",
    "user_email",
    "role",
    "partner_client_id",
    "patient_id",
    "action",
    "fields",
    "address",
    "purpose",
)

# The CSV's header, for the people who open it in a spreadsheet (in the request's language).
CSV_HEADERS = {
    "at": _("When"),
    "user_id": _("User id"),
    "user_email": _("User e-mail"),
    "role": _("Role"),
    "partner_client_id": _("Partner client"),
    "patient_id": _("Patient id"),
    "action": _("Action"),
    "fields": _("Fields"),
    "address": _("Address"),
    "purpose": _("Purpose"),
}


def access_entries_list(
    *,
    patient_id: int | None = None,
    user_id: int | None = None,
    partner_client_id: str = "",
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
) -> QuerySet[AccessEntry]:
    """The clinic's trail entries, oldest first, filtered by patient, person and time."""
    entries = AccessEntry.objects.all()
    if patient_id is not None:
        entries = entries.filter(patient_id=patient_id)
    if user_id is not None:
        entries = entries.filter(user_id=user_id)
    if partner_client_id:
        entries = entries.filter(partner_client_id=partner_client_id)
    if since is not None:
        entries = entries.filter(at__gte=since)
    if until is not None:
        entries = entries.filter(at__lt=until)
    return entries.order_by("at", "id")


# After a "," or ";" too: a spreadsheet expecting the other separator starts a cell there.
_AFTER_SEPARATOR = re.compile(r"([,;])(?=[=+\-@\t\r])")


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula (common.spreadsheet
    does the same; the import layers keep audit and common apart)."""
    text = _AFTER_SEPARATOR.sub(r"\1'", "" if value is None else str(value))
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def access_entries_csv(*, entries: QuerySet[AccessEntry], zone: zoneinfo.ZoneInfo) -> Iterator[str]:
    """The entries as CSV text, a header line then one line per entry, streamed in chunks.

    Times are the clinic's (`zone`), with their offset: "2026-12-07 12:15:00-03:00".
    """
    # Translated now: the lines are streamed after the request's language is gone.
    header = [str(CSV_HEADERS[column]) for column in CSV_COLUMNS]
    return _csv_lines(entries=entries, zone=zone, header=header)


def _csv_lines(
    *, entries: QuerySet[AccessEntry], zone: zoneinfo.ZoneInfo, header: list[str]
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for entry in entries.iterator(chunk_size=2000):
        row = [getattr(entry, column) for column in CSV_COLUMNS]
        row[0] = entry.at.astimezone(zone).isoformat(sep=" ", timespec="seconds")
        row[CSV_COLUMNS.index("fields")] = " ".join(entry.fields)
        writer.writerow([_cell(value) for value in row])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
