"""Payments taken back (refunded by the Comune, revoked in a reporting flow): a row of
`debtor_payments` with a negative amount, so what the debtor owes grows again. Every function takes
the tenant and filters by it (RLS too)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.contact.models import debtor_payments
from services.kernel.db import UnitOfWork

REVOCATION_IDS = uuid.UUID("8f0c2c52-6d8e-4a4e-9d55-5a3f1f2d7c11")


@dataclass(frozen=True)
class TakenBack:
    """A refund (`row_id`: the refund's id) or a revocation of `payment_id`."""

    kind: str
    row_id: uuid.UUID
    payment_id: uuid.UUID
    debtor_id: uuid.UUID
    position_id: uuid.UUID
    amount_cents: int
    on: date


def revocation_id(payment_id: uuid.UUID) -> uuid.UUID:
    """One revocation per payment, whatever the event's envelope."""
    return uuid.uuid5(REVOCATION_IDS, str(payment_id))


async def _sum_for(
    uow: UnitOfWork, tenant_id: uuid.UUID, payment_id: uuid.UUID
) -> tuple[int | None, int, bool]:
    """The payment's amount (None if not known yet), what was refunded of it, whether revoked."""
    p = debtor_payments
    rows = await uow.execute(
        sa.select(p.c.kind, p.c.amount_cents).where(
            p.c.tenant_id == tenant_id,
            sa.or_(p.c.payment_id == payment_id, p.c.of_payment == payment_id),
        )
    )
    paid: int | None = None
    refunded, revoked = 0, False
    for row in rows:
        if row.kind == "payment":
            paid = int(row.amount_cents)
        elif row.kind == "refund":
            refunded -= int(row.amount_cents)
        else:
            revoked = True
    return paid, refunded, revoked


async def take_back(uow: UnitOfWork, tenant_id: uuid.UUID, fact: TakenBack) -> bool:
    """Record a refund or a revocation once; False when known already or when it takes nothing
    (a refund of a revoked payment: the revocation took it all back)."""
    paid, refunded, revoked = await _sum_for(uow, tenant_id, fact.payment_id)
    if fact.kind == "refund":
        if revoked:
            return False
        # The debt first: never more than what the payment paid of it (`paid`: its plan's
        # interest is not recorded here) less what was refunded before.
        amount, row_id = fact.amount_cents, fact.row_id
        if paid is not None:
            amount = max(0, min(amount, paid - refunded))
    else:
        # What was refunded of it already came off: only the rest now (all of it if the payment
        # itself is not known yet: when it comes, the two cancel out).
        amount = fact.amount_cents if paid is None else max(0, paid - refunded)
        row_id = revocation_id(fact.payment_id)
    stmt = (
        pg_insert(debtor_payments)
        .values(
            payment_id=row_id,
            tenant_id=tenant_id,
            debtor_id=fact.debtor_id,
            position_id=fact.position_id,
            amount_cents=-amount,
            paid_on=fact.on,
            kind=fact.kind,
            of_payment=fact.payment_id,
        )
        .on_conflict_do_nothing(index_elements=[debtor_payments.c.payment_id, debtor_payments.c.tenant_id])
        .returning(debtor_payments.c.payment_id)
    )
    return (await uow.execute(stmt)).first() is not None
