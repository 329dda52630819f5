"""What the benchmarks read back from a bench clinic's tables once the requests are answered.

The check-in benchmark: the worker's backlog, lost and duplicated check-ins and tickets, and when
each ticket was issued. The queue benchmark: tickets called twice or at two desks, and calls off
the interleave policy's pattern.

Import after `django.setup()`.
"""

import time

from django.db import connection
from psycopg2 import sql

from queueing.models import PriorityTier, Service


def pending_count(schemas: list[str]) -> int:
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT count(*) FROM {}.queueing_checkin WHERE status = 'pending'").format(
            sql.Identifier(schema)
        )
        for schema in schemas
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        return sum(count for (count,) in cursor.fetchall())


def wait_settled(schemas: list[str], timeout: float) -> int:
    """Wait until no check-in of the bench clinics is pending; how many still are."""
    deadline = time.monotonic() + timeout
    left = pending_count(schemas)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = pending_count(schemas)
    return left


def _rows(query: sql.Composable, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def outcome_in_db(*, schema: str, posted: list[dict]) -> dict:
    """Lost and duplicated check-ins and tickets of one bench clinic, read from its tables."""
    s = sql.Identifier(schema)
    posted_ids = {item["id"] for item in posted}
    rows = _rows(sql.SQL("SELECT id::text, ticket_id FROM {}.queueing_checkin").format(s))
    ticket_of = dict(rows)
    found = set(ticket_of)
    checks = {
        "missing": len(posted_ids - found),
        "without_ticket": sum(1 for i in posted_ids & found if ticket_of[i] is None),
        "unposted_checkins": len(found - posted_ids),
    }
    extra = (
        ("tickets_shared", "SELECT count(*) - 1 FROM {}.queueing_checkin "
         "WHERE ticket_id IS NOT NULL GROUP BY ticket_id HAVING count(*) > 1"),
        ("patient_tickets_twice", "SELECT count(*) - 1 FROM {}.queueing_ticket "
         "GROUP BY patient_id, service_id, service_day HAVING count(*) > 1"),
        ("numbers_twice", "SELECT count(*) - 1 FROM {}.queueing_ticket "
         "GROUP BY service_id, service_day, number HAVING count(*) > 1"),
        ("cpfs_twice", "SELECT count(*) - 1 FROM {}.patients_patient "
         "GROUP BY cpf HAVING count(*) > 1"),
    )  # fmt: skip
    for name, query in extra:
        checks[name] = sum(n for (n,) in _rows(sql.SQL(query).format(s)))
    checks["lost"] = checks["missing"] + checks["without_ticket"]
    checks["duplicates"] = (
        checks["unposted_checkins"]
        + checks["tickets_shared"]
        + checks["patient_tickets_twice"]
        + checks["numbers_twice"]
        + checks["cpfs_twice"]
    )
    return checks


def issued_ms(*, schema: str, items: list[dict]) -> list[float]:
    """Each check-in's POST start → its ticket's issued_at (inside the transaction, pre-commit)."""
    if not items:
        return []
    rows = _rows(
        sql.SQL(
            "SELECT c.id::text, extract(epoch FROM t.issued_at) FROM {s}.queueing_checkin c "
            "JOIN {s}.queueing_ticket t ON t.id = c.ticket_id WHERE c.id = ANY(%s::uuid[])"
        ).format(s=sql.Identifier(schema)),
        [[item["id"] for item in items]],
    )
    issued = {checkin_id: float(epoch) for checkin_id, epoch in rows}
    return [
        (issued[item["id"]] - item["started_wall"]) * 1000 for item in items if item["id"] in issued
    ]


def calls_in_db() -> dict:
    """Run inside the clinic: tickets with a CALLED event; those called twice or at two desks."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ticket_id, count(*), count(DISTINCT desk_id) FROM queueing_ticketevent "
            "WHERE kind = 'called' GROUP BY ticket_id"
        )
        rows = cursor.fetchall()
    return {
        "tickets": {ticket_id for ticket_id, _, _ in rows},
        "called_twice": sum(1 for _, calls, _ in rows if calls > 1),
        "two_desks": sum(1 for _, _, desks in rows if desks > 1),
        "double": sum(1 for _, calls, desks in rows if calls > 1 or desks > 1),
    }


def interleave_violations(*, service: Service) -> int:
    """Run inside the clinic: CALLED events, in the order they were written, off the pattern.

    With priority and normal tickets both waiting throughout, the policy calls exactly N
    priority tickets, then one normal one. A normal call before N priority calls in a row, or
    a priority call after N, is a violation. The advisory lock serialises the service's calls,
    so event ids are the order of the calls.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.priority_tier FROM queueing_ticketevent e "
            "JOIN queueing_ticket t ON t.id = e.ticket_id "
            "WHERE e.kind = 'called' AND t.service_id = %s ORDER BY e.id",
            [service.pk],
        )
        tiers = [tier for (tier,) in cursor.fetchall()]
    n = service.interleave_after
    violations, in_a_row = 0, 0
    for tier in tiers:
        if tier == PriorityTier.NORMAL:
            violations += in_a_row != n
            in_a_row = 0
        else:
            violations += in_a_row >= n
            in_a_row += 1
    return violations
