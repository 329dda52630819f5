"""One clinic out of a database and into another (or back): its schema and its public rows.

An archive is a tar file holding `manifest.json` (format, slug, the schema's migrations, the
SHA-256 of the two other files), `signature` (HMAC-SHA256 of the manifest with
`CLINICO_ARCHIVE_SIGNING_KEY`), `schema.dump` (pg_dump's custom format of the clinic's schema
alone) and `public.json` (the clinic's rows in the public schema: its chain by slug, the clinic
with its panel key, domains, staff memberships and their users with password hashes, partner
clients, closed days' summaries and its beat schedule rows).

Import checks before it changes anything: the signature and both digests, every entry of the
dump (`pg_restore --list`) in the clinic's own schema, and the public rows' shape. It then
restores the schema with pg_restore and writes the public rows in one transaction; users are
matched by e-mail, and user ids stored in the clinic's tables (who called a ticket, who read a
record) are rewritten when a user's id differs in the receiving database. Partner clients new
to this database get a new secret (an archive never sets one); the clinic joins only the chain
it is told to (docs/security.md, "Clinic archives").
"""

import datetime
import hashlib
import hmac
import io
import json
import os
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_tenants.utils import schema_exists

from accounts.models import ChainMembership, ClinicMembership, PartnerClient, User
from accounts.services import partner_client_create
from common.tenancy import tenant_connection as connection
from tenants.models import Chain, Clinic, ClinicDaySummary, Domain
from tenants.schedules import clinic_reset_schedule_sync, reset_periodic_task_name
from tenants.schema import template_schema_name
from tenants.schema_migrations import migration_graph_nodes, schemas_migrate
from tenants.selectors import clinic_host_cache_clear
from tenants.services import SLUG_RE

ARCHIVE_FORMAT = 2
SIGNED_FILES = ("public.json", "schema.dump")
USER_FIELDS = ("email", "password", "full_name", "is_active", "date_joined", "last_login")


class ClinicTransferError(Exception):
    """The archive cannot be exported or imported as asked; the message says why."""


