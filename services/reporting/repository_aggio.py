"""Queries of the aggio engine. Every function takes the tenant and filters by it (RLS too)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork
from services.reporting.domain_aggio import Band, Base, Contract
from services.reporting.models import payments, positions
from services.reporting.models_aggio import aggio_bands, aggio_contracts, office_contacts, rendiconti
from services.reporting.models_ledger import refunds
from services.reporting.repository import mail_claimable


@dataclass(frozen=True)
class SavedContract:
    contract: Contract
    ente: str
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class Movement:
    """One line of a rendiconto: a payment collected (kind "pagamento") or a refund ("rimborso")."""

    kind: str
    day: date
    fiscal_code: str
    revenue_type: str
    year: int
    act_number: str
    iuv: str
    receipt_ref: str
    flow_id: str
    amount_cents: int


# --- contract ------------------------------------------------------------------------------------


async def contract_versions(uow: UnitOfWork, tenant_id: uuid.UUID) -> tuple[SavedContract, ...]:
    """The Comune's aggio contract, version by version from the first (none: no contract yet)."""
    c, b = aggio_contracts.c, aggio_bands.c
    heads = (
        await uow.execute(sa.select(aggio_contracts).where(c.tenant_id == tenant_id).order_by(c.start_date))
    ).all()
    if not heads:
        return ()
    rows = await uow.execute(
        sa.select(aggio_bands)
        .where(b.tenant_id == tenant_id)
        .order_by(b.start_date, b.revenue_type, b.from_cents)
    )
    bands: dict[date, list[Band]] = {}
    for r in rows:
        bands.setdefault(r.start_date, []).append(Band(r.revenue_type, r.from_cents, r.to_cents, r.rate_bp))
    return tuple(
        SavedContract(
            Contract(
                h.reference, h.start_date, tuple(bands.get(h.start_date, ())), h.vat_applies, h.vat_rate_bp
            ),
            h.ente,
            h.updated_by,
            h.updated_at,
        )
        for h in heads
    )


async def put_version(
    uow: UnitOfWork, tenant_id: uuid.UUID, replacing: date | None, contract: Contract, ente: str, user: str
) -> None:
    """Save a version of the contract with its rates, in place of the version that started on
    `replacing` (None: a new version); the caller checked the versions (`domain_aggio_versions`)."""
    if replacing is not None:
        await delete_version(uow, tenant_id, replacing)
    await uow.execute(
        sa.insert(aggio_contracts).values(
            tenant_id=tenant_id,
            reference=contract.reference,
            start_date=contract.start_date,
            vat_applies=contract.vat_applies,
            vat_rate_bp=contract.vat_rate_bp,
            ente=ente,
            updated_by=user,
        )
    )
    rows = [
        {
            "tenant_id": tenant_id,
            "start_date": contract.start_date,
            "revenue_type": b.revenue_type,
            "from_cents": b.from_cents,
            "to_cents": b.to_cents,
            "rate_bp": b.rate_bp,
        }
        for b in contract.bands
    ]
    await uow.execute(sa.insert(aggio_bands).values(rows))


async def delete_version(uow: UnitOfWork, tenant_id: uuid.UUID, start: date) -> None:
    """Remove a version of the contract (its rates go with it: the foreign key cascades)."""
    c = aggio_contracts.c
    await uow.execute(sa.delete(aggio_contracts).where(c.tenant_id == tenant_id, c.start_date == start))


# --- the base ------------------------------------------------------------------------------------


def _paid_in(tenant_id: uuid.UUID, start: date, end: date) -> Any:
    return sa.and_(payments.c.tenant_id == tenant_id, payments.c.paid_on.between(start, end))


async def bases(uow: UnitOfWork, tenant_id: uuid.UUID, start: date, end: date) -> dict[str, Base]:
    """Per revenue type: payments dated in the period (not revoked; revoked apart) and refunds dated
    in the period, in cents. Payments and refunds count under their position's revenue type; the
    refund of a payment later revoked does not count (its payment no longer does either)."""
    revoked = payments.c.revoked_on.is_not(None)
    paid = (
        sa.select(
            positions.c.revenue_type,
            sa.func.coalesce(sa.func.sum(payments.c.amount_cents).filter(~revoked), 0).label("collected"),
            sa.func.coalesce(sa.func.sum(payments.c.amount_cents).filter(revoked), 0).label("revoked"),
        )
        .join(positions, positions.c.position_id == payments.c.position_id)
        .where(_paid_in(tenant_id, start, end), positions.c.tenant_id == tenant_id)
        .group_by(positions.c.revenue_type)
    )
    back = (
        sa.select(positions.c.revenue_type, sa.func.sum(refunds.c.amount_cents).label("refunded"))
        .join(positions, positions.c.position_id == refunds.c.position_id)
        .join(payments, payments.c.payment_id == refunds.c.payment_id)
        .where(
            refunds.c.tenant_id == tenant_id,
            positions.c.tenant_id == tenant_id,
            payments.c.tenant_id == tenant_id,
            payments.c.revoked_on.is_(None),
            refunds.c.refunded_on.between(start, end),
        )
        .group_by(positions.c.revenue_type)
    )
    found: dict[str, list[int]] = {}
    for r in await uow.execute(paid):
        slot = found.setdefault(r.revenue_type, [0, 0, 0])
        slot[0], slot[2] = int(r.collected), int(r.revoked)
    for r in await uow.execute(back):
        found.setdefault(r.revenue_type, [0, 0, 0])[1] = int(r.refunded)
    return {t: Base(c, f, v) for t, (c, f, v) in sorted(found.items())}


