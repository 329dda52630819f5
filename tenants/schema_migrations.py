"""Tenant migrations at any clinic count: what is pending found in one pass, applied in parallel.

`manage.py migrate` per schema costs a quarter of a second with nothing to do (it introspects the
catalog and renders every model's state), and more than half a second per schema for a real
migration. Here the pending clinics are found by reading every schema's django_migrations in a
few batched queries (no catalog introspection per schema), and each worker process loads the
migration graph and builds the models' states once, then runs only the pending operations'
SQL in each schema it is handed. Each migration is applied and recorded in the clinic's own
django_migrations in its own transaction, as Django does, so a failed clinic leaves the others
migrated and a second run picks up only what is still pending.
"""

import multiprocessing
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.operations.base import Operation
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState

from common.tenancy import tenant_connection

# Schemas read per query: each read takes a lock on that schema's django_migrations until the
# statement ends, and the lock table holds max_locks_per_transaction x max_connections (6,400
# at PostgreSQL's defaults) for every session at once.
PENDING_BATCH = 400


@dataclass(frozen=True)
class SchemaMigrated:
    """What migrating one schema did: how many migrations, how long, or the error."""

    schema: str
    applied: int
    seconds: float
    error: str | None = None


def migration_graph_nodes() -> list[str]:
    """Every migration of the project's graph as "app.name" (read from disk, not the database)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return sorted(f"{app}.{name}" for app, name in loader.graph.nodes)


def _complete_in_batch(batch: list[str], nodes: list[str], *, own_connection: bool) -> set[str]:
    """The schemas of `batch` that recorded every migration of `nodes` (one query)."""
    parts = [
        f"SELECT %(s{i})s AS s, count(DISTINCT m.app || '.' || m.name) AS n "
        f"FROM {connection.ops.quote_name(name)}.django_migrations m "
        "WHERE m.app || '.' || m.name = ANY(%(nodes)s)"
        for i, name in enumerate(batch)
    ]
    params: dict = {f"s{i}": name for i, name in enumerate(batch)}
    params.update(nodes=nodes, count=len(set(nodes)))
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT s FROM (" + " UNION ALL ".join(parts) + ") t WHERE n >= %(count)s",
                params,
            )
            return {row[0] for row in cursor.fetchall()}
    finally:
        if own_connection:  # a pool thread's connection, opened for this batch
            connection.close()


def schemas_pending(
    *, schemas: Iterable[str], nodes: list[str] | None = None, jobs: int = 1
) -> list[str]:
    """The schemas among `schemas` missing a migration of the graph (or django_migrations).

    One catalog query finds which schemas have a django_migrations table; then each batch of
    PENDING_BATCH schemas is one query counting the graph's migrations recorded in each, `jobs`
    batches at once on connections of their own.
    """
    names = list(dict.fromkeys(schemas))
    if not names:
        return []
    nodes = migration_graph_nodes() if nodes is None else nodes
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.nspname FROM pg_namespace n
            JOIN pg_class c ON c.relnamespace = n.oid
             AND c.relname = 'django_migrations' AND c.relkind = 'r'
            WHERE n.nspname = ANY(%s)
            """,
            [names],
        )
        recorded = {row[0] for row in cursor.fetchall()}
    with_table = [name for name in names if name in recorded]
    batches = [
        with_table[start : start + PENDING_BATCH]
        for start in range(0, len(with_table), PENDING_BATCH)
    ]
    complete: set[str] = set()
    if jobs <= 1 or len(batches) <= 1:
        for batch in batches:
            complete |= _complete_in_batch(batch, nodes, own_connection=False)
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for found in pool.map(
                lambda batch: _complete_in_batch(batch, nodes, own_connection=True), batches
            ):
                complete |= found
    return [name for name in names if name not in complete]


_Step = tuple[Operation, ProjectState, ProjectState]


