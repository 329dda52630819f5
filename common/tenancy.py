"""The database connection as django-tenants makes it, typed: the active schema and its clinic.

Django's stubs type `django.db.connection` as the generic database wrapper. The ENGINE setting
installs django-tenants' schema-aware one (`clinico.postgresql`), which adds `schema_name`,
`tenant`, `set_tenant()` and `set_schema_to_public()`; `tenant_connection` is the same object
typed as that wrapper.
"""

import datetime
from typing import TYPE_CHECKING, Protocol, cast

from django.db import connection

if TYPE_CHECKING:
    # Only for the type: the backend module needs the app registry, which may not be ready yet.
    from django_tenants.postgresql_backend.base import DatabaseWrapper

# django.db.connection itself, a proxy: each use reaches the calling thread's connection.
tenant_connection = cast("DatabaseWrapper", connection)


class ActiveClinic(Protocol):
    """What the apps below tenants/ read from the clinic whose schema is active."""

    @property
    def schema_name(self) -> str: ...

    @property
    def timezone(self) -> str: ...

    @property
    def reset_time(self) -> datetime.time: ...


def active_clinic() -> ActiveClinic:
    """The clinic whose schema is active (the host's, a tenant task's, or `with clinic:`)."""
    # It is a tenants.Clinic, which the floors below tenants/ do not import. In the public
    # schema it is django-tenants' FakeTenant, and reading a clinic's field fails there as
    # `connection.tenant.timezone` always has.
    return cast(ActiveClinic, tenant_connection.tenant)