def _month(day: Any) -> Any:
    """The first day of the date's month, as a date (no time zone involved)."""
    return sa.cast(sa.func.date_trunc("month", sa.cast(day, sa.DateTime)), sa.Date).label("month")


async def monthly_bases(
    uow: UnitOfWork, tenant_id: uuid.UUID, since: date, until: date
) -> dict[date, dict[str, Base]]:
    """`bases` of every month in [since, until], in two grouped queries (the dashboard's aggio)."""
    revoked = payments.c.revoked_on.is_not(None)
    paid_month = _month(payments.c.paid_on)
    paid = (
        sa.select(
            paid_month,
            positions.c.revenue_type,
            sa.func.coalesce(sa.func.sum(payments.c.amount_cents).filter(~revoked), 0).label("collected"),
            sa.func.coalesce(sa.func.sum(payments.c.amount_cents).filter(revoked), 0).label("revoked"),
        )
        .join(positions, positions.c.position_id == payments.c.position_id)
        .where(_paid_in(tenant_id, since, until), positions.c.tenant_id == tenant_id)
        .group_by(paid_month, positions.c.revenue_type)
    )
    back_month = _month(refunds.c.refunded_on)
    back = (
        sa.select(back_month, positions.c.revenue_type, sa.func.sum(refunds.c.amount_cents).label("refunded"))
        .join(positions, positions.c.position_id == refunds.c.position_id)
        .join(payments, payments.c.payment_id == refunds.c.payment_id)
        .where(
            refunds.c.tenant_id == tenant_id,
            positions.c.tenant_id == tenant_id,
            payments.c.tenant_id == tenant_id,
            payments.c.revoked_on.is_(None),
            refunds.c.refunded_on.between(since, until),
        )
        .group_by(back_month, positions.c.revenue_type)
    )
    found: dict[date, dict[str, list[int]]] = {}
    for r in await uow.execute(paid):
        slot = found.setdefault(r.month, {}).setdefault(r.revenue_type, [0, 0, 0])
        slot[0], slot[2] = int(r.collected), int(r.revoked)
    for r in await uow.execute(back):
        found.setdefault(r.month, {}).setdefault(r.revenue_type, [0, 0, 0])[1] = int(r.refunded)
    return {
        month: {t: Base(c, f, v) for t, (c, f, v) in sorted(types.items())}
        for month, types in sorted(found.items())
    }


async def movements(uow: UnitOfWork, tenant_id: uuid.UUID, start: date, end: date) -> list[Movement]:
    """Every payment collected in the period (not revoked) and every refund of the period, by date:
    the lines that make up the base."""
    columns = (
        positions.c.fiscal_code,
        positions.c.revenue_type,
        positions.c.year,
        positions.c.act_number,
        payments.c.iuv,
        payments.c.receipt_ref,
        payments.c.flow_id,
    )
    paid = (
        sa.select(
            sa.literal("pagamento").label("kind"),
            payments.c.paid_on.label("day"),
            *columns,
            payments.c.amount_cents,
        )
        .join(positions, positions.c.position_id == payments.c.position_id)
        .where(
            _paid_in(tenant_id, start, end),
            payments.c.revoked_on.is_(None),
            positions.c.tenant_id == tenant_id,
        )
    )
    back = (
        sa.select(
            sa.literal("rimborso").label("kind"),
            refunds.c.refunded_on.label("day"),
            *columns,
            refunds.c.amount_cents,
        )
        .join(payments, payments.c.payment_id == refunds.c.payment_id)
        .join(positions, positions.c.position_id == refunds.c.position_id)
        .where(
            refunds.c.tenant_id == tenant_id,
            payments.c.tenant_id == tenant_id,
            payments.c.revoked_on.is_(None),
            positions.c.tenant_id == tenant_id,
            refunds.c.refunded_on.between(start, end),
        )
    )
    union = sa.union_all(paid, back).subquery()
    stmt = sa.select(union).order_by(union.c.day, union.c.revenue_type, union.c.fiscal_code, union.c.kind)
    return [Movement(**r._mapping) for r in await uow.execute(stmt)]


