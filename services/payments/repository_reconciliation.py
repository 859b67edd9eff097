"""Queries of reconciliation: options and receipts a batch names, and its effects written in bulk."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork
from services.payments.domain_answers import CANCELLED
from services.payments.models import payment_options, payments, plan_positions, positions
from services.payments.models_charges import charge_payments
from services.payments.models_reconciliation import flow_lines, flows, receipts, review_items

Row = sa.Row[Any]


def _any(values: Collection[Any], kind: Any) -> Any:
    """`= ANY(:array)`: one array parameter instead of one parameter per value (batches are large)."""
    return sa.any_(sa.bindparam(None, list(values), type_=ARRAY(kind)))


# The debt an option pays: its plan, or its position alone; the notice of a plan's c.803 charges is
# a debt of its own (paying it makes no other notice unpayable, and the others leave it payable).
GROUP = sa.case(
    (payment_options.c.kind == "charges", payment_options.c.id),
    else_=sa.func.coalesce(payment_options.c.plan_id, payment_options.c.position_id),
)


async def options_of_debts(uow: UnitOfWork, tenant_id: uuid.UUID, iuvs: Collection[str]) -> list[Row]:
    """The options whose IUV is given, with every other option of the same debt (plan or position).
    Replaced options come too: a receipt for one is money paid on a notice no longer in force
    (`domain_reconciliation._classify`), not an unknown IUV; none of them is ever paid or made
    payable again by what a batch decides."""
    o = payment_options
    named = sa.select(GROUP).where(o.c.tenant_id == tenant_id, o.c.iuv == _any(iuvs, sa.Text))
    wanted = (o.c.id, o.c.iuv, o.c.amount_cents, o.c.status, o.c.plan_id, o.c.installment, o.c.kind)
    stmt = sa.select(*wanted, GROUP.label("group_id")).where(
        o.c.tenant_id == tenant_id, GROUP.in_(named.scalar_subquery())
    )
    return list((await uow.execute(stmt)).all())


async def receipts_of(uow: UnitOfWork, tenant_id: uuid.UUID, iuvs: Collection[str]) -> list[Row]:
    r = receipts
    stmt = sa.select(r).where(r.c.tenant_id == tenant_id, r.c.iuv == _any(iuvs, sa.Text))
    return list((await uow.execute(stmt)).all())


async def positions_of_debts(
    uow: UnitOfWork, tenant_id: uuid.UUID, group_ids: Collection[uuid.UUID]
) -> list[Row]:
    """Positions by debt: a position is its own debt; a plan's positions come oldest first."""
    p, pp = positions, plan_positions
    wanted = (p.c.id, p.c.debtor_id, p.c.amount_cents, p.c.paid_cents, p.c.year, p.c.act_number)
    alone = sa.select(p.c.id.label("group_id"), *wanted).where(
        p.c.tenant_id == tenant_id, p.c.id == _any(group_ids, sa.Uuid)
    )
    in_plan = (
        sa.select(pp.c.plan_id.label("group_id"), *wanted)
        .join(pp, sa.and_(pp.c.tenant_id == p.c.tenant_id, pp.c.position_id == p.c.id))
        .where(p.c.tenant_id == tenant_id, pp.c.plan_id == _any(group_ids, sa.Uuid), p.c.state != CANCELLED)
    )
    union = sa.union_all(alone, in_plan).subquery()
    stmt = sa.select(union).order_by(union.c.group_id, union.c.year, union.c.act_number, union.c.id)
    return list((await uow.execute(stmt)).all())


async def flow_known(uow: UnitOfWork, tenant_id: uuid.UUID, flow_id: str) -> bool:
    stmt = sa.select(flows.c.flow_id).where(flows.c.tenant_id == tenant_id, flows.c.flow_id == flow_id)
    return (await uow.execute(stmt)).first() is not None


