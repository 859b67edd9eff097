"""The bulk lane of reconciliation: an import's payments staged by COPY, and the plain ones applied
by a few set-based statements.

A payment is plain when it is not a revocation, its IUV names a payable option of a position alone
(not a plan) for exactly its amount, no receipt with its IUV and receipt id is known, and no other
payment of the import touches the same debt. For those, `domain_reconciliation.reconcile` would say
"matched" and the whole amount would go to that one position (`allocate`); nothing else in the
import can change that, so they are applied here in SQL, independent of the others. Every other
payment goes through `reconcile` in Python (`handlers_reconciliation`). A test runs the same imports
through both lanes and through Python alone and compares every row they write.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from services.kernel.db import UnitOfWork
from services.kernel.logs import Clock
from services.payments.domain_reconciliation import Incoming

log = logging.getLogger(__name__)
UNSCOPED = {
    "_raw": "returns the transaction's driver connection, runs no query",
    "stage": "writes only this transaction's temporary tables",
    "others": "reads only this transaction's temporary tables",
    "plain_facts": "reads only this transaction's temporary tables",
}
STAGE = "recon_stage"
FAST = "recon_fast"
_CREATE_STAGE = (
    f"DROP TABLE IF EXISTS pg_temp.{STAGE}, pg_temp.{FAST};"
    f"CREATE TEMP TABLE {STAGE} (n int PRIMARY KEY, iuv text NOT NULL, receipt_ref text NOT NULL,"
    " amount_cents bigint NOT NULL, paid_at timestamptz NOT NULL, psp text NOT NULL,"
    " revoked boolean NOT NULL, line int NOT NULL, index int NOT NULL, outcome int NOT NULL)"
    " ON COMMIT DROP"
)
_STAGE_COLUMNS = [
    "n",
    "iuv",
    "receipt_ref",
    "amount_cents",
    "paid_at",
    "psp",
    "revoked",
    "line",
    "index",
    "outcome",
]

# The plain payments (see the module's text), with the ids of the receipt and payment they become.
_CREATE_FAST = (
    f"CREATE TEMP TABLE {FAST} (n int PRIMARY KEY, iuv text, receipt_ref text, amount_cents bigint,"
    " paid_at timestamptz, psp text, line int, option_id uuid, position_id uuid, debtor_id uuid,"
    " settled boolean, receipt_id uuid, payment_id uuid) ON COMMIT DROP"
)
_FAST = f"""
INSERT INTO {FAST}
SELECT x.n, x.iuv, x.receipt_ref, x.amount_cents, x.paid_at, x.psp, x.line, x.option_id,
       x.position_id, p.debtor_id, p.amount_cents - p.paid_cents - x.amount_cents <= 0,
       gen_random_uuid(), gen_random_uuid()
FROM (
    SELECT s.*, o.id AS option_id, o.position_id, o.plan_id, o.status, o.amount_cents AS expected,
           count(*) OVER (PARTITION BY coalesce(o.plan_id, o.position_id)) AS in_debt
    FROM {STAGE} s
    JOIN payments.payment_options o ON o.tenant_id = $1 AND o.iuv = s.iuv AND o.status <> 'replaced'
) x
JOIN payments.positions p ON p.tenant_id = $1 AND p.id = x.position_id
WHERE x.in_debt = 1 AND NOT x.revoked AND x.amount_cents > 0 AND x.plan_id IS NULL
  AND x.status = 'payable' AND x.expected = x.amount_cents
  AND NOT EXISTS (
      SELECT 1 FROM payments.receipts r
      WHERE r.tenant_id = $1 AND r.iuv = x.iuv AND r.receipt_ref = x.receipt_ref)
"""
# Parameters: $1 tenant, $2 state of the receipts and payments, $3 source, $4 flow id (or null).
_RECEIPTS = f"""
INSERT INTO payments.receipts
    (id, tenant_id, iuv, receipt_ref, amount_cents, paid_at, psp, option_id, state, applied,
     flow_id, source)
SELECT receipt_id, $1, iuv, receipt_ref, amount_cents, paid_at, psp, option_id, $2, true, $4, $3
FROM {FAST}
"""
_PAYMENTS = f"""
INSERT INTO payments.payments
    (id, tenant_id, position_id, debtor_id, amount_cents, paid_on, recorded_by, option_id,
     receipt_id, state, source)
SELECT payment_id, $1, position_id, debtor_id, amount_cents, (paid_at AT TIME ZONE 'Europe/Rome')::date,
       CASE WHEN psp <> '' THEN 'pagoPA:' || psp ELSE 'pagoPA' END, option_id, receipt_id, $2, $3
FROM {FAST}
"""
# The option is paid; the position's other payable options become unpayable (`_pay`).
_OPTIONS = f"""
UPDATE payments.payment_options o
SET status = CASE WHEN o.id = f.option_id THEN 'paid' ELSE 'unpayable' END
FROM {FAST} f
WHERE o.tenant_id = $1 AND o.position_id = f.position_id AND o.plan_id IS NULL
  AND (o.id = f.option_id OR o.status = 'payable')
