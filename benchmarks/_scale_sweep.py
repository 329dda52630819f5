"""How many statements one check-in sweep issues with `clinics` active clinics (for scale.py).

    from benchmarks._scale_sweep import sweep_statements
    sweep_statements(clinics=10_000)  # -> 1 when nothing is due, whatever the clinic count

The sweeper finds due check-ins through the public index of pending ones (one query), then
visits only the clinics that have some; the count does not grow with clinics (the loop it
replaced issued two per active clinic). The database must hold at least `clinics` clinics
(bench clinics, usually inactive): the first `clinics` of them are made active inside a
transaction that is rolled back, so nothing is left changed.

Import after `django.setup()`.
"""

from django.db import connection, transaction

from tenants.models import Clinic
from tenants.schema import template_schema_name
from tenants.sweeper import checkins_sweep


class _Rollback(Exception):
    pass


def sweep_statements(*, clinics: int) -> int:
    """Statements sent to PostgreSQL by one `checkins_sweep()` with `clinics` active clinics."""
    connection.set_schema_to_public()
    statements: list[str] = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    try:
        with transaction.atomic():
            ids = list(
                Clinic.objects.exclude(schema_name__in=["public", template_schema_name()])
                .order_by("pk")
                .values_list("pk", flat=True)[:clinics]
            )
            if len(ids) < clinics:
                raise ValueError(f"The database holds {len(ids)} clinics, not {clinics}.")
            Clinic.objects.filter(pk__in=ids).update(is_active=True)
            with connection.execute_wrapper(count):
                checkins_sweep()
            raise _Rollback
    except _Rollback:
        pass
    return len(statements)
