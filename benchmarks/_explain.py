"""call-next's statements as they ran, each under EXPLAIN (ANALYZE, BUFFERS), for queue.py.

The statements are captured from the connection while `ticket_call_next` runs in a transaction
that is rolled back, then replayed in order under EXPLAIN ANALYZE in a second rolled-back one:
each plan is the one PostgreSQL chose for the text and values that ran.

Import after `django.setup()`.
"""

from django.db import connection, transaction

from queueing.services.ticket_sql.moves import _DESK_LOCK_SQL
from queueing.services.workflow import ticket_call_next

# What marks call-next's pick among the statements it runs.
PICK_MARK = "FOR UPDATE SKIP LOCKED"


def _statement_label(sql: str) -> str:
    if PICK_MARK in sql:
        return "pick, call and CALLED event (ticket_sql.ticket_call_first_waiting)"
    if sql == _DESK_LOCK_SQL:
        return "desk lock, its held ticket and services (ticket_sql.desk_lock_for_calling)"
    if "pg_advisory_xact_lock" in sql:
        return "interleave: the service's advisory lock"
    if "queueing_ticketevent" in sql:
        return "interleave: the service's latest calls"
    return "other: " + " ".join(sql.split())[:80]


def call_next_explained(*, desk_id: int) -> list[dict]:
    """The statements one call-next runs, each with its EXPLAIN (ANALYZE, BUFFERS); no change stays.

    Run inside the clinic. The statements are captured from the connection while
    `ticket_call_next` runs (rolled back), then replayed in order under EXPLAIN ANALYZE (rolled
    back too), so each plan is the one PostgreSQL chose for the text and values that ran.
    """
    captured: list[tuple[str, object]] = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with transaction.atomic():
        with connection.execute_wrapper(capture):
            ticket_call_next(desk_id=desk_id)
        transaction.set_rollback(True)
    statements = [
        (sql, params)
        for sql, params in captured
        if sql.split(None, 1)[0].upper() in ("SELECT", "WITH")
    ]
    if not any(PICK_MARK in sql for sql, _ in statements):
        raise SystemExit(
            f"call-next ran no statement with {PICK_MARK}: "
            "update benchmarks/_explain.py to explain the pick it runs now."
        )
    explained = [{"label": _statement_label(sql)} for sql, _ in statements]
    # Twice, each replay rolled back: the text plan to read, the JSON plan to count sorted rows.
    for form in ("TEXT", "JSON"):
        with transaction.atomic(), connection.cursor() as cursor:
            for entry, (sql, params) in zip(explained, statements, strict=True):
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT {form}) {sql}", params)
                rows = cursor.fetchall()
                if form == "TEXT":
                    entry["sql"] = cursor.cursor.mogrify(sql, params).decode()
                    entry["plan"] = "\n".join(row[0] for row in rows)
                else:
                    sorts = list(_sort_inputs(rows[0][0][0]["Plan"]))
                    entry["sorted_rows"] = [fed for fed, _ in sorts]
                    entry["sorted_per_run"] = [fed / runs for fed, runs in sorts if runs]
            transaction.set_rollback(True)
    return explained


def _sort_inputs(node: dict):
    """Each (incremental) sort of a JSON plan: (rows it was fed, however few LIMIT keeps, runs)."""
    if node["Node Type"] in ("Sort", "Incremental Sort"):
        fed = sum(
            child.get("Actual Rows", 0) * child.get("Actual Loops", 1)
            for child in node.get("Plans", [])
        )
        yield fed, node.get("Actual Loops", 1)
    for child in node.get("Plans", []):
        yield from _sort_inputs(child)


def pick_walks_index(explained: list[dict], *, services: int) -> bool:
    """Every pick's plan reads ticket_waiting_call_order in call order.

    No Sort node for one service; for several, no sort of more rows per run than the services'
    heads (the merge of their index walks), never the queue.
    """
    picks = [s for s in explained if s["label"].startswith("pick")]
    return all(
        "ticket_waiting_call_order" in s["plan"]
        and all(rows <= (services if services > 1 else 0) for rows in s["sorted_per_run"])
        for s in picks
    )


def rows_sorted(explained: list[dict]) -> dict[str, int]:
    """Per statement that sorts, the rows it sorts: a cost that grows with the queue or the day."""
    return {s["label"].split(" (")[0]: sum(s["sorted_rows"]) for s in explained if s["sorted_rows"]}


def print_explained(explained: list[dict], *, with_sql: bool) -> None:
    for statement in explained:
        print(f"  -- {statement['label']}")
        if with_sql:
            print("     " + " ".join(statement["sql"].split()))
        print("     " + statement["plan"].replace("\n", "\n     "))
