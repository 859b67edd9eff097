"""Queries of the digests for the Ufficio tributi: the schedule, the office's addresses, the digests
made, and the period's figures read from the ledger. Every function takes the tenant and filters by it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.contracts import NOT_CONVERSATIONS, PlanCreated
from services.contracts_contact import PromiseBroken, PromiseKept, PromiseMade
from services.kernel.db import UnitOfWork
from services.kernel.storage import StoredObject
from services.reporting.domain_digest import CaseRow, Figures, Period, RevenueLine, Schedule
from services.reporting.models import outcomes, payments, positions
from services.reporting.models_aggio import aggio_contracts
from services.reporting.models_cases import cases
from services.reporting.models_digests import digest_settings, digests
from services.reporting.models_ledger import event_log, plans, refunds
from services.reporting.repository import counted_positions, has_counted_position, mail_claimable

# The office's addresses (migration 0006, shared with the aggio's rendiconti).
office_contacts = sa.table(
    "office_contacts",
    sa.column("tenant_id", sa.Uuid),
    sa.column("emails", ARRAY(sa.Text)),
    sa.column("updated_by", sa.Text),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    schema="reporting",
)


@dataclass(frozen=True)
class Settings:
    schedule: Schedule
    last_period_end: date | None
    comune_name: str
    comune_slug: str


@dataclass(frozen=True)
class DigestRecord:
    id: uuid.UUID
    period: Period
    trigger: str
    requested_by: str
    status: str
    error: str
    attempts: int
    recipients: tuple[str, ...]
    object_key: str
    sha256: str
    size: int
    created_at: datetime
    sent_at: datetime | None
    claimed_at: datetime | None = None


# --- the schedule and the addresses ---------------------------------------------------------------


async def settings(uow: UnitOfWork, tenant_id: uuid.UUID) -> Settings:
    """The Comune's schedule (weekly on Monday when it never chose one); its name as last seen here,
    else as the aggio contract names it."""
    s = digest_settings.c
    contract_ente = (
        sa.select(aggio_contracts.c.ente)
        .where(aggio_contracts.c.tenant_id == tenant_id)
        .order_by(aggio_contracts.c.start_date.desc())
        .limit(1)
        .scalar_subquery()
    )
    stmt = sa.select(
        digest_settings,
        sa.func.coalesce(sa.func.nullif(s.comune_name, ""), contract_ente, "").label("ente"),
    ).where(s.tenant_id == tenant_id)
    row = (await uow.execute(stmt)).first()
    if row is None:
        ente = (await uow.execute(sa.select(contract_ente))).scalar_one_or_none() or ""
        return Settings(Schedule(), None, ente, "")
    schedule = Schedule(row.kind, row.weekday, row.every_days, row.starts_on)
    return Settings(schedule, row.last_period_end, row.ente, row.comune_slug)


async def _upsert(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    stmt = pg_insert(digest_settings).values(tenant_id=tenant_id, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[digest_settings.c.tenant_id],
        set_=values,
        where=digest_settings.c.tenant_id == tenant_id,
    )
    await uow.execute(stmt)


async def save_schedule(uow: UnitOfWork, tenant_id: uuid.UUID, schedule: Schedule, user: str) -> None:
    values = {
        "kind": schedule.kind,
        "weekday": schedule.weekday,
        "every_days": schedule.every_days,
        "starts_on": schedule.starts_on,
        "updated_by": user,
        "updated_at": sa.func.now(),
    }
    await _upsert(uow, tenant_id, values)


async def remember_comune(uow: UnitOfWork, tenant_id: uuid.UUID, name: str, slug: str) -> None:
    """Keep the Comune's name and slug for the digests the daily run makes (it has no user to ask)."""
    await _upsert(uow, tenant_id, {"comune_name": name, "comune_slug": slug})


async def mark_period_sent(uow: UnitOfWork, tenant_id: uuid.UUID, end: date) -> None:
    await _upsert(uow, tenant_id, {"last_period_end": end})


