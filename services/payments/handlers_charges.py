"""Use cases of the c.803 collection charges (L. 160/2019, art. 1 c. 803) of a plan, collected
through a pagoPA notice of their own (`handlers_notices`): a receipt for that notice is recorded
apart from the positions' payments (it reduces no position and is not the credit) and announced as
`ChargesPaid`; a revoked one as `ChargesRevoked`. The reporting service shows them apart from the
collected amounts and out of the aggio's base."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from services.contracts import ChargesPaid, ChargesRevoked
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope
from services.payments import repository_charges
from services.payments.domain_receipts import ROME
from services.payments.domain_reconciliation import Incoming


@dataclass(frozen=True)
class ChargeReceipt:
    """A receipt matching the notice of a plan's charges."""

    incoming: Incoming
    receipt_id: uuid.UUID
    option_id: uuid.UUID
    plan_id: uuid.UUID


async def record_paid(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    paid: Sequence[ChargeReceipt],
    state: str,
    flow_id: str | None,
    correlation_id: str,
) -> list[Envelope]:
    """The charges paid, one row each; their events, to publish with the import's."""
    if not paid:
        return []
    heads = await repository_charges.plan_heads(uow, tenant_id, {p.plan_id for p in paid})
    rows, events = [], []
    for p in paid:
        head, item = heads[p.plan_id], p.incoming
        row = {
            "id": uuid.uuid4(),
            "plan_id": p.plan_id,
            "option_id": p.option_id,
            "receipt_id": p.receipt_id,
            "debtor_id": head.debtor_id,
            "revenue_type": head.revenue_type,
            "amount_cents": item.amount_cents,
            "paid_on": item.paid_at.astimezone(ROME).date(),
            "iuv": item.iuv,
            "receipt_ref": item.receipt_ref,
            "flow_id": flow_id,
            "state": state,
        }
        rows.append(row)
        event = ChargesPaid(
            payment_id=str(row["id"]),
            plan_id=str(p.plan_id),
            debtor_id=str(head.debtor_id),
            revenue_type=head.revenue_type,
            amount_cents=item.amount_cents,
            paid_on=row["paid_on"].isoformat(),
            iuv=item.iuv,
            receipt_ref=item.receipt_ref,
            flow_id=flow_id or "",
        )
        events.append(event.envelope(tenant_id, correlation_id))
    await repository_charges.insert(uow, tenant_id, rows)
    return events


async def revoke(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    receipt_ids: Collection[uuid.UUID],
    flow_id: str | None,
    correlation_id: str,
) -> list[Envelope]:
    """The charges these revoked receipts had paid no longer count; their events."""
    revoked = await repository_charges.revoke(uow, tenant_id, receipt_ids)
    return [
        ChargesRevoked(
            payment_id=str(r.id),
            plan_id=str(r.plan_id),
            debtor_id=str(r.debtor_id),
            amount_cents=r.amount_cents,
            flow_id=flow_id or "",
        ).envelope(tenant_id, correlation_id)
        for r in revoked
    ]
