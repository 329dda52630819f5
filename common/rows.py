"""Model instances from hand-written SQL rows, as the ORM would build them.

The hot paths (authentication, call-next, check-in processing) read rows with one composed
statement instead of several ORM queries. `from_row` turns such a row back into a normal model
instance: the values pass through the fields' database converters (a JSONField's text becomes
a dict, as with the ORM) and the instance is marked as loaded from the database.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)

# Every ColumnList made, so that the tests can check each one against its model.
COLUMN_LISTS: list["ColumnList"] = []


def columns(model: type[models.Model], alias: str = "") -> tuple[str, tuple[str, ...]]:
    """The model's columns as a SELECT/RETURNING list (qualified by `alias`) and their names.

    Pass the names to `from_row` with each row the list produced.
    """
    prefix = f"{alias}." if alias else ""
    fields = model._meta.concrete_fields
    return (
        ", ".join(f'{prefix}"{field.column}"' for field in fields),
        tuple(field.attname for field in fields),
    )


@dataclass(frozen=True)
class ColumnList:
    """Some of a model's columns, named by attribute, for a hand-written INSERT or SELECT list.

    The SQL text comes from the model's metadata. An `insert` list must name every column the
    database has no value for otherwise; the tests check every list against its model.
    """

    model: type[models.Model]
    names: tuple[str, ...]
    insert: bool = False

    def __post_init__(self) -> None:
        COLUMN_LISTS.append(self)

    def sql(self, alias: str = "") -> str:
        """`"a", "b"` (each qualified by `alias`), in the order of `names`."""
        return _column_list_sql(self, alias)


@cache
def _column_list_sql(column_list: ColumnList, alias: str) -> str:
    prefix = f"{alias}." if alias else ""
    fields = {field.attname: field for field in column_list.model._meta.concrete_fields}
    return ", ".join(f'{prefix}"{fields[name].column}"' for name in column_list.names)


@cache
def _converters(model: type[models.Model], names: tuple[str, ...]) -> tuple:
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    return tuple(
        (index, by_attname[name])
        for index, name in enumerate(names)
        if hasattr(by_attname[name], "from_db_value")
    )


def from_row(model: type[M], names: tuple[str, ...], values: Sequence[Any]) -> M:
    """`model` loaded from `values`, one per attribute name in `names` (others deferred)."""
    converters = _converters(model, names)
    if converters:
        values = list(values)
        for index, field in converters:
            values[index] = field.from_db_value(values[index], None, connection)
    return model.from_db(connection.alias, names, values)
