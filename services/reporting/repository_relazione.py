"""Queries of the relazione di scarico: its requests and files, and the positions' histories read
through a server-side cursor (never all rows in memory). Every function takes the tenant (RLS too)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from services.kernel.db import UnitOfWork
from services.reporting import domain_relazione as rel
from services.reporting import domain_relazione_frame as frame
from services.reporting.domain import ROME
from services.reporting.models_relazione import report_files, reports

# Rows fetched from the cursor at a time: the unit of streaming, rendering and progress.
PARTITION = 2_000


@dataclass(frozen=True)
class StoredFile:
    format: str
    object_key: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Report:
    id: uuid.UUID
    kind: str
    period_from: date | None
    period_to: date | None
    version: int
    status: str
    ente: str
    requested_by: str
    requested_at: datetime
    generated_at: datetime | None
    generated_by: str
    total_rows: int
    done_rows: int
    error: str
    assigned_cents: int | None
    cancelled_cents: int | None
    corrected_cents: int | None
    collected_cents: int | None
    residual_cents: int | None
    aggio_cents: int | None
    aggio_rate_bp: int | None
    files: tuple[StoredFile, ...] = ()

    def file(self, fmt: str) -> StoredFile | None:
        return next((f for f in self.files if f.format == fmt), None)

    @property
    def discharged_cents(self) -> int | None:
        """Sgravi and rettifiche together; None for a relazione made before they were recorded."""
        if self.cancelled_cents is None or self.corrected_cents is None:
            return None
        return self.cancelled_cents + self.corrected_cents

    @property
    def original_cents(self) -> int | None:
        """The load handed over (carico affidato): what stands of it plus sgravi and rettifiche."""
        discharged = self.discharged_cents
        return None if discharged is None or self.assigned_cents is None else self.assigned_cents + discharged


_FIELDS = [name for name in Report.__dataclass_fields__ if name != "files"]


async def create_report(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> int:
    """Record a queued request with the next version of its kind and period; returns the version.
    Concurrent requests of one Comune take turns (advisory lock), so versions never collide."""
    await uow.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"reporting.reports:{tenant_id}"},
    )
    same = (
        reports.c.tenant_id == tenant_id,
        reports.c.kind == values["kind"],
        reports.c.period_from == values["period_from"],
        reports.c.period_to == values["period_to"],
    )
    latest = (await uow.execute(sa.select(sa.func.max(reports.c.version)).where(*same))).scalar_one()
    version = int(latest or 0) + 1
    await uow.execute(sa.insert(reports).values(tenant_id=tenant_id, version=version, **values))
    return version


async def update_report(
    uow: UnitOfWork, tenant_id: uuid.UUID, report_id: uuid.UUID, values: dict[str, Any]
) -> None:
    stmt = sa.update(reports).where(reports.c.tenant_id == tenant_id, reports.c.id == report_id)
    await uow.execute(stmt.values(**values))


async def insert_files(
    uow: UnitOfWork, tenant_id: uuid.UUID, report_id: uuid.UUID, files: list[StoredFile]
) -> None:
    rows = [{"tenant_id": tenant_id, "report_id": report_id, **f.__dict__} for f in files]
    await uow.execute(sa.insert(report_files), rows)


async def _files(
    uow: UnitOfWork, tenant_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[StoredFile]]:
    found: dict[uuid.UUID, list[StoredFile]] = {}
    if not ids:
        return found
    stmt = sa.select(report_files).where(
        report_files.c.tenant_id == tenant_id, report_files.c.report_id.in_(ids)
    )
    for r in await uow.execute(stmt.order_by(report_files.c.format)):
        found.setdefault(r.report_id, []).append(StoredFile(r.format, r.object_key, r.sha256, r.size))
    return found


async def get_report(uow: UnitOfWork, tenant_id: uuid.UUID, report_id: uuid.UUID) -> Report | None:
    stmt = sa.select(reports).where(reports.c.tenant_id == tenant_id, reports.c.id == report_id)
    row = (await uow.execute(stmt)).first()
    if row is None:
        return None
    files = (await _files(uow, tenant_id, [report_id])).get(report_id, [])
    return Report(**{name: getattr(row, name) for name in _FIELDS}, files=tuple(files))


async def list_reports(uow: UnitOfWork, tenant_id: uuid.UUID, limit: int = 50) -> list[Report]:
    stmt = (
        sa.select(reports)
        .where(reports.c.tenant_id == tenant_id)
        .order_by(reports.c.requested_at.desc(), reports.c.version.desc())
        .limit(limit)
    )
    rows = list(await uow.execute(stmt))
    files = await _files(uow, tenant_id, [r.id for r in rows])
    return [Report(**{n: getattr(r, n) for n in _FIELDS}, files=tuple(files.get(r.id, []))) for r in rows]


# --- what the relazione reads ------------------------------------------------------------------


def _params(tenant_id: uuid.UUID, scope: rel.Scope) -> dict[str, Any]:
    """The period's bounds as instants of Europe/Rome: from its first day's midnight to the
    midnight after its last day."""
    return {
        "t": tenant_id,
        "interim": scope.interim,
        "from_day": scope.period_from,
        "to_day": scope.period_to,
        "end": datetime.combine(scope.period_to + timedelta(days=1), time(0), ROME),
    }


# Positions in scope: every one (final), or those registered by the end of the period (interim).
_IN_SCOPE = "p.tenant_id = :t AND (NOT :interim OR p.registered_at < :end)"
_PAID_IN_SCOPE = "(NOT :interim OR pay.paid_on BETWEEN :from_day AND :to_day)"

HISTORIES = f"""
SELECT p.fiscal_code, p.revenue_type, p.year, p.act_number,
       CASE WHEN p.original_cents IS NOT NULL AND :interim AND p.decided_at >= :end
            THEN p.original_cents ELSE p.amount_cents END AS amount_cents,
       (p.registered_at AT TIME ZONE 'Europe/Rome')::date AS registered_on,
       CASE WHEN p.state = 'cancelled' AND (NOT :interim OR p.decided_at < :end)
            THEN 'cancelled' ELSE 'open' END AS state,
       coalesce(d.attempts, 0) AS attempts, coalesce(d.last_outcome, '') AS last_outcome,
       coalesce(d.grade, '') AS grade, coalesce(d.traced, 0) AS traced,
       pl.installments, CASE WHEN NOT :interim OR pl.lapsed_on <= :to_day THEN pl.lapsed_on END AS lapsed_on,
       pay.iuvs, pay.paid_ons, pay.flows, pay.amounts, coalesce(pay.revoked, 0)::bigint AS revoked,
       coalesce(rf.refunded, 0)::bigint AS refunded,
       CASE WHEN p.original_cents IS NOT NULL AND (NOT :interim OR p.decided_at < :end)
            THEN p.original_cents - p.amount_cents ELSE 0 END AS corrected,
       CASE WHEN NOT :interim OR claim.answered_at < :end THEN coalesce(claim.answer, '') ELSE '' END
           AS claim_answer,
       coalesce(d.promise_state, '') AS promise_state, d.promise_due_on,
       -- The days that started its limitation again: payments, and the interrupting acts recorded.
       array_cat(
           (SELECT array_agg(a.paid_on) FROM reporting.payments a
            WHERE a.tenant_id = p.tenant_id AND a.position_id = p.position_id
              AND (NOT :interim OR a.paid_on <= :to_day)
              AND (a.revoked_on IS NULL OR (:interim AND a.revoked_on > :to_day))),
           (SELECT array_agg(x.served_on) FROM reporting.limitation_acts x
            WHERE x.tenant_id = p.tenant_id AND x.position_id = p.position_id AND NOT x.withdrawn
              AND (NOT :interim OR x.served_on <= :to_day))) AS paid_days,
       p.act_on