async def office_emails(uow: UnitOfWork, tenant_id: uuid.UUID) -> tuple[str, ...]:
    stmt = sa.select(office_contacts.c.emails).where(office_contacts.c.tenant_id == tenant_id)
    return tuple((await uow.execute(stmt)).scalar_one_or_none() or ())


async def save_office_emails(
    uow: UnitOfWork, tenant_id: uuid.UUID, emails: tuple[str, ...], user: str
) -> None:
    values = {"emails": list(emails), "updated_by": user, "updated_at": sa.func.now()}
    stmt = pg_insert(office_contacts).values(tenant_id=tenant_id, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[office_contacts.c.tenant_id],
        set_=values,
        where=office_contacts.c.tenant_id == tenant_id,
    )
    await uow.execute(stmt)


# --- the digests made ------------------------------------------------------------------------------


def _claim_values(
    tenant_id: uuid.UUID, digest_id: uuid.UUID, period: Period, to: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "id": digest_id,
        "tenant_id": tenant_id,
        "period_from": period.start,
        "period_to": period.end,
        "status": "sending",
        "recipients": list(to),
    }


async def claim_scheduled(
    uow: UnitOfWork, tenant_id: uuid.UUID, period: Period, to: tuple[str, ...], now: datetime
) -> uuid.UUID | None:
    """Claim the period's scheduled digest at `now`: a new row, or the one that failed or was left
    `sending` past its lease tried again. None when it was sent already or is being sent (the insert
    waits for a concurrent claim's transaction, then finds its row `sending` within the lease)."""
    d = digests.c
    values = _claim_values(tenant_id, uuid.uuid4(), period, to)
    stmt = pg_insert(digests).values(trigger="scheduled", claimed_at=now, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[d.tenant_id, d.period_from, d.period_to],
        # A literal, not a parameter: a generic plan could not match the partial index to it.
        index_where=sa.text("trigger = 'scheduled'"),
        set_={"status": "sending", "attempts": d.attempts + 1, "recipients": list(to), "claimed_at": now},
        where=sa.and_(mail_claimable(d.status, d.claimed_at, now), d.tenant_id == tenant_id),
    )
    return (await uow.execute(stmt.returning(d.id))).scalar_one_or_none()


async def insert_manual(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    digest_id: uuid.UUID,
    period: Period,
    to: tuple[str, ...],
    user: str,
) -> None:
    values = _claim_values(tenant_id, digest_id, period, to)
    await uow.execute(sa.insert(digests).values(trigger="manual", requested_by=user, **values))


async def attach(uow: UnitOfWork, tenant_id: uuid.UUID, digest_id: uuid.UUID, stored: StoredObject) -> None:
    """The PDF stored for this attempt."""
    values = {"object_key": stored.key, "sha256": stored.sha256, "size": stored.size}
    await uow.execute(
        sa.update(digests).where(digests.c.tenant_id == tenant_id, digests.c.id == digest_id).values(values)
    )


async def finish(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    digest_id: uuid.UUID,
    status: str,
    error: str = "",
    sent_at: datetime | None = None,
) -> None:
    """The outcome of the e-mail of a digest recorded as `sending`."""
    values = {"status": status, "error": error[:500], "sent_at": sent_at}
    await uow.execute(
        sa.update(digests)
        .where(digests.c.tenant_id == tenant_id, digests.c.id == digest_id, digests.c.status == "sending")
        .values(values)
    )


def _record(row: Any) -> DigestRecord:
    return DigestRecord(
        id=row.id,
        period=Period(row.period_from, row.period_to),
        trigger=row.trigger,
        requested_by=row.requested_by,
        status=row.status,
        error=row.error,
        attempts=row.attempts,
        recipients=tuple(row.recipients),
        object_key=row.object_key,
        sha256=row.sha256,
        size=row.size,
        created_at=row.created_at,
        sent_at=row.sent_at,
        claimed_at=row.claimed_at,
    )


