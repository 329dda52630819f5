"""One clinic out of a database and into another (or back): its schema and its public rows.

An archive is a tar file holding `manifest.json` (format, slug, the schema's migrations),
`schema.dump` (pg_dump's custom format of the clinic's schema alone) and `public.json` (the
clinic's rows in the public schema: its chain by slug, the clinic with its panel key, domains,
staff memberships and their users with password hashes, partner clients, closed days'
summaries and its beat schedule rows). Import restores the schema with pg_restore, then writes
the public rows in one transaction; users are matched by e-mail, and user ids stored in the
clinic's tables (who called a ticket, who read a record) are rewritten when a user's id differs
in the receiving database.
"""

import datetime
import io
import json
import os
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_tenants.utils import schema_exists

from accounts.models import ChainMembership, ClinicMembership, PartnerClient, User
from common.tenancy import tenant_connection as connection
from tenants.models import Chain, Clinic, ClinicDaySummary, Domain
from tenants.schedules import clinic_reset_schedule_sync, reset_periodic_task_name
from tenants.schema import template_schema_name
from tenants.schema_migrations import migration_graph_nodes, schemas_migrate
from tenants.selectors import clinic_host_cache_clear

ARCHIVE_FORMAT = 1
USER_FIELDS = ("email", "password", "full_name", "is_active", "date_joined", "last_login")


class ClinicTransferError(Exception):
    """The archive cannot be exported or imported as asked; the message says why."""


@dataclass(frozen=True)
class ClinicImported:
    clinic: Clinic
    users_created: int
    users_matched: int
    migrations_applied: int


def _pg_tool(name: str) -> str:
    return str(Path(settings.CLINICO_PG_BIN) / name)


