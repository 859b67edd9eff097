"""Several reads in one round trip: each statement's rows come back as a JSON array, decoded into
rows of the statement's own columns and Python types. A page that reads eight small things about
one subject (the debtor card) pays one round trip, one statement's Python in SQLAlchemy and asyncpg
and one PostgreSQL execution instead of eight.

Each statement keeps its own ORDER BY: PostgreSQL aggregates the rows of a sorted subquery in the
order they come (its manual says this "will usually work"; it does for a plain subquery, the shape
here). A read that must leave a trace (the access log of a page of personal data) carries the
insert as a data-modifying WITH of the same statement (`writes`). The decoding knows the column
types the contact card uses (ids, instants, days, numbers, arrays of numbers or text): extend
`_python` before bundling other types (arrays of ids or days, enums, type decorators)."""

from __future__ import annotations

import json
import uuid
from collections import namedtuple
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa


class Bundle:
    """The reads `parts` (name -> SELECT, sharing their parameters by name) as one statement, with
    the data-modifying WITHs `writes` run by it (PostgreSQL runs them whether or not read)."""

    def __init__(self, parts: Mapping[str, sa.Select[Any]], writes: Sequence[Any] = ()) -> None:
        self.statement = sa.select(*(_as_json(name, stmt) for name, stmt in parts.items()))
        if writes:
            self.statement = self.statement.add_cte(*writes)
        self._columns = {name: _columns(stmt.subquery(name)) for name, stmt in parts.items()}
        self._rows = {
            name: namedtuple(f"{name.title()}Row", [c for c, _ in columns])
            for name, columns in self._columns.items()
        }

    def decode(self, found: sa.Row[Any]) -> dict[str, list[Any]]:
        """Each part's rows, decoded from the statement's one row `found`."""
        decoded: dict[str, list[Any]] = {}
        for name, columns in self._columns.items():
            objects = json.loads(getattr(found, name), parse_float=Decimal)
            row = self._rows[name]
            decoded[name] = [
                row(*(_python(kind, item[column]) for column, kind in columns)) for item in objects
            ]
        return decoded


def _as_json(name: str, stmt: sa.Select[Any]) -> Any:
    rows = stmt.subquery(name)
    agg = sa.func.coalesce(sa.cast(sa.func.json_agg(sa.literal_column(f"{name}.*")), sa.Text), "[]")
    return sa.select(agg).select_from(rows).scalar_subquery().label(name)


def _columns(rows: sa.Subquery) -> list[tuple[str, sa.types.TypeEngine[Any]]]:
    return [(column.name, column.type) for column in rows.c]


def _python(kind: sa.types.TypeEngine[Any], value: Any) -> Any:
    """A JSON value as the column's Python type: instants, days, ids and decimals come as text or
    numbers in JSON."""
    if value is None:
        return None
    if isinstance(kind, sa.ARRAY):
        return [_python(kind.item_type, item) for item in value]
    if isinstance(kind, sa.Uuid):
        return uuid.UUID(value)
    if isinstance(kind, sa.DateTime):  # in UTC, as asyncpg gives them (JSON has the session's zone)
        instant = datetime.fromisoformat(value)
        return instant.astimezone(UTC) if kind.timezone else instant
    if isinstance(kind, sa.Date):
        return date.fromisoformat(value)
    if isinstance(kind, sa.Float):
        return float(value)
    if isinstance(kind, sa.Numeric):
        return Decimal(value) if not isinstance(value, Decimal) else value
    return value