# --- rendiconti ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendiconto:
    id: uuid.UUID
    month: date
    version: int
    pdf_key: str
    pdf_sha256: str
    pdf_size: int
    xlsx_key: str
    xlsx_sha256: str
    xlsx_size: int
    collected_cents: int
    refunded_cents: int
    revoked_cents: int
    taxable_cents: int
    aggio_cents: int
    vat_cents: int
    invoice_cents: int
    contract: dict[str, Any]
    generated_at: datetime
    generated_by: str
    emailed_to: list[str]
    emailed_at: datetime | None
    email_error: str
    email_status: str
    email_attempts: int


def _rendiconto(row: Any) -> Rendiconto:
    return Rendiconto(**{name: getattr(row, name) for name in Rendiconto.__dataclass_fields__})


async def next_version(uow: UnitOfWork, tenant_id: uuid.UUID, month: date) -> int:
    stmt = sa.select(sa.func.coalesce(sa.func.max(rendiconti.c.version), 0)).where(
        rendiconti.c.tenant_id == tenant_id, rendiconti.c.month == month
    )
    return int((await uow.execute(stmt)).scalar_one()) + 1


async def latest_of_month(uow: UnitOfWork, tenant_id: uuid.UUID, month: date) -> Rendiconto | None:
    r = rendiconti
    stmt = sa.select(r).where(r.c.tenant_id == tenant_id, r.c.month == month).order_by(r.c.version.desc())
    row = (await uow.execute(stmt.limit(1))).first()
    return _rendiconto(row) if row else None


async def insert_rendiconto(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    await uow.execute(sa.insert(rendiconti).values(tenant_id=tenant_id, **values))


async def mark_emailed(
    uow: UnitOfWork, tenant_id: uuid.UUID, rendiconto_id: uuid.UUID, status: str, error: str
) -> None:
    """The outcome of the e-mail of a rendiconto recorded as `sending`."""
    values: dict[str, Any] = {"email_status": status, "email_error": error}
    if status == "sent":
        values["emailed_at"] = sa.func.now()
    await uow.execute(
        sa.update(rendiconti)
        .where(
            rendiconti.c.tenant_id == tenant_id,
            rendiconti.c.id == rendiconto_id,
            rendiconti.c.email_status == "sending",
        )
        .values(**values)
    )


async def claim_unsent(
    uow: UnitOfWork, tenant_id: uuid.UUID, month: date, now: datetime
) -> Rendiconto | None:
    """The month's newest rendiconto when its e-mail failed, or was left `sending` past its lease by a
    run that died, set `sending` again at `now` with one attempt more; None otherwise (a concurrent
    claim waits for the row, then finds it `sending` within the lease)."""
    newest = (
        sa.select(rendiconti.c.id)
        .where(rendiconti.c.tenant_id == tenant_id, rendiconti.c.month == month)
        .order_by(rendiconti.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        sa.update(rendiconti)
        .where(
            rendiconti.c.tenant_id == tenant_id,
            rendiconti.c.id == newest,
            mail_claimable(rendiconti.c.email_status, rendiconti.c.email_claimed_at, now),
        )
        .values(
            email_status="sending",
            email_attempts=rendiconti.c.email_attempts + 1,
            email_error="",
            email_claimed_at=now,
        )
        .returning(*rendiconti.c)
    )
    row = (await uow.execute(stmt)).first()
    return None if row is None else _rendiconto(row)


async def list_rendiconti(uow: UnitOfWork, tenant_id: uuid.UUID, limit: int = 60) -> list[Rendiconto]:
    stmt = (
        sa.select(rendiconti)
        .where(rendiconti.c.tenant_id == tenant_id)
        .order_by(rendiconti.c.month.desc(), rendiconti.c.version.desc())
        .limit(limit)
    )
    return [_rendiconto(r) for r in await uow.execute(stmt)]


async def get_rendiconto(
    uow: UnitOfWork, tenant_id: uuid.UUID, rendiconto_id: uuid.UUID
) -> Rendiconto | None:
    stmt = sa.select(rendiconti).where(rendiconti.c.tenant_id == tenant_id, rendiconti.c.id == rendiconto_id)
    row = (await uow.execute(stmt)).first()
    return None if row is None else _rendiconto(row)


# --- the office's addresses ------------------------------------------------------------------------


async def office_emails(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[str]:
    stmt = sa.select(office_contacts.c.emails).where(office_contacts.c.tenant_id == tenant_id)
    value = (await uow.execute(stmt)).scalar_one_or_none()
    return list(value or [])


async def save_office_emails(uow: UnitOfWork, tenant_id: uuid.UUID, emails: list[str], user: str) -> None:
    values = {"emails": emails, "updated_by": user, "updated_at": sa.func.now()}
    stmt = pg_insert(office_contacts).values(tenant_id=tenant_id, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[office_contacts.c.tenant_id],
        set_=values,
        where=office_contacts.c.tenant_id == tenant_id,
    )
    await uow.execute(stmt)