"""
_POSITIONS = f"""
UPDATE payments.positions p SET paid_cents = p.paid_cents + f.amount_cents
FROM {FAST} f WHERE p.tenant_id = $1 AND p.id = f.position_id
"""
# What `PaymentsReceived` says of each (the keys are the fields of `contracts.PaymentFact`, a test
# checks): written as JSON by the database, 100,000 facts are too many to build in Python. A plain
# payment is on a notice of no plan: none of it pays a plan's interest.
_FACTS = f"""
SELECT json_build_object(
    'payment_id', payment_id::text, 'position_id', position_id::text, 'debtor_id', debtor_id::text,
    'amount_cents', amount_cents,
    'paid_on', to_char((paid_at AT TIME ZONE 'Europe/Rome')::date, 'YYYY-MM-DD'),
    'source', $1::text, 'iuv', iuv, 'receipt_ref', receipt_ref, 'flow_id', $2::text,
    'settled', settled, 'interest_cents', 0)::text
FROM {FAST} ORDER BY n
"""
_FLOW_LINES = f"""
INSERT INTO payments.flow_lines
    (tenant_id, flow_id, line, iuv, receipt_ref, payment_index, amount_cents, outcome, paid_on, state)
SELECT $1, $2, s.line, s.iuv, s.receipt_ref, s.index, s.amount_cents, s.outcome,
       (s.paid_at AT TIME ZONE 'Europe/Rome')::date,
       coalesce(d.state, CASE WHEN f.n IS NULL THEN 'matched' ELSE 'no_receipt' END)
FROM {STAGE} s
LEFT JOIN {FAST} f ON f.n = s.n
LEFT JOIN unnest($3::int[], $4::text[]) AS d(line, state) ON d.line = s.line
"""
FACTS_PER_FETCH = 5_000
# From this many staged payments on, the plain ones are found by hash joins: the planner has no
# statistics for the options and receipts just written, and would probe an index (or worse, scan
# the Comune's receipts) once per payment.
HASH_JOINS_FROM = 5_000


async def _raw(uow: UnitOfWork) -> Any:
    return (await (await uow.connection()).get_raw_connection()).driver_connection


async def stage(uow: UnitOfWork, incoming: Sequence[Incoming]) -> None:
    """The import's payments, numbered in order, copied into the transaction's stage table (and
    the table of plain payments made, empty)."""
    raw = await _raw(uow)
    await raw.execute(_CREATE_STAGE)
    records = (
        (n, i.iuv, i.receipt_ref, i.amount_cents, i.paid_at, i.psp, i.revoked, i.line, i.index, i.outcome)
        for n, i in enumerate(incoming)
    )
    await raw.copy_records_to_table(STAGE, records=records, columns=_STAGE_COLUMNS)
    await raw.execute(f"ANALYZE {STAGE}")
    await raw.execute(_CREATE_FAST)


async def apply_plain(
    uow: UnitOfWork, tenant_id: uuid.UUID, state: str, source: str, flow_id: str | None
) -> int:
    """The plain payments applied: receipts, payments, options and balances; how many."""
    raw, clock = await _raw(uow), Clock()
    hashed = await raw.fetchval(f"SELECT count(*) >= {HASH_JOINS_FROM} FROM {STAGE}")
    if hashed:
        await raw.execute("SET LOCAL enable_nestloop = off")
    await raw.execute(_FAST, tenant_id)
    if hashed:
        await raw.execute("RESET enable_nestloop")
    count: int = await raw.fetchval(f"SELECT count(*) FROM {FAST}")
    clock.lap("found")
    if count:
        for name, statement, params in (
            ("receipts", _RECEIPTS, (tenant_id, state, source, flow_id)),
            ("payments", _PAYMENTS, (tenant_id, state, source)),
            ("options", _OPTIONS, (tenant_id,)),
            ("positions", _POSITIONS, (tenant_id,)),
        ):
            await raw.execute(statement, *params)
            clock.lap(name)
    log.info("plain payments applied", extra={"fields": {"payments": count, **clock.laps}})
    return count


async def plain_in_plans(uow: UnitOfWork, tenant_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """The plain payments' cents per position that an active plan covers (paid by a notice issued
    before the plan: `handlers_plan_payments`)."""
    rows = await (await _raw(uow)).fetch(
        f"SELECT f.position_id, sum(f.amount_cents) FROM {FAST} f JOIN payments.plan_positions pp"
        " ON pp.tenant_id = $1 AND pp.position_id = f.position_id AND pp.active GROUP BY f.position_id",
        tenant_id,
    )
    return {r[0]: int(r[1]) for r in rows}


async def others(uow: UnitOfWork) -> list[int]:
    """The numbers of the staged payments that are not plain, in order."""
    rows = await (await _raw(uow)).fetch(
        f"SELECT s.n FROM {STAGE} s WHERE NOT EXISTS (SELECT 1 FROM {FAST} f WHERE f.n = s.n) ORDER BY s.n"
    )
    return [r[0] for r in rows]


async def insert_flow_lines(
    uow: UnitOfWork, tenant_id: uuid.UUID, flow_id: str, states: dict[int, str]
) -> None:
    """The staged flow lines recorded with their state: given in `states` (decided in Python),
    "no_receipt" for a plain payment (a receipt made from the line), else "matched"."""
    await (await _raw(uow)).execute(_FLOW_LINES, tenant_id, flow_id, list(states), list(states.values()))


async def plain_facts(uow: UnitOfWork, source: str, flow_id: str | None) -> AsyncIterator[list[str]]:
    """The plain payments' facts as JSON texts, in the import's order, a few thousand at a time."""
    raw = await _raw(uow)
    cursor = await raw.cursor(_FACTS, source, flow_id or "")
    while rows := await cursor.fetch(FACTS_PER_FETCH):
        yield [r[0] for r in rows]