async def list_digests(uow: UnitOfWork, tenant_id: uuid.UUID, limit: int = 100) -> list[DigestRecord]:
    """The Comune's digests, newest first."""
    stmt = (
        sa.select(digests)
        .where(digests.c.tenant_id == tenant_id)
        .order_by(digests.c.created_at.desc(), digests.c.id)
        .limit(limit)
    )
    return [_record(r) for r in (await uow.execute(stmt)).all()]


async def get_digest(uow: UnitOfWork, tenant_id: uuid.UUID, digest_id: uuid.UUID) -> DigestRecord | None:
    stmt = sa.select(digests).where(digests.c.tenant_id == tenant_id, digests.c.id == digest_id)
    row = (await uow.execute(stmt)).first()
    return _record(row) if row is not None else None


# --- what the period holds -------------------------------------------------------------------------


def _one(result: Any) -> Any:
    return result.one()


def _sum(column: Any, where: Any = None) -> Any:
    total = sa.func.sum(column) if where is None else sa.func.sum(column).filter(where)
    return sa.func.coalesce(total, 0)


async def _events(uow: UnitOfWork, tenant_id: uuid.UUID, since: datetime, until: datetime) -> dict[str, int]:
    """How many promises were made, kept and broken and plans granted in the period, by when their
    service says it happened (`occurred_at` of the logged envelope): the projections keep no date
    of their own for them."""
    kinds = [e.routing_key() for e in (PromiseMade, PromiseKept, PromiseBroken, PlanCreated)]
    e = event_log.c
    envelope = sa.cast(sa.func.convert_from(e.body, "UTF8"), JSONB)
    occurred = sa.cast(envelope["occurred_at"].astext, sa.DateTime(timezone=True))
    logged = (
        sa.select(e.routing_key.label("kind"), occurred.label("at"))
        .where(e.tenant_id == tenant_id, e.routing_key.in_(kinds))
        .subquery()
    )
    stmt = (
        sa.select(logged.c.kind, sa.func.count())
        .where(logged.c.at >= since, logged.c.at < until)
        .group_by(logged.c.kind)
    )
    rows: list[Any] = list((await uow.execute(stmt)).all())
    return {kind: int(n) for kind, n in rows}


async def figures(uow: UnitOfWork, tenant_id: uuid.UUID, period: Period) -> Figures:
    """The period's figures: positions assigned and debtors reached (the positions the office
    cancelled left out: `repository.counted_positions`), outcomes, promises and plans, payments of
    the period that count, those revoked, refunds."""
    since, until = period.bounds()
    p, o, pay = positions.c, outcomes.c, payments.c
    assigned = _one(
        await uow.execute(
            sa.select(sa.func.count(), _sum(p.amount_cents)).where(
                *counted_positions(tenant_id), p.registered_at >= since, p.registered_at < until
            )
        )
    )
    # Reached: a conversation with the taxpayer, by a debtor with a position the figures count (as
    # the portal counts).
    reached = sa.and_(
        o.outcome.not_in(sorted(NOT_CONVERSATIONS)), has_counted_position(tenant_id, o.debtor_id)
    )
    calls = _one(
        await uow.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(o.debtor_id)).filter(reached)).where(
                o.tenant_id == tenant_id, o.recorded_at >= since, o.recorded_at < until
            )
        )
    )
    paid = _one(
        await uow.execute(
            sa.select(
                _sum(pay.amount_cents, pay.revoked_on.is_(None)),
                _sum(pay.amount_cents, pay.revoked_on.is_not(None)),
            ).where(pay.tenant_id == tenant_id, pay.paid_on.between(period.start, period.end))
        )
    )
    refunded, lapsed = await _refunded_and_lapsed(uow, tenant_id, period)
    events = await _events(uow, tenant_id, since, until)
    return Figures(
        positions_assigned=int(assigned[0]),
        assigned_cents=int(assigned[1]),
        outcomes=int(calls[0]),
        debtors_reached=int(calls[1]),
        promises_made=events.get(PromiseMade.routing_key(), 0),
        promises_kept=events.get(PromiseKept.routing_key(), 0),
        promises_broken=events.get(PromiseBroken.routing_key(), 0),
        plans_created=events.get(PlanCreated.routing_key(), 0),
        plans_lapsed=lapsed,
        collected_cents=int(paid[0]),
        revoked_cents=int(paid[1]),
        refunded_cents=refunded,
    )