FROM reporting.positions p
LEFT JOIN reporting.debtors d ON d.tenant_id = p.tenant_id AND d.debtor_id = p.debtor_id
LEFT JOIN (
    -- The office's answer to the debtor's latest case of each kind.
    SELECT DISTINCT ON (c.debtor_id, c.kind) c.debtor_id, c.kind, c.answer, c.answered_at
    FROM reporting.cases c
    WHERE c.tenant_id = :t
    ORDER BY c.debtor_id, c.kind, c.opened_at DESC
) claim ON claim.debtor_id = p.debtor_id AND claim.kind = CASE d.last_outcome
    WHEN 'contestazione' THEN 'dispute' WHEN 'gia_pagato' THEN 'already_paid' WHEN 'difficolta' THEN 'hardship' END
LEFT JOIN reporting.plans pl ON pl.tenant_id = p.tenant_id AND pl.plan_id = p.plan_id
LEFT JOIN (
    SELECT pay.position_id,
           array_agg(pay.iuv ORDER BY pay.paid_on, pay.payment_id) FILTER (WHERE pay.revoked_on IS NULL) AS iuvs,
           array_agg(pay.paid_on ORDER BY pay.paid_on, pay.payment_id)
               FILTER (WHERE pay.revoked_on IS NULL) AS paid_ons,
           array_agg(pay.flow_id ORDER BY pay.paid_on, pay.payment_id)
               FILTER (WHERE pay.revoked_on IS NULL) AS flows,
           array_agg(pay.amount_cents - pay.interest_cents ORDER BY pay.paid_on, pay.payment_id)
               FILTER (WHERE pay.revoked_on IS NULL) AS amounts,
           sum(pay.amount_cents) FILTER (WHERE pay.revoked_on IS NOT NULL) AS revoked
    FROM reporting.payments pay
    WHERE pay.tenant_id = :t AND {_PAID_IN_SCOPE}
    GROUP BY pay.position_id
) pay ON pay.position_id = p.position_id
LEFT JOIN (
    -- Refunds give back the debt first, a plan's interest last: never more of the debt than the
    -- payment paid of it.
    SELECT r.position_id,
           sum(least(r.total, greatest(0, pay.amount_cents - pay.interest_cents))) AS refunded
    FROM (
        SELECT r.payment_id, r.position_id, sum(r.amount_cents) AS total
        FROM reporting.refunds r
        WHERE r.tenant_id = :t AND (NOT :interim OR r.refunded_on BETWEEN :from_day AND :to_day)
        GROUP BY r.payment_id, r.position_id
    ) r
    LEFT JOIN reporting.payments pay ON pay.tenant_id = :t AND pay.payment_id = r.payment_id
    GROUP BY r.position_id
) rf ON rf.position_id = p.position_id
WHERE {_IN_SCOPE}
ORDER BY p.revenue_type, p.year, p.fiscal_code, p.act_number, p.position_id
"""


def _history(r: Any) -> rel.History:
    """A row of `HISTORIES` (read by position: 100,000 rows a relazione)."""
    (fiscal_code, revenue_type, year, act, amount, registered_on, state, attempts, outcome, grade, traced) = (
        r[:11]
    )
    installments, lapsed_on, iuvs, paid_ons, flows, amounts, revoked, refunded = r[11:19]
    receipts = tuple(map(rel.Receipt, iuvs, paid_ons, flows, amounts)) if iuvs else ()
    return rel.History(
        fiscal_code,
        revenue_type,
        year,
        act,
        amount,
        registered_on,
        state,
        receipts,
        refunded,
        revoked,
        attempts,
        outcome,
        grade,
        traced,
        installments,
        lapsed_on,
        corrected_cents=r.corrected,
        claim_answer=r.claim_answer,
        promise_state=r.promise_state,
        promise_due_on=r.promise_due_on,
        paid_days=tuple(r.paid_days or ()),
        act_on=r.act_on,
    )


async def count_positions(uow: UnitOfWork, tenant_id: uuid.UUID, scope: rel.Scope) -> int:
    stmt = sa.text(f"SELECT count(*) FROM reporting.positions p WHERE {_IN_SCOPE}")
    return int((await uow.execute(stmt, _params(tenant_id, scope))).scalar_one())


async def histories(
    uow: UnitOfWork, tenant_id: uuid.UUID, scope: rel.Scope
) -> AsyncIterator[list[rel.History]]:
    """The positions in scope with their payments, refunds, contacts and plan, in the relazione's
    order, `PARTITION` at a time from a server-side cursor."""
    # The sort and the payments' grouping fit in memory (the default 4 MB spills them to disk).
    await uow.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    conn = await uow.connection()
    stmt = sa.text(HISTORIES).execution_options(yield_per=PARTITION)
    result = await conn.stream(stmt, _params(tenant_id, scope))
    async for rows in result.partitions(PARTITION):
        yield [_history(r) for r in rows]


async def flows(uow: UnitOfWork, tenant_id: uuid.UUID, scope: rel.Scope) -> tuple[frame.Flow, ...]:
    """The reconciliation annex: the in-scope positions' payments grouped by reporting flow."""
    stmt = sa.text(
        f"""SELECT pay.flow_id,
               count(*) FILTER (WHERE pay.revoked_on IS NULL) AS payments,
               coalesce(sum(pay.amount_cents) FILTER (WHERE pay.revoked_on IS NULL), 0) AS amount,
               min(pay.paid_on) AS first_paid_on, max(pay.paid_on) AS last_paid_on,
               count(*) FILTER (WHERE pay.revoked_on IS NOT NULL) AS revoked,
               coalesce(sum(pay.amount_cents) FILTER (WHERE pay.revoked_on IS NOT NULL), 0) AS revoked_cents
        FROM reporting.payments pay JOIN reporting.positions p
             ON p.tenant_id = pay.tenant_id AND p.position_id = pay.position_id
        WHERE pay.tenant_id = :t AND {_IN_SCOPE} AND {_PAID_IN_SCOPE}
        GROUP BY pay.flow_id ORDER BY pay.flow_id = '', pay.flow_id"""
    )
    rows = await uow.execute(stmt, _params(tenant_id, scope))
    return tuple(
        frame.Flow(
            r.flow_id,
            r.payments,
            int(r.amount),
            r.first_paid_on,
            r.last_paid_on,
            r.revoked,
            int(r.revoked_cents),
        )
        for r in rows
    )


async def batches(uow: UnitOfWork, tenant_id: uuid.UUID, scope: rel.Scope) -> tuple[frame.BatchInfo, ...]:
    """The credit batches the relazione covers (accepted by the end of an interim's period)."""
    stmt = sa.text(
        f"""SELECT b.filename, b.accepted, b.accepted_total_cents,
                  (b.accepted_at AT TIME ZONE 'Europe/Rome')::date AS accepted_on,
                  count(p.position_id) AS new_positions,
                  coalesce(sum(coalesce(p.original_cents, p.amount_cents)), 0) AS new_cents
           FROM reporting.batches b
           LEFT JOIN reporting.positions p ON p.batch_id = b.batch_id::text AND {_IN_SCOPE}
           WHERE b.tenant_id = :t AND (NOT :interim OR b.accepted_at < :end)
           GROUP BY b.batch_id
           ORDER BY b.accepted_at, b.filename"""
    )
    rows = await uow.execute(stmt, _params(tenant_id, scope))
    return tuple(
        frame.BatchInfo(
            r.filename,
            r.accepted,
            int(r.accepted_total_cents),
            r.accepted_on,
            int(r.new_positions),
            int(r.new_cents),
        )
        for r in rows
    )