def _pg_connection_args() -> tuple[list[str], dict[str, str]]:
    db = settings.DATABASES["default"]
    args = ["-h", str(db.get("HOST") or "127.0.0.1"), "-p", str(db.get("PORT") or 5432)]
    args += ["-U", str(db.get("USER") or "postgres"), "-d", str(db["NAME"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise ClinicTransferError(
            f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
        )


def _row(obj: Any, fields: tuple[str, ...]) -> dict:
    values = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, datetime.datetime | datetime.date | datetime.time):
            value = value.isoformat()
        values[name] = value
    return values


def _schema_migrations(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT app || '.' || name FROM {connection.ops.quote_name(schema)}"
            ".django_migrations ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()]


def _public_rows(clinic: Clinic) -> dict:
    memberships = ClinicMembership.objects.filter(clinic=clinic).select_related("user")
    chain_memberships = ChainMembership.objects.filter(chain=clinic.chain).select_related("user")
    users = {m.user.pk: m.user for m in memberships}
    users.update({m.user.pk: m.user for m in chain_memberships})
    summary_fields = tuple(
        f.name for f in ClinicDaySummary._meta.concrete_fields if f.name not in ("id", "clinic")
    )
    partner_fields = tuple(f.name for f in PartnerClient._meta.concrete_fields if f.name != "id")
    schedules = PeriodicTask.objects.filter(
        name=reset_periodic_task_name(schema_name=clinic.schema_name)
    )
    return {
        "chain": {"slug": clinic.chain.slug, "name": clinic.chain.name},
        "clinic": _row(
            clinic,
            (
                "schema_name",
                "name",
                "timezone",
                "reset_time",
                "is_active",
                "dedicated_queue",
                "panel_key",
                "created_at",
            ),
        ),
        "domains": [_row(d, ("domain", "is_primary")) for d in clinic.domains.all()],
        "users": [{"id": pk, **_row(user, USER_FIELDS)} for pk, user in users.items()],
        "memberships": [
            {"user": m.user.email, **_row(m, ("role", "is_active", "created_at"))}
            for m in memberships
        ],
        "chain_memberships": [
            {"user": m.user.email, **_row(m, ("is_active",))} for m in chain_memberships
        ],
        "partner_clients": [_row(p, partner_fields) for p in clinic.partner_clients.all()],
        "day_summaries": [_row(s, summary_fields) for s in clinic.day_summaries.all()],
        "schedules": [_row(t, ("name", "task", "enabled", "queue")) for t in schedules],
    }


def clinic_export(*, clinic: Clinic, path: Path) -> dict:
    """Write the clinic's archive to `path`; its manifest."""
    schema = clinic.schema_name
    connection.set_schema_to_public()
    manifest = {
        "format": ARCHIVE_FORMAT,
        "slug": schema,
        "exported_at": timezone.now().isoformat(),
        "migrations": _schema_migrations(schema),
    }
    public = _public_rows(clinic)
    args, env = _pg_connection_args()
    with tempfile.TemporaryDirectory() as folder:
        dump = Path(folder) / "schema.dump"
        _run(
            [
                _pg_tool("pg_dump"),
                *args,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                "--schema",
                schema,
                "--file",
                str(dump),
            ],
            env,
        )
        with tarfile.open(path, "w") as archive:
            for name, data in (
                ("manifest.json", json.dumps(manifest, indent=1).encode()),
                ("public.json", json.dumps(public, indent=1, default=str).encode()),
            ):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            archive.add(dump, arcname="schema.dump")
    return manifest


def _archive_read(path: Path, folder: Path) -> tuple[dict, dict, Path]:
    try:
        with tarfile.open(path) as archive:
            manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
            public = json.load(archive.extractfile("public.json"))  # type: ignore[arg-type]
            archive.extract("schema.dump", folder, filter="data")
    except (tarfile.TarError, KeyError, json.JSONDecodeError, TypeError) as exc:
        raise ClinicTransferError(f"{path} is not a clinic archive: {exc}") from None
    if manifest.get("format") != ARCHIVE_FORMAT:
        raise ClinicTransferError(
            f"{path} is an archive of format {manifest.get('format')}; this version reads "
            f"format {ARCHIVE_FORMAT}."
        )
    return manifest, public, folder / "schema.dump"


def clinic_drop(*, clinic: Clinic) -> None:
    """Remove a clinic: its schema, its reset schedule and its public rows."""
    PeriodicTask.objects.filter(
        name=reset_periodic_task_name(schema_name=clinic.schema_name)
    ).delete()
    clinic.delete(force_drop=True)  # type: ignore[call-arg]  # django-tenants' delete()
    transaction.on_commit(clinic_host_cache_clear)


def _user_id_columns() -> list[tuple[str, str]]:
    """(table, column) of the clinic's tables that hold a user's id (no foreign key: users live
    in the public schema)."""
    columns = []
    tenant_only = set(settings.TENANT_APPS) - set(settings.SHARED_APPS)
    for config in apps.get_app_configs():
        if config.name not in tenant_only:
            continue
        for model in config.get_models():
            for field in model._meta.concrete_fields:
                related = getattr(field, "related_model", None)
                if related is User or field.name == "user_id":
                    columns.append((model._meta.db_table, field.column))
    return columns


def _user_ids_rewrite(schema: str, mapping: dict[int, int]) -> None:
    """Point the clinic's user ids at this database's users (their ids may differ)."""
    changed = {old: new for old, new in mapping.items() if old != new}
    if not changed:
        return
    quoted = connection.ops.quote_name(schema)
    with connection.cursor() as cursor:
        # The access trail refuses updates by trigger; a restore rewrites ids, not history.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("CREATE TEMP TABLE clinico_user_map (old bigint, new bigint) ON COMMIT DROP")
        cursor.executemany("INSERT INTO clinico_user_map VALUES (%s, %s)", list(changed.items()))
        for table, column in _user_id_columns():
            cursor.execute(
                f"UPDATE {quoted}.{connection.ops.quote_name(table)} t SET {column} = m.new "
                f"FROM clinico_user_map m WHERE t.{column} = m.old"
            )
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def _aware(value: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value) if value else None


def _public_rows_write(public: dict, schema: str) -> tuple[Clinic, int, int]:
    chain = Chain.objects.filter(slug=public["chain"]["slug"]).first()
    chain_created = chain is None
    if chain is None:
        chain = Chain.objects.create(**public["chain"])
    row = public["clinic"]
    clinic = Clinic(
        chain=chain,
        schema_name=schema,
        name=row["name"],
        timezone=row["timezone"],
        reset_time=datetime.time.fromisoformat(row["reset_time"]),
        is_active=row["is_active"],
        dedicated_queue=row["dedicated_queue"],
        panel_key=row["panel_key"],
    )
    clinic.auto_create_schema = False  # type: ignore[misc]  # restored, not cloned
    clinic.full_clean()
    clinic.save(verbosity=0)
    Clinic.objects.filter(pk=clinic.pk).update(created_at=_aware(row["created_at"]))
    for domain in public["domains"]:
        Domain.objects.create(tenant=clinic, **domain)

    created = matched = 0
    user_ids: dict[int, int] = {}
    users_by_email: dict[str, User] = {}
    for data in public["users"]:
        user = User.objects.filter(email__iexact=data["email"]).first()
        if user is None:
            user = User(
                email=data["email"],
                password=data["password"],
                full_name=data["full_name"],
                is_active=data["is_active"],
                date_joined=_aware(data["date_joined"]) or timezone.now(),
                last_login=_aware(data["last_login"]),
            )
            user.save()
            created += 1
        else:
            matched += 1
        user_ids[data["id"]] = user.pk
        users_by_email[data["email"]] = user
    for data in public["memberships"]:
        membership = ClinicMembership.objects.create(
            user=users_by_email[data["user"]],
            clinic=clinic,
            role=data["role"],
            is_active=data["is_active"],
        )
        ClinicMembership.objects.filter(pk=membership.pk).update(
            created_at=_aware(data["created_at"])
        )
    if chain_created:
        for data in public["chain_memberships"]:
            ChainMembership.objects.create(
                user=users_by_email[data["user"]], chain=chain, is_active=data["is_active"]
            )
    for data in public["partner_clients"]:
        partner = PartnerClient.objects.filter(client_id=data["client_id"]).first()
        if partner is None:
            partner = PartnerClient.objects.create(**data)
        partner.clinics.add(clinic)
    for data in public["day_summaries"]:
        ClinicDaySummary.objects.create(clinic=clinic, **data)
    _user_ids_rewrite(schema, user_ids)
    return clinic, created, matched


def clinic_import(*, path: Path, replace: bool = False) -> ClinicImported:
    """Restore a clinic from its archive; refuses a slug or schema that exists unless `replace`.

    Restored into another database, the schema is then migrated to this code's migrations
    (an archive from newer code, with migrations this code lacks, is refused).
    """
    with tempfile.TemporaryDirectory() as folder:
        manifest, public, dump = _archive_read(path, Path(folder))
        schema = manifest["slug"]
        unknown = sorted(set(manifest["migrations"]) - set(migration_graph_nodes()))
        if unknown:
            raise ClinicTransferError(
                "The archive's schema has migrations this code does not know "
                f"({', '.join(unknown[:5])}{', …' if len(unknown) > 5 else ''}); import it with "
                "the version that exported it."
            )
        if schema in ("public", template_schema_name()):
            raise ClinicTransferError(f'"{schema}" is not a clinic schema.')
        connection.set_schema_to_public()
        existing = Clinic.objects.filter(schema_name=schema).first()
        if existing is not None or schema_exists(schema):
            if not replace:
                raise ClinicTransferError(
                    f'A clinic "{schema}" (or its schema) already exists here; pass --replace '
                    "to drop it and restore the archive in its place."
                )
            with transaction.atomic():
                if existing is not None:
                    clinic_drop(clinic=existing)
                if schema_exists(schema):
                    with connection.cursor() as cursor:
                        cursor.execute(f"DROP SCHEMA {connection.ops.quote_name(schema)} CASCADE")
        args, env = _pg_connection_args()
        _run(
            [
                _pg_tool("pg_restore"),
                *args,
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                str(dump),
            ],
            env,
        )
    try:
        with transaction.atomic():
            clinic, created, matched = _public_rows_write(public, schema)
            clinic_reset_schedule_sync(clinic=clinic)
            transaction.on_commit(clinic_host_cache_clear)
    except Exception:
        # The schema restored above is a separate transaction: take it out again.
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(schema)} CASCADE")
        raise
    migrated = schemas_migrate(schemas=[schema])
    if migrated and migrated[0].error:
        raise ClinicTransferError(
            f'Clinic "{schema}" was restored, but migrating its schema failed: '
            f"{migrated[0].error}; run `manage.py migrate_clinics`."
        )
    return ClinicImported(
        clinic=clinic,
        users_created=created,
        users_matched=matched,
        migrations_applied=migrated[0].applied if migrated else 0,
    )