async def _refunded_and_lapsed(uow: UnitOfWork, tenant_id: uuid.UUID, period: Period) -> tuple[int, int]:
    """The euro cents refunded and the plans lapsed in the period, in one statement."""
    r, pl, days = refunds.c, plans.c, (period.start, period.end)
    refunded = sa.select(_sum(r.amount_cents)).where(r.tenant_id == tenant_id, r.refunded_on.between(*days))
    lapsed = sa.select(sa.func.count()).where(pl.tenant_id == tenant_id, pl.lapsed_on.between(*days))
    row = _one(await uow.execute(sa.select(refunded.scalar_subquery(), lapsed.scalar_subquery())))
    return int(row[0]), int(row[1])


UNKNOWN_TYPE = "Non attribuito"


async def by_revenue_type(uow: UnitOfWork, tenant_id: uuid.UUID, period: Period) -> tuple[RevenueLine, ...]:
    """What the period's payments (not revoked) and refunds came to, by the revenue type of their
    position (a payment whose position is not known yet: «Non attribuito»)."""
    p, pay, r = positions.c, payments.c, refunds.c

    def kind() -> Any:
        return sa.func.coalesce(p.revenue_type, UNKNOWN_TYPE).label("kind")

    def joined(table: sa.Table) -> Any:
        on = sa.and_(p.tenant_id == tenant_id, p.position_id == table.c.position_id)
        return table.outerjoin(positions, on)

    paid = (
        sa.select(kind(), sa.func.count(), _sum(pay.amount_cents))
        .select_from(joined(payments))
        .where(
            pay.tenant_id == tenant_id,
            pay.revoked_on.is_(None),
            pay.paid_on.between(period.start, period.end),
        )
        .group_by(sa.literal_column("kind"))
    )
    back = (
        sa.select(kind(), _sum(r.amount_cents))
        .select_from(joined(refunds))
        .where(r.tenant_id == tenant_id, r.refunded_on.between(period.start, period.end))
        .group_by(sa.literal_column("kind"))
    )
    lines: dict[str, list[int]] = {}
    collected: list[Any] = list((await uow.execute(paid)).all())
    returned: list[Any] = list((await uow.execute(back)).all())
    for name, count, cents in collected:
        lines[name] = [int(count), int(cents), 0]
    for name, cents in returned:
        lines.setdefault(name, [0, 0, 0])[2] = int(cents)
    return tuple(RevenueLine(name, *values) for name, values in sorted(lines.items()))


async def waiting_cases(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[CaseRow]:
    """The cases awaiting the office: no answer yet, or suspended; with the debtor's name."""
    c = cases.c

    def debtor(column: str) -> Any:
        return (
            sa.select(positions.c[column])
            .where(positions.c.tenant_id == c.tenant_id, positions.c.debtor_id == c.debtor_id)
            .limit(1)
            .scalar_subquery()
        )

    stmt = (
        sa.select(c.id, c.kind, c.answer, c.opened_at, debtor("debtor_name"), debtor("fiscal_code"))
        .where(c.tenant_id == tenant_id, sa.or_(c.answer.is_(None), c.answer == "suspended"))
        .order_by(c.opened_at, c.id)
    )
    rows: list[Any] = list((await uow.execute(stmt)).all())
    return [CaseRow(str(r[0]), r[1], r[2], r[3], r[4] or "", r[5] or "") for r in rows]