async def insert_flow(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    await uow.execute(sa.insert(flows).values(tenant_id=tenant_id, **values))


async def insert_rows(
    uow: UnitOfWork, tenant_id: uuid.UUID, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Bulk insert of new receipts or payments of this tenant."""
    await uow.insert_many(table, [{**row, "tenant_id": tenant_id} for row in rows])


async def insert_review_items(uow: UnitOfWork, tenant_id: uuid.UUID, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = pg_insert(review_items).on_conflict_do_nothing(constraint="review_items_unique")
    await uow.execute(stmt, [{**row, "tenant_id": tenant_id} for row in rows])


async def add_paid(uow: UnitOfWork, tenant_id: uuid.UUID, deltas: dict[uuid.UUID, int]) -> None:
    """Add (or, negative, take back) amounts to positions' paid totals in one statement."""
    if not deltas:
        return
    stmt = sa.text(
        "UPDATE payments.positions p SET paid_cents = p.paid_cents + v.delta "
        "FROM unnest(CAST(:ids AS uuid[]), CAST(:deltas AS bigint[])) AS v(id, delta) "
        "WHERE p.tenant_id = :tenant_id AND p.id = v.id"
    )
    await uow.execute(stmt, {"ids": list(deltas), "deltas": list(deltas.values()), "tenant_id": tenant_id})


async def settle_plan_installments(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_ids: Collection[uuid.UUID]
) -> None:
    """Plans whose debt is paid (their single notice, or a payment made otherwise): each installment
    not paid is closed at its principal and the interest already paid of it (interest first,
    `domain_interest`); the rest of its interest is spared, not owed."""
    if not plan_ids:
        return
    kept = "least(interest_cents, greatest(paid_cents, 0))"  # every SET reads the row as it was
    stmt = sa.text(
        f"UPDATE payments.plan_installments SET interest_cents = {kept}, "
        f"spared_interest_cents = spared_interest_cents + interest_cents - {kept}, "
        f"paid_cents = principal_cents + {kept} "
        "WHERE tenant_id = :tenant_id AND plan_id = ANY(CAST(:plans AS uuid[])) "
        "AND paid_cents < principal_cents + interest_cents"
    )
    await uow.execute(stmt, {"plans": list(plan_ids), "tenant_id": tenant_id})


async def set_option_statuses(uow: UnitOfWork, tenant_id: uuid.UUID, statuses: dict[uuid.UUID, str]) -> None:
    """New statuses of many options in one statement."""
    if not statuses:
        return
    stmt = sa.text(
        "UPDATE payments.payment_options o SET status = v.status "
        "FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[])) AS v(id, status) "
        "WHERE o.tenant_id = :tenant_id AND o.id = v.id"
    )
    params = {"ids": list(statuses), "statuses": list(statuses.values()), "tenant_id": tenant_id}
    await uow.execute(stmt, params)


async def mark_receipts(
    uow: UnitOfWork, tenant_id: uuid.UUID, receipt_ids: Collection[uuid.UUID], values: dict[str, Any]
) -> None:
    """Set the state (and flow) of receipts and of the payments (or c.803 charges) they became."""
    if not receipt_ids:
        return
    ids = list(receipt_ids)
    await uow.execute(
        sa.update(receipts)
        .where(receipts.c.tenant_id == tenant_id, receipts.c.id == _any(ids, sa.Uuid))
        .values(**values)
    )
    if "state" in values:
        stmt = sa.update(payments).where(
            payments.c.tenant_id == tenant_id, payments.c.receipt_id == _any(ids, sa.Uuid)
        )
        await uow.execute(stmt.values(state=values["state"]))
        # The c.803 charges they paid, likewise (with the flow that reports them).
        charged = {k: v for k, v in values.items() if k in ("state", "flow_id")}
        cp = charge_payments
        stmt = sa.update(cp).where(cp.c.tenant_id == tenant_id, cp.c.receipt_id == _any(ids, sa.Uuid))
        await uow.execute(stmt.values(**charged))


async def payments_of_receipts(
    uow: UnitOfWork, tenant_id: uuid.UUID, receipt_ids: Collection[uuid.UUID]
) -> list[Row]:
    stmt = sa.select(payments).where(
        payments.c.tenant_id == tenant_id,
        payments.c.receipt_id == _any(receipt_ids, sa.Uuid),
        payments.c.state != "REVOKED",
    )
    return list((await uow.execute(stmt)).all())


async def late_receipts(uow: UnitOfWork, tenant_id: uuid.UUID, found: Sequence[dict[str, Any]]) -> None:
    """Receipts first known from a flow line get the payment time and PSP of the receipt that came
    later; their flow lines are then matched. Two statements, however many receipts."""
    if not found:
        return
    stmt = sa.text(
        "WITH late AS (UPDATE payments.receipts r SET paid_at = v.paid_at, psp = v.psp, source = 'receipt' "
        "FROM unnest(CAST(:ids AS uuid[]), CAST(:paid_at AS timestamptz[]), CAST(:psp AS text[])) "
        "AS v(id, paid_at, psp) "
        "WHERE r.tenant_id = :tenant_id AND r.id = v.id AND r.source = 'flow' RETURNING r.iuv, r.receipt_ref) "
        "UPDATE payments.flow_lines l SET state = 'matched' FROM late "
        "WHERE l.tenant_id = :tenant_id AND l.iuv = late.iuv AND l.receipt_ref = late.receipt_ref "
        "AND l.state = 'no_receipt'"
    )
    params = {
        "ids": [item["id"] for item in found],
        "paid_at": [item["paid_at"] for item in found],
        "psp": [item["psp"] for item in found],
        "tenant_id": tenant_id,
    }
    await uow.execute(stmt, params)


def _with_position(tenant_id: uuid.UUID) -> Any:
    """Review items, each with the position its IUV belongs to (a plan's first), if any."""
    ri, o, pp = review_items, payment_options, plan_positions
    first_of_plan = (
        sa.select(sa.func.min(sa.cast(pp.c.position_id, sa.Text)))
        .where(pp.c.tenant_id == tenant_id, pp.c.plan_id == o.c.plan_id)
        .scalar_subquery()
    )
    # A plan's c.803 charges notice links no position: its money is not the position's credit.
    linked = sa.case((o.c.kind == "charges", None), else_=first_of_plan)
    position = sa.func.coalesce(sa.cast(o.c.position_id, sa.Text), linked).label("position_id")
    return (
        sa.select(ri, position)
        .outerjoin(o, sa.and_(o.c.tenant_id == ri.c.tenant_id, o.c.iuv == ri.c.iuv))
        .where(ri.c.tenant_id == tenant_id)
    )


async def open_reviews(uow: UnitOfWork, tenant_id: uuid.UUID, limit: int = 200) -> list[Row]:
    """Open review items, each with the position its IUV belongs to (a plan's first), if any."""
    ri = review_items
    stmt = _with_position(tenant_id).where(ri.c.status == "open").order_by(ri.c.created_at, ri.c.iuv)
    return list((await uow.execute(stmt.limit(limit))).all())


async def open_review(uow: UnitOfWork, tenant_id: uuid.UUID, item_id: uuid.UUID) -> Row | None:
    """An open review item with its position (`_with_position`), locked to the end of the transaction."""
    ri = review_items
    stmt = _with_position(tenant_id).where(ri.c.status == "open", ri.c.id == item_id)
    return (await uow.execute(stmt.with_for_update(of=ri))).first()


async def receipt(uow: UnitOfWork, tenant_id: uuid.UUID, iuv: str, receipt_ref: str) -> Row | None:
    r = receipts
    stmt = sa.select(r).where(r.c.tenant_id == tenant_id, r.c.iuv == iuv, r.c.receipt_ref == receipt_ref)
    return (await uow.execute(stmt)).first()


async def resolve_review(
    uow: UnitOfWork, tenant_id: uuid.UUID, item_id: uuid.UUID, note: str, user_id: str, user_name: str
) -> Row | None:
    ri = review_items
    stmt = (
        sa.update(ri)
        .where(ri.c.tenant_id == tenant_id, ri.c.id == item_id, ri.c.status == "open")
        .values(
            status="resolved",
            note=note,
            resolved_by=user_id,
            resolved_by_name=user_name,
            resolved_at=sa.func.now(),
        )
        .returning(ri)
    )
    return (await uow.execute(stmt)).first()


async def resolved_reviews(uow: UnitOfWork, tenant_id: uuid.UUID, limit: int = 50) -> list[Row]:
    """The review items resolved last, newest first: what was decided, by whom, when."""
    ri = review_items
    stmt = (
        sa.select(ri)
        .where(ri.c.tenant_id == tenant_id, ri.c.status == "resolved")
        .order_by(ri.c.resolved_at.desc(), ri.c.iuv)
        .limit(limit)
    )
    return list((await uow.execute(stmt)).all())


async def awaiting(uow: UnitOfWork, tenant_id: uuid.UUID, limit: int = 200) -> dict[str, list[Row]]:
    """What waits for the other half of the chain: receipts with no flow yet, flow lines with no
    receipt yet."""
    r, fl = receipts, flow_lines
    no_flow = (
        sa.select(r)
        .where(r.c.tenant_id == tenant_id, r.c.state == "PAID", r.c.applied)
        .order_by(r.c.paid_at)
        .limit(limit)
    )
    no_receipt = (
        sa.select(fl)
        .where(fl.c.tenant_id == tenant_id, fl.c.state == "no_receipt")
        .order_by(fl.c.paid_on)
        .limit(limit)
    )
    return {
        "no_flow": list((await uow.execute(no_flow)).all()),
        "no_receipt": list((await uow.execute(no_receipt)).all()),
    }


async def lock_imports(uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
    """Wait for the Comune's other reconciliation import, if one runs: two imports deciding on the
    same options at once would both find them payable."""
    key = sa.func.hashtextextended(f"payments.reconciliation {tenant_id}", 0)
    await uow.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
