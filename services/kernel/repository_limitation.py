"""The limitation's rule of `kernel.limitation` in SQL, for the services that keep it per debtor
or aggregate it over many positions (`tests/kernel/test_limitation.py` runs both forms on the same
cases), and the Comune's interrupting acts each service keeps to count with the payments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork
from services.kernel.limitation import LIMITATION_YEARS

# `barred_from` over rows: from `{rows}`, a query of (position_id, year, act_on, paid_on), one row
# per payment of a position (paid_on null for a position without one; act_on null when the file
# gave no act day), each position's first time-barred day as (position_id, barred_on). A payment
# counts while every one before it did (`ok`: the term was still running on its day); PostgreSQL's
# `+ interval '5 years'` gives 28 February for 29 February, as art. 2963 does.


def _after(day: str) -> str:
    return f"(({day} + interval '{LIMITATION_YEARS} years')::date + 1)"


_FIRST_BARRED = _after("coalesce(act_on, make_date(year, 12, 31))")

BARRED_ON = f"""
SELECT position_id, greatest({_FIRST_BARRED}, max({_after("paid_on")}) FILTER (WHERE ok)) AS barred_on
FROM (
    SELECT position_id, year, act_on, paid_on,
           bool_and(paid_on < greatest({_FIRST_BARRED}, {_after("before")}))
               OVER (PARTITION BY position_id ORDER BY paid_on ROWS UNBOUNDED PRECEDING) AS ok
    FROM (
        SELECT position_id, year, act_on, paid_on,
               lag(paid_on) OVER (PARTITION BY position_id ORDER BY paid_on) AS before
        FROM ({{rows}}) AS paid
    ) AS ordered
) AS judged
GROUP BY position_id, year, act_on
"""


def limitation_acts_table(metadata: sa.MetaData) -> sa.Table:
    """The interrupting acts a service keeps from `reporting.limitation_interrupted`, one row per
    act and position it interrupts (each service's migration creates it in its schema)."""
    return sa.Table(
        "limitation_acts",
        metadata,
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("act_id", sa.Uuid, primary_key=True),
        sa.Column("position_id", sa.Uuid, primary_key=True),
        sa.Column("served_on", sa.Date, nullable=False),
        sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def act_rows(schema: str, tenant: str, due: str = "due") -> str:
    """`BARRED_ON`'s rows for the interrupting acts not withdrawn of the positions of the query
    `due` (position_id, year, act_on): to join to the payments' rows with UNION ALL."""
    return (
        f"SELECT {due}.position_id, {due}.year, {due}.act_on, a.served_on AS paid_on FROM {due}"
        f" JOIN {schema}.limitation_acts a ON a.tenant_id = {tenant} AND a.position_id = {due}.position_id"
        " AND NOT a.withdrawn"
    )


async def keep_act(
    uow: UnitOfWork,
    table: sa.Table,
    tenant_id: uuid.UUID,
    act_id: uuid.UUID,
    position_ids: Sequence[uuid.UUID],
    served_on: date,
    withdrawn: bool,
) -> None:
    """Keep an act as `reporting.limitation_interrupted` says it (again: the same rows); once
    withdrawn it stays so, whichever of the two events comes last."""
    if not position_ids:
        return
    rows = [
        {
            "tenant_id": tenant_id,
            "act_id": act_id,
            "position_id": p,
            "served_on": served_on,
            "withdrawn": withdrawn,
        }
        for p in position_ids
    ]
    insert = pg_insert(table).values(rows)
    sticky = sa.or_(table.c.withdrawn, insert.excluded.withdrawn)
    await uow.execute(
        insert.on_conflict_do_update(index_elements=list(table.primary_key), set_={"withdrawn": sticky})
    )
