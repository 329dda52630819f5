"""Small helpers for hand-written SQL: named parameters given once, advisory locks."""

from django.db import connection


class Params(dict):
    """A statement's named parameters: each name can be given only once.

    A statement built from several parts cannot have one part silently overwrite a value
    another part relies on; it fails when built instead.
    """

    def add(self, name: str, value) -> str:
        """Add `value` as `name`; returns its placeholder, `%(name)s`."""
        if name in self:
            raise ValueError(f"The statement already has a parameter named {name!r}.")
        self[name] = value
        return f"%({name})s"


def advisory_xact_lock(*, key: int, scope: str | None = None) -> None:
    """Wait for the advisory lock (`key`, current schema [+ `scope`]) until the transaction ends.

    Per schema, so one clinic's lock never holds up another clinic.
    """
    with connection.cursor() as cursor:
        if scope is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))", [key])
        else:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema() || ':' || %s))",
                [key, scope],
            )
