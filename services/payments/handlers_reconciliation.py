"""Use cases of reconciliation: a file of pagoPA receipts or a reporting flow (FdR) applied to the
Comune's options and positions, all or nothing, idempotently."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.contracts import (
    PaymentFact,
    PaymentRevoked,
    ReportedFact,
)
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.payments import (
    domain_receipts,
    handlers_charges,
    handlers_plan_payments,
    handlers_reconciliation_events,
    repository_bulk,
    repository_notices,
    repository_plans,
    repository_refunds,
)
from services.payments import repository_reconciliation as repo
from services.payments.domain_interest import Owed, debt_given_back, interest_part
from services.payments.domain_reconciliation import (
    CHARGES_REVIEW,
    REVIEW_KINDS,
    Decision,
    Incoming,
    KnownReceipt,
    OptionState,
    Outcome,
    allocate,
    reconcile,
    review_detail,
)
from services.payments.handlers_charges import ChargeReceipt
from services.payments.models import payments
from services.payments.models_reconciliation import receipts

ROME = ZoneInfo("Europe/Rome")


@dataclass
class _Batch:
    """What one import writes, gathered before the bulk writes."""

    ident: Identity
    source: str
    flow_id: str | None
    correlation_id: str
    receipts: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    paid: dict[uuid.UUID, int] = field(default_factory=lambda: defaultdict(int))
    installments: dict[tuple[uuid.UUID, int], int] = field(default_factory=lambda: defaultdict(int))
    # The installments the batch pays, as they were before it (their interest is paid first).
    owed: dict[tuple[uuid.UUID, int], Owed] = field(default_factory=dict)
    settled_plans: set[uuid.UUID] = field(default_factory=set)
    outside: dict[uuid.UUID, int] = field(default_factory=lambda: defaultdict(int))
    reported: list[uuid.UUID] = field(default_factory=list)
    late: list[dict[str, Any]] = field(default_factory=list)
    events: list[Envelope] = field(default_factory=list)
    facts: list[PaymentFact] = field(default_factory=list)
    # Payments known from their receipts that this flow reports (`PaymentsReported`).
    reported_facts: list[ReportedFact] = field(default_factory=list)
    line_states: dict[int, str] = field(default_factory=dict)
    # Notices of c.803 charges paid: recorded apart (handlers_charges).
    charges: list[ChargeReceipt] = field(default_factory=list)


CHUNK = 10_000


async def import_receipts(uow: UnitOfWork, ident: Identity, data: bytes) -> dict[str, int]:
    """A receipts CSV: each receipt matched by IUV to its option; refused whole on any bad row."""
    incoming = domain_receipts.parse_receipts(data)
    counts, _ = await apply_all(uow, ident, incoming, None)
    return counts


async def apply_all(
    uow: UnitOfWork, ident: Identity, incoming: Sequence[Incoming], flow_id: str | None
) -> tuple[dict[str, int], dict[int, str]]:
    """Incoming payments staged and applied, then announced as `PaymentsReceived` chunks; the
    counts and the state of each flow line decided in Python. The plain ones go by set-based SQL (`repository_bulk`); the others through `reconcile` in chunks (memory stays bounded; each chunk sees what
    the previous ones wrote). One import at a time per Comune."""
    tenant, source = ident.tenant_id, "flow" if flow_id else "receipt"
    await repo.lock_imports(uow, tenant)
    counts = Outcome().counts()
    states: dict[int, str] = {}
    await repository_bulk.stage(uow, incoming)
    plain = await repository_bulk.apply_plain(uow, tenant, _state(flow_id), source, flow_id)
    counts["matched"] += plain
    if plain:  # a plain payment of a position in a plan (a notice issued before it) pays the plan
        await handlers_plan_payments.after_plain_payments(uow, tenant)
    rest = [incoming[n] for n in await repository_bulk.others(uow)] if plain else incoming
    facts: list[PaymentFact] = []
    reported: list[ReportedFact] = []
    for start in range(0, len(rest), CHUNK):
        batch = _Batch(ident, source, flow_id, uow.correlation_id)
        outcome = await _apply(uow, batch, rest[start : start + CHUNK])
        for key, value in outcome.counts().items():
            counts[key] += value
        states.update(batch.line_states)
        facts += batch.facts
        reported += batch.reported_facts
    await handlers_reconciliation_events.announce(uow, ident, flow_id, facts, plain)
    if flow_id and reported:
        await uow.publish(
            handlers_reconciliation_events.reported(ident, flow_id, reported, uow.correlation_id)
        )
    return counts, states


def _state(flow_id: str | None) -> str:
    """A payment known from a receipt is PAID; from a reporting flow, REPORTED."""
    return "REPORTED" if flow_id else "PAID"


async def _apply(uow: UnitOfWork, batch: _Batch, incoming: Sequence[Incoming]) -> Outcome:
    tenant = batch.ident.tenant_id
    iuvs = {i.iuv for i in incoming}
    option_rows = await repo.options_of_debts(uow, tenant, iuvs)
    options = {
        r.iuv: OptionState(r.id, r.iuv, r.amount_cents, r.status, r.group_id, r.installment, r.kind)
        for r in option_rows
    }
    plan_of = {r.id: r.plan_id for r in option_rows}
    known_rows = await repo.receipts_of(uow, tenant, iuvs)
    known = {
        (r.iuv, r.receipt_ref): KnownReceipt(
            r.id, r.iuv, r.receipt_ref, r.amount_cents, r.state, r.applied, r.option_id
        )
        for r in known_rows
    }
    sources = {r.id: r.source for r in known_rows}
    outcome = reconcile(incoming, options, known)
    matched_groups = {d.option.group for d in outcome.decisions if d.kind == "matched" and d.option}
    residuals = await _residuals(uow, tenant, matched_groups)
    batch.owed = await handlers_plan_payments.owed_installments(uow, tenant, _installments(outcome, plan_of))
    for decision in outcome.decisions:
        _decide(batch, decision, residuals, plan_of, sources)
    await _revocations(uow, batch, [d for d in outcome.decisions if d.kind == "revoked"])
    await _write(uow, batch, outcome)
    return outcome


async def _residuals(
    uow: UnitOfWork, tenant_id: uuid.UUID, groups: set[uuid.UUID]
) -> dict[uuid.UUID, list[list[Any]]]:
    """Per debt, its positions as [id, debtor, amount, residual], oldest first, updated as paid."""
    found: dict[uuid.UUID, list[list[Any]]] = defaultdict(list)
    if groups:
        for row in await repo.positions_of_debts(uow, tenant_id, groups):
            found[row.group_id].append(
                [row.id, row.debtor_id, row.amount_cents, row.amount_cents - row.paid_cents]
            )
    return found


def _decide(
    batch: _Batch,
    decision: Decision,
    residuals: dict[uuid.UUID, list[list[Any]]],
    plan_of: dict[uuid.UUID, uuid.UUID | None],
    sources: dict[uuid.UUID, str],
) -> None:
    item, kind, option = decision.incoming, decision.kind, decision.option
    receipt = decision.receipt
    assert receipt is not None or kind == "revoked_unknown"
    if kind == "reported" and receipt is not None:
        batch.reported.append(receipt.id)
    elif kind == "known" and receipt is not None and not item.line and sources.get(receipt.id) == "flow":
        batch.late.append({"id": receipt.id, "paid_at": item.paid_at, "psp": item.psp})
    elif kind in ("matched", "partial", "over", "duplicate", "unpayable", "unknown") and receipt is not None:
        _new_receipt(batch, item, receipt.id, option, applied=kind == "matched")
        if item.line:
            batch.line_states[item.line] = "no_receipt" if kind == "matched" else kind
    if kind == "matched" and option is not None and receipt is not None:
        plan_id = plan_of.get(option.id)
        if option.kind == "charges" and plan_id is not None:
            batch.charges.append(ChargeReceipt(item, receipt.id, option.id, plan_id))
        else:
            _pay(batch, item, receipt.id, option, residuals[option.group], plan_id)
    if kind in REVIEW_KINDS:
        expected = option.amount_cents if option is not None else None
        if kind == "amount_differs" and receipt is not None:
            expected = receipt.amount_cents
            batch.line_states[item.line] = "amount_differs"
        review = _review(batch, item, kind, expected, option.status if option is not None else "")
        if option is not None and option.kind == "charges":
            review["detail"] += CHARGES_REVIEW
        batch.reviews.append(review)
    if kind == "revoked":
        batch.line_states[item.line] = "revoked"


def _new_receipt(
    batch: _Batch, item: Incoming, receipt_id: uuid.UUID, option: OptionState | None, applied: bool
) -> None:
    batch.receipts.append(
        {
            "id": receipt_id,
            "iuv": item.iuv,
            "receipt_ref": item.receipt_ref,
            "amount_cents": item.amount_cents,
            "paid_at": item.paid_at,
            "psp": item.psp,
            "option_id": option.id if option is not None else None,
            "state": _state(batch.flow_id),
            "applied": applied,
            "flow_id": batch.flow_id,
            "source": batch.source,
        }
    )


def _review(
    batch: _Batch, item: Incoming, kind: str, expected: int | None, option_status: str
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "kind": kind,
        "iuv": item.iuv,
        "receipt_ref": item.receipt_ref,
        "amount_cents": item.amount_cents,
        "expected_cents": expected,
        "source": batch.flow_id or "ricevute",
        "detail": review_detail(kind, item, expected, option_status),
    }


def _installments(outcome: Outcome, plan_of: dict[uuid.UUID, uuid.UUID | None]) -> set[tuple[uuid.UUID, int]]:
    """The (plan, installment) of the notices the matched payments are on."""
    return {
        (plan_id, d.option.installment)
        for d in outcome.decisions
        if d.kind == "matched" and d.option is not None and d.option.installment is not None
        if (plan_id := plan_of.get(d.option.id)) is not None
    }


def _pay(
    batch: _Batch,
    item: Incoming,
    receipt_id: uuid.UUID,
    option: OptionState,
    debt: list[list[Any]],
    plan_id: uuid.UUID | None,
) -> None:
    """The payment, split over the debt's positions; installments and settlements follow. What it
    pays of an installment's interest (`domain_interest`) rides on its first position's payment."""
    interest = 0
    if plan_id is not None and option.installment is not None:
        key = (plan_id, option.installment)
        if (owed := batch.owed.get(key)) is not None:
            interest = interest_part(
                owed.interest_cents, owed.paid_cents + batch.installments[key], item.amount_cents
            )
        batch.installments[key] += item.amount_cents
    elif plan_id is not None:
        batch.settled_plans.add(plan_id)
    by_id = {p[0]: p for p in debt}
    paid_on = item.paid_at.astimezone(ROME).date()
    if plan_id is not None:  # never more on the positions than they owe: the rest is the plan's interest
        interest = max(interest, item.amount_cents - max(sum(p[3] for p in debt), 0))
    shares = allocate(item.amount_cents - interest, [(p[0], p[3]) for p in debt]) or [(debt[0][0], 0)]
    for n, (position_id, share) in enumerate(shares):
        position = by_id[position_id]
        position[3] -= share
        batch.paid[position_id] += share
        batch.outside[position_id] += share if plan_id is None else 0  # `handlers_plan_payments`
        payment_id, extra = uuid.uuid4(), interest if n == 0 else 0
        batch.payments.append(
            {
                "id": payment_id,
                "position_id": position_id,
                "debtor_id": position[1],
                "amount_cents": share + extra,
                "interest_cents": extra,
                "paid_on": paid_on,
                "recorded_by": f"pagoPA:{item.psp}" if item.psp else "pagoPA",
                "option_id": option.id,
                "receipt_id": receipt_id,
                "state": _state(batch.flow_id),
                "source": batch.source,
            }
        )
        fact = PaymentFact(
            payment_id=str(payment_id),
            position_id=str(position_id),
            debtor_id=str(position[1]),
            amount_cents=share + extra,
            paid_on=paid_on.isoformat(),
            source=batch.source,
            iuv=item.iuv,
            receipt_ref=item.receipt_ref,
            flow_id=batch.flow_id or "",
            settled=position[3] <= 0,
            interest_cents=extra,
        )
        batch.facts.append(fact)


async def _revocations(uow: UnitOfWork, batch: _Batch, decisions: list[Decision]) -> None:
    """Revoked payments are taken back from positions and installments, with an event each. What
    the Comune already refunded of them was taken back then; the rest comes off the installments
    they paid as a refund would (`handlers_plan_payments.revoked_from_plans`: its own installment
    first, then latest first, due again from today)."""
    ids = {d.receipt.id: d for d in decisions if d.receipt is not None}
    if not ids:
        return
    tenant = batch.ident.tenant_id
    batch.events += await handlers_charges.revoke(uow, tenant, list(ids), batch.flow_id, batch.correlation_id)
    revoked = await repo.payments_of_receipts(uow, tenant, ids)
    await repo.mark_receipts(uow, tenant, ids, {"state": "REVOKED", "applied": False})
    # What the Comune already refunded of a payment was taken off when refunded: only the rest now.
    refunded = await repository_refunds.refunded_of(uow, tenant, [r.id for r in revoked])
    for row in revoked:  # the debt first, the interest last (`domain_interest`)
        before = refunded.get(row.id, 0)
        back = debt_given_back(row.amount_cents, row.interest_cents, before, row.amount_cents - before)
        batch.paid[row.position_id] -= back
        decision = ids[row.receipt_id]
        event = PaymentRevoked(
            payment_id=str(row.id),
            position_id=str(row.position_id),
            debtor_id=str(row.debtor_id),
            amount_cents=row.amount_cents,
            iuv=decision.incoming.iuv,
            receipt_ref=decision.incoming.receipt_ref,
            flow_id=batch.flow_id or "",
        )
        batch.events.append(event.envelope(batch.ident.tenant_id, batch.correlation_id))
    today = datetime.now(ROME).date()
    await handlers_plan_payments.revoked_from_plans(uow, batch.ident.tenant_id, revoked, refunded, today)


async def _write(uow: UnitOfWork, batch: _Batch, outcome: Outcome) -> None:
    tenant = batch.ident.tenant_id
    await repo.insert_rows(uow, tenant, receipts, batch.receipts)
    await repo.insert_rows(uow, tenant, payments, batch.payments)
    await repo.add_paid(uow, tenant, {k: v for k, v in batch.paid.items() if v})
    await repository_plans.add_installment_paid(
        uow, tenant, {k: v for k, v in batch.installments.items() if v}
    )
    await repo.settle_plan_installments(uow, tenant, batch.settled_plans)
    # A notice issued before a plan now asking for more than its position owes: replaced.
    await repository_notices.retire_outgrown(uow, tenant, [k for k, v in batch.paid.items() if v])
    await handlers_plan_payments.after_outside_payments(uow, tenant, batch.outside)
    await repo.set_option_statuses(uow, tenant, outcome.statuses)
    await repo.mark_receipts(uow, tenant, batch.reported, {"state": "REPORTED", "flow_id": batch.flow_id})
    if batch.reported:
        rows = await repo.payments_of_receipts(uow, tenant, batch.reported)
        batch.reported_facts += [ReportedFact(str(r.id), str(r.position_id)) for r in rows]
    await repo.late_receipts(uow, tenant, batch.late)
    await repo.insert_review_items(uow, tenant, batch.reviews)
    batch.events += await handlers_charges.record_paid(
        uow, tenant, batch.charges, _state(batch.flow_id), batch.flow_id, batch.correlation_id
    )
    await uow.publish(batch.events)