@dataclass(frozen=True)
class ClinicImported:
    clinic: Clinic
    users_created: int
    users_matched: int
    migrations_applied: int
    # client_id → the new secret of partner clients that did not exist here (shown once).
    partner_secrets: dict[str, str]


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
        public_data = json.dumps(public, indent=1, default=str).encode()
        manifest["sha256"] = {
            "public.json": hashlib.sha256(public_data).hexdigest(),
            "schema.dump": _file_sha256(dump),
        }
        manifest_data = json.dumps(manifest, indent=1).encode()
        # A secret (password hashes, the panel and totem keys): readable by its owner only, from
        # the moment it exists.
        path.unlink(missing_ok=True)
        owner_only = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(owner_only, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as archive:
            for name, data in (
                ("manifest.json", manifest_data),
                ("signature", _signature(manifest_data).encode()),
                ("public.json", public_data),
            ):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            archive.add(dump, arcname="schema.dump")
    return manifest


def _signature(manifest: bytes) -> str:
    key = settings.CLINICO_ARCHIVE_SIGNING_KEY.encode()
    return hmac.new(key, manifest, hashlib.sha256).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _archive_read(path: Path, folder: Path) -> tuple[dict, dict, Path]:
    """The manifest, the public rows and the extracted dump of a signed, unaltered archive."""
    try:
        with tarfile.open(path) as archive:
            manifest_data = archive.extractfile("manifest.json").read()  # type: ignore[union-attr]
            manifest = json.loads(manifest_data)
            try:
                signature = archive.extractfile("signature").read().decode()  # type: ignore[union-attr]
            except KeyError:
                signature = None
            public_data = archive.extractfile("public.json").read()  # type: ignore[union-attr]
            archive.extract("schema.dump", folder, filter="data")
    except (tarfile.TarError, KeyError, ValueError, AttributeError, TypeError) as exc:
        raise ClinicTransferError(f"{path} is not a clinic archive: {exc}") from None
    if signature is None:
        raise ClinicTransferError(
            f"{path} is not signed; only archives written by clinic_export (format "
            f"{ARCHIVE_FORMAT}) are imported."
        )
    if not hmac.compare_digest(signature.strip(), _signature(manifest_data)):
        raise ClinicTransferError(
            f"{path}: the signature does not match: the archive was altered, or signed with "
            "another CLINICO_ARCHIVE_SIGNING_KEY than this installation's."
        )
    if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
        raise ClinicTransferError(
            f"{path} is an archive of format {manifest.get('format')}; this version reads "
            f"format {ARCHIVE_FORMAT}."
        )
    dump = folder / "schema.dump"
    digests = {"public.json": hashlib.sha256(public_data).hexdigest(), "schema.dump": None}
    digests["schema.dump"] = _file_sha256(dump)
    for name in SIGNED_FILES:
        if manifest.get("sha256", {}).get(name) != digests[name]:
            raise ClinicTransferError(f"{path}: {name} was altered after the archive was signed.")
    try:
        public = json.loads(public_data)
    except ValueError as exc:
        raise ClinicTransferError(f"{path} is not a clinic archive: {exc}") from None
    return manifest, public, dump


# One line of `pg_restore --list`: "<dump id>; <table oid> <oid> <kind> <schema> <name> <owner>",
# the schema "-" for objects outside any (the schema itself, comments on it).
_LIST_ENTRY = re.compile(
    r"(?P<id>\d+); \d+ \d+ (?P<kind>TABLE DATA|SEQUENCE SET|SEQUENCE OWNED BY|FK CONSTRAINT|"
    r"MATERIALIZED VIEW DATA|MATERIALIZED VIEW|INDEX ATTACH|TABLE ATTACH|ROW SECURITY|TABLE|"
    r"SEQUENCE|DEFAULT|CONSTRAINT|INDEX|TRIGGER|VIEW|FUNCTION|PROCEDURE|TYPE|DOMAIN|POLICY|RULE|"
    r"COMMENT|SCHEMA) (?P<schema>\S+) "
    r"(?P<name>.+)"
)


def _dump_entries_check(dump: Path, schema: str) -> None:
    """Refuse a dump holding anything but the clinic's schema and what lies in it."""
    args, env = _pg_connection_args()
    done = subprocess.run(
        [_pg_tool("pg_restore"), "--list", str(dump)], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise ClinicTransferError(f"The archive's schema dump cannot be read: {done.stderr[-500:]}")
    own = (f"SCHEMA - {schema} ", f"COMMENT - SCHEMA {schema} ")
    for line in done.stdout.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        entry = _LIST_ENTRY.fullmatch(line)
        inside = entry is not None and (
            entry["schema"] == schema
            or (entry["schema"] == "-" and f"{entry['kind']} - {entry['name']}".startswith(own))
        )
        if not inside:
            raise ClinicTransferError(
                "The archive's schema dump holds an entry outside the clinic's schema "
                f'"{schema}" ({line.strip()[:200]}); nothing was imported.'
            )


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


def _shape_error(where: str) -> ClinicTransferError:
    return ClinicTransferError(
        f"The archive's public.json is not what clinic_export writes: {where}."
    )


def _public_rows_check(public: Any, schema: str) -> None:
    """Refuse public rows of another shape than an export's, or of another clinic."""
    expected = {
        "chain": dict,
        "clinic": dict,
        "domains": list,
        "users": list,
        "memberships": list,
        "chain_memberships": list,
        "partner_clients": list,
        "day_summaries": list,
        "schedules": list,
    }
    if not isinstance(public, dict) or set(public) != set(expected):
        raise _shape_error("its sections differ")
    for name, kind in expected.items():
        if not isinstance(public[name], kind):
            raise _shape_error(f'"{name}" is not a {kind.__name__}')
        rows = public[name] if kind is list else [public[name]]
        if not all(isinstance(row, dict) for row in rows):
            raise _shape_error(f'"{name}" holds something else than rows')
    if public["clinic"].get("schema_name") != schema:
        raise _shape_error("its clinic is not the manifest's")
    partner_fields = {"name", "client_id", "scope", "requests_per_minute", "is_active"}
    partner_fields |= {"secret_hash", "created_at", "revoked_at"}
    for row in public["partner_clients"]:
        if set(row) != partner_fields:
            raise _shape_error("a partner client has other fields")


def _import_refusals(public: dict, chain_slug: str | None) -> None:
    """Refuse, before anything changes, a chain or partner clients the clinic may not join."""
    if chain_slug is not None:
        if not Chain.objects.filter(slug=chain_slug).exists():
            raise ClinicTransferError(f'No chain "{chain_slug}" in this database.')
    elif Chain.objects.filter(slug=public["chain"].get("slug")).exists():
        slug = public["chain"].get("slug")
        raise ClinicTransferError(
            f'A chain "{slug}" exists here: pass --chain {slug} to put the clinic in it (its '
            "managers will see the clinic's figures), or --chain with another chain's slug."
        )
    for data in public["partner_clients"]:
        partner = PartnerClient.objects.filter(client_id=data["client_id"]).first()
        # The same partner (moved back, or known to both) has the same secret hash; another
        # partner of that client_id is not given the clinic.
        if partner is not None and not hmac.compare_digest(
            str(partner.secret_hash), str(data["secret_hash"])
        ):
            raise ClinicTransferError(
                f'A different partner client "{data["client_id"]}" exists here; the clinic was '
                "not imported. Remove that partner from the archive's clinic and export again."
            )


def _chain_for_import(public: dict, chain_slug: str | None) -> tuple[Chain, bool]:
    """The chain the clinic joins, and whether this import created it.

    Told a chain, the clinic joins that one (it must exist). Told none, the archive's chain is
    created, with its managers; an existing chain of that slug is never joined unasked.
    """
    _import_refusals({**public, "partner_clients": []}, chain_slug)
    if chain_slug is not None:
        return Chain.objects.get(slug=chain_slug), False
    chain = Chain(slug=public["chain"].get("slug"), name=public["chain"].get("name"))
    try:
        chain.full_clean()
    except ValidationError as error:
        raise ClinicTransferError(f"The archive's chain is not valid: {error}") from None
    chain.save()
    return chain, True


def _partner_clients_write(rows: list[dict], clinic: Clinic) -> dict[str, str]:
    """Attach the archive's partner clients; those new here get a new secret (client_id → it)."""
    secrets: dict[str, str] = {}
    for data in rows:
        partner = PartnerClient.objects.filter(client_id=data["client_id"]).first()
        if partner is None:
            client_id = str(data["client_id"])
            partner, secrets[client_id] = partner_client_create(
                name=data["name"],
                clinics=[],
                scope=data["scope"],
                requests_per_minute=data["requests_per_minute"],
                client_id=client_id,
            )
            partner.is_active = data["is_active"]
            partner.revoked_at = _aware(data["revoked_at"])
            partner.full_clean()
            partner.save(update_fields=["is_active", "revoked_at"])
        partner.clinics.add(clinic)
    return secrets


def _public_rows_write(
    public: dict, schema: str, chain_slug: str | None
) -> tuple[Clinic, int, int, dict[str, str]]:
    chain, chain_created = _chain_for_import(public, chain_slug)
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
        Domain.objects.create(
            tenant=clinic, domain=domain["domain"], is_primary=domain["is_primary"]
        )

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
        membership = ClinicMembership(
            user=users_by_email[data["user"]],
            clinic=clinic,
            role=data["role"],
            is_active=data["is_active"],
        )
        membership.full_clean()
        membership.save()
        ClinicMembership.objects.filter(pk=membership.pk).update(
            created_at=_aware(data["created_at"])
        )
    if chain_created:
        for data in public["chain_memberships"]:
            ChainMembership.objects.create(
                user=users_by_email[data["user"]], chain=chain, is_active=data["is_active"]
            )
    secrets = _partner_clients_write(public["partner_clients"], clinic)
    for data in public["day_summaries"]:
        ClinicDaySummary.objects.create(clinic=clinic, **data)
    _user_ids_rewrite(schema, user_ids)
    return clinic, created, matched, secrets


def clinic_import(
    *, path: Path, replace: bool = False, chain_slug: str | None = None
) -> ClinicImported:
    """Restore a clinic from its archive; refuses a slug or schema that exists unless `replace`.

    The clinic joins the chain `chain_slug`, or without one a new chain made from the archive's.

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
        if (
            not isinstance(schema, str)
            or not SLUG_RE.fullmatch(schema)
            or schema in ("public", template_schema_name())
        ):
            raise ClinicTransferError(f'"{schema}" is not a clinic schema.')
        _public_rows_check(public, schema)
        _dump_entries_check(dump, schema)
        connection.set_schema_to_public()
        _import_refusals(public, chain_slug)
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
            clinic, created, matched, secrets = _public_rows_write(public, schema, chain_slug)
            clinic_reset_schedule_sync(clinic=clinic)
            transaction.on_commit(clinic_host_cache_clear)
    except Exception as exc:
        # The schema restored above is a separate transaction: take it out again.
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(schema)} CASCADE")
        if isinstance(exc, ValidationError | KeyError | TypeError | ValueError):
            raise ClinicTransferError(
                f"The archive's public rows are not valid here ({exc!r}); nothing was imported."
            ) from exc
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
        partner_secrets=secrets,
    )