class _SchemaMigrator:
    """One process's migration machinery, built once and reused for every schema it migrates.

    Django's executor renders the models' state again for every operation of every migration
    in every schema (most of a migration's cost when the SQL itself is a quick ALTER). The
    states before and after each operation depend only on the migrations applied before, so
    they are built once per starting point and plan, and each schema runs only the operations'
    database_forwards, in Django's transactions, with Django's records.
    """

    def __init__(self, *, lock_timeout_ms: int = 0):
        self.executor = MigrationExecutor(connection)
        self.targets = self.executor.loader.graph.leaf_nodes()
        # Squashed migrations make the graph depend on what each schema applied.
        self.rebuild_per_schema = bool(self.executor.loader.replacements)
        self.lock_timeout_ms = lock_timeout_ms
        self.steps: dict[tuple, list[tuple[Migration, list[_Step]]]] = {}

    def migrate(self, schema: str) -> SchemaMigrated:
        started = time.perf_counter()
        try:
            applied = self._migrate(schema)
        except Exception as exc:  # noqa: BLE001 - reported with its clinic; the others go on
            connection.close()
            return SchemaMigrated(
                schema=schema,
                applied=0,
                seconds=time.perf_counter() - started,
                error=f"{type(exc).__name__}: {exc}".strip(),
            )
        finally:
            if connection.connection is not None:
                tenant_connection.set_schema_to_public()
        return SchemaMigrated(schema=schema, applied=applied, seconds=time.perf_counter() - started)

    def _migrate(self, schema: str) -> int:
        # Without public on the path, a schema lacking django_migrations cannot find public's.
        tenant_connection.set_schema(schema, include_public=False)
        recorder = MigrationRecorder(connection)
        with connection.cursor() as cursor:
            # A migration and its record commit together, so a commit lost in a server crash
            # loses both and the next run applies it again: no need to wait for each flush.
            cursor.execute(
                "SELECT to_regclass(%s) IS NOT NULL, set_config('synchronous_commit', 'off', "
                "false), set_config('lock_timeout', %s, false)",
                [
                    f"{connection.ops.quote_name(schema)}.django_migrations",
                    str(self.lock_timeout_ms),
                ],
            )
            if cursor.fetchone()[0]:
                # Known present: spares the recorder listing every table of every schema.
                recorder._has_table = True  # type: ignore[attr-defined]
            else:
                recorder.ensure_schema()
        tenant_connection.set_schema(schema)
        executor = self.executor
        if self.rebuild_per_schema:
            executor.recorder = recorder
            executor.loader.build_graph()
        else:
            executor.loader.applied_migrations = recorder.applied_migrations()  # type: ignore[assignment]
        plan = executor.migration_plan(self.targets)
        if not plan:
            return 0
        if any(backwards for _, backwards in plan):
            raise RuntimeError("the schema is ahead of this code's migrations; nothing applied")
        key = (frozenset(executor.loader.applied_migrations), tuple(m for m, _ in plan))
        steps = self.steps.get(key)
        if steps is None:
            steps = self.steps[key] = self._steps_build(plan)
        for migration, operations in steps:
            self._apply(migration, operations, recorder)
        return len(plan)

    def _steps_build(self, plan: list) -> list[tuple[Migration, list[_Step]]]:
        """Each pending migration's operations with the states before and after each one."""
        state = self.executor._create_project_state(  # type: ignore[attr-defined]
            with_applied_migrations=True
        )
        state.apps  # noqa: B018 - rendered here, once
        steps = []
        for migration, _ in plan:
            operations = []
            for operation in migration.operations:
                before = state.clone()
                operation.state_forwards(migration.app_label, state)
                operations.append((operation, before, state.clone()))
            steps.append((migration, operations))
        return steps

    @staticmethod
    def _apply(migration: Migration, operations: list[_Step], recorder: MigrationRecorder) -> None:
        """Django's MigrationExecutor.apply_migration and Migration.apply, states given."""

        def record() -> None:
            for app_label, name in migration.replaces:
                recorder.record_applied(app_label, name)
            recorder.record_applied(migration.app_label, migration.name)

        recorded = False
        with connection.schema_editor(atomic=migration.atomic) as editor:
            for operation, before, after in operations:
                atomic_operation = operation.atomic or (
                    migration.atomic and operation.atomic is not False
                )
                if not editor.atomic_migration and atomic_operation:
                    with transaction.atomic(editor.connection.alias):
                        operation.database_forwards(migration.app_label, editor, before, after)
                else:
                    operation.database_forwards(migration.app_label, editor, before, after)
            if not editor.deferred_sql:
                record()
                recorded = True
        if not recorded:
            record()


_migrator: _SchemaMigrator | None = None


def _worker_init(lock_timeout_ms: int) -> None:
    global _migrator
    # The forked child must not share the parent's socket.
    connections.close_all()
    _migrator = _SchemaMigrator(lock_timeout_ms=lock_timeout_ms)


def _worker_migrate(schema: str) -> SchemaMigrated:
    assert _migrator is not None
    return _migrator.migrate(schema)


def schemas_migrate(
    *,
    schemas: list[str],
    jobs: int = 1,
    lock_timeout_ms: int = 0,
    on_result: Callable[[SchemaMigrated], None] | None = None,
) -> list[SchemaMigrated]:
    """Apply the pending migrations of each schema, `jobs` schemas at a time; never raises for
    one schema's failure (it comes back with its error)."""
    results: list[SchemaMigrated] = []

    def collect(result: SchemaMigrated) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    if not schemas:
        return results
    if jobs <= 1 or len(schemas) == 1:
        migrator = _SchemaMigrator(lock_timeout_ms=lock_timeout_ms)
        try:
            for schema in schemas:
                collect(migrator.migrate(schema))
        finally:
            if connection.connection is not None:
                with connection.cursor() as cursor:
                    cursor.execute("RESET synchronous_commit; RESET lock_timeout")
        return results
    connections.close_all()  # a forked child must not inherit an open connection
    context = multiprocessing.get_context("fork")
    with context.Pool(min(jobs, len(schemas)), _worker_init, (lock_timeout_ms,)) as pool:
        for result in pool.imap_unordered(_worker_migrate, schemas, chunksize=1):
            collect(result)
    return results


class Progress:
    """done/total, rate, ETA and failures, written at most once per `every` seconds."""

    def __init__(self, *, total: int, write: Callable[[str], None], every: float = 2.0):
        self.total, self.write, self.every = total, write, every
        self.done = self.failed = 0
        self.started = self.last = time.monotonic()

    def __call__(self, result: SchemaMigrated) -> None:
        self.done += 1
        if result.error:
            self.failed += 1
        now = time.monotonic()
        if now - self.last >= self.every or self.done == self.total:
            self.last = now
            self.write(self.line())

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate else 0.0
        share = 100 * self.done / self.total if self.total else 100
        return (
            f"{self.done}/{self.total} clinics ({share:.0f}%), {rate:.1f}/s, "
            f"elapsed {elapsed:.0f} s, ETA {eta:.0f} s, {self.failed} failed"
        )
