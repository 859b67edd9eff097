"""Use cases of the payments service: one plain function each, run in the entrypoint's unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from services.contracts import PaymentReceived, PositionFact
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.limitation import barred_from
from services.payments import (
    domain,
    domain_answers,
    handlers_lapse,
    handlers_plan_payments,
    handlers_positions,
    handlers_rules,
    repository,
    repository_gpd,
    repository_legal_rates,
    repository_notices,
    repository_plans,
)
from services.payments.domain_interest import interest_left, interest_of
from services.payments.domain_plans import range_reason
from services.payments.domain_schedule import check_first_due, schedule
from services.payments.domain_simulation import Simulation, allowed_for, check_installments, schedule_json
from services.payments.handlers_plan_payments import after_manual_payment

ROME = ZoneInfo("Europe/Rome")


@dataclass(frozen=True)
class SearchPage:
    rows: list[Any]
    has_next: bool
    # The rows still owed that are time-barred today, and since when (`kernel.limitation`).
    barred: dict[uuid.UUID, date] = field(default_factory=dict)


@dataclass(frozen=True)
class PositionView:
    position: Any
    history: list[Any]
    residual_cents: int
    plan: Any = None
    plan_schedule: list[Any] | None = None
    options: list[Any] | None = None
    gpd: list[Any] | None = None
    # The positions the active plan covers (this one among them).
    plan_positions: list[Any] | None = None
    # None in force but some issued before and replaced (the amount changed since).
    replaced: bool = False
    # What the active plan's positions still owe together (0: settled, no notice left to send).
    plan_owed_cents: int = 0


async def search_positions(
    uow: UnitOfWork, ident: Identity, query: str, page_no: int, page_size: int
) -> SearchPage:
    """One page of the positions matching `query`; a search that found someone is access-logged."""
    offset = (page_no - 1) * page_size
    rows = await repository.search_positions(uow, ident.tenant_id, query, page_size + 1, offset)
    if rows:
        detail = (f"«{query}»" if query else "tutte") + (f", pagina {page_no}" if page_no > 1 else "")
        await repository.access.record(uow, ident.tenant_id, ident.user_id, "search_positions", None, detail)
    shown = rows[:page_size]
    owed = [p for p in shown if domain_answers.owed_cents(p.amount_cents, p.paid_cents, p.state) > 0]
    days = await repository.limitation_days(uow, ident.tenant_id, [p.id for p in owed])
    barred = {p.id: barred_from(p.year, days.get(p.id, []), p.act_on) for p in owed}
    today = datetime.now(ROME).date()
    return SearchPage(shown, len(rows) > page_size, {k: v for k, v in barred.items() if v <= today})


async def view_position(uow: UnitOfWork, ident: Identity, position_id: uuid.UUID) -> PositionView:
    """A position with its payments; the view is recorded in the access log."""
    position = await repository.get_position(uow, ident.tenant_id, position_id)
    if position is None:
        raise NotFound()
    history = await repository.payments_of(uow, ident.tenant_id, position_id)
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "view_position", position_id)
    # The office's sgravio: nothing is due, nothing is offered to pay.
    residual = domain_answers.owed_cents(position.amount_cents, position.paid_cents, position.state)
    plan = await repository_plans.active_plan_of(uow, ident.tenant_id, position_id)
    schedule_rows = await repository_plans.plan_schedule(uow, ident.tenant_id, plan.id) if plan else None
    options = await repository_notices.options_in_force(
        uow, ident.tenant_id, position_id, plan.id if plan else None
    )
    subjects = [position_id, *([plan.id] if plan else [])]
    gpd = await repository_gpd.handed_over(uow, ident.tenant_id, subjects)
    covered = await repository_plans.plan_positions_of(uow, ident.tenant_id, plan.id) if plan else None
    replaced = not options and await repository_notices.any_replaced(uow, ident.tenant_id, position_id)
    owed = domain.owed_by(covered or [])
    return PositionView(
        position, history, residual, plan, schedule_rows, options, gpd, covered, replaced, owed
    )


async def register_positions(uow: UnitOfWork, tenant_id: uuid.UUID, facts: Sequence[PositionFact]) -> int:
    """Open a balance for every newly registered position."""
    return await repository.register_positions(uow, tenant_id, facts)


@dataclass(frozen=True)
class Evidence:
    """A manual payment's evidence file in object storage."""

    key: str
    name: str


def check_manual(values: dict[str, Any]) -> None:
    """What a manual payment needs before its evidence is stored: a reason."""
    domain.check_reason(values.get("reason"))


async def evidence_of(uow: UnitOfWork, ident: Identity, payment_id: uuid.UUID) -> Evidence:
    """The evidence of a manual payment; reading it is recorded in the access log."""
    found = await repository.payment_evidence(uow, ident.tenant_id, payment_id)
    if found is None or found.evidence_key is None:
        raise NotFound("Nessuna ricevuta allegata a questo pagamento.")
    await repository.access.record(
        uow, ident.tenant_id, ident.user_id, "download_evidence", found.position_id
    )
    return Evidence(found.evidence_key, found.evidence_name)


async def record_payment(
    uow: UnitOfWork,
    ident: Identity,
    position_id: uuid.UUID,
    values: dict[str, Any],
    evidence: Evidence | None = None,
    announce: bool = True,
) -> dict[str, Any]:
    """Validate and store a payment, update the balance and publish `PaymentReceived` (unless
    `announce` is off: the caller announces it), in one transaction; with an idempotency key, a
    repeated request (a retry, a double submit) returns the payment already recorded."""
    position = await repository.get_position(uow, ident.tenant_id, position_id)
    if position is None:
        raise NotFound()
    domain_answers.refuse_cancelled([position])
    amount = values.get("amount", values.get("amount_cents"))
    reason = domain.check_reason(values.get("reason"))
    key = domain.check_idempotency_key(values.get("idempotency_key") or None)
    if key is not None and (previous := await repository.payment_by_key(uow, ident.tenant_id, key)):
        return _replayed(previous, position, position_id)
    payment, interest = await _payment_of(uow, ident.tenant_id, position, amount, values.get("paid_on"))
    debt = payment.amount_cents - interest
    updated = await repository.add_to_paid(uow, ident.tenant_id, position_id, debt)
    if updated is None:
        await _explain_refused(uow, ident, position_id, debt, amount)
    manual = {
        "interest_cents": interest,
        "reason": reason,
        "evidence_key": evidence and evidence.key,
        "evidence_name": evidence and evidence.name,
        "recorded_by_name": ident.display_name or None,
    }
    ids = (position_id, position.debtor_id)
    payment_id = await repository.insert_payment(
        uow, ident.tenant_id, *ids, payment.amount_cents, payment.paid_on, ident.user_id, key, manual
    )
    if payment_id is None:  # a concurrent request with the same key committed first
        raise Conflict("Questo pagamento è già stato registrato.")
    await after_manual_payment(uow, ident.tenant_id, position_id, payment.amount_cents, interest)
    event = PaymentReceived(
        payment_id=str(payment_id),
        position_id=str(position_id),
        debtor_id=str(position.debtor_id),
        amount_cents=payment.amount_cents,
        paid_on=payment.paid_on.isoformat(),
        recorded_by=ident.user_id,
        interest_cents=interest,
    )
    if announce:
        await uow.publish([event.envelope(ident.tenant_id, uow.correlation_id)])
    return {
        "payment_id": str(payment_id),
        "position_id": str(position_id),
        "debtor_id": str(position.debtor_id),
        "amount_cents": payment.amount_cents,
        "interest_cents": interest,
        "paid_on": payment.paid_on.isoformat(),
        "paid_cents": updated.paid_cents,
        "residual_cents": domain.residual_cents(updated.amount_cents, updated.paid_cents),
    }


async def _payment_of(
    uow: UnitOfWork, tenant_id: uuid.UUID, position: Any, amount: object, paid_on: object
) -> tuple[domain.PaymentInput, int]:
    """The payment typed, checked against what the debtor owes on the position (in an active
    plan, the plan's interest still to pay too), and what of it pays that interest (first:
    `domain_interest`)."""
    if not isinstance(paid_on, str):
        raise DomainError("Indica la data del pagamento.", field="paid_on")
    owed = await handlers_plan_payments.plan_owed(uow, tenant_id, position.id)
    due = position.amount_cents + interest_left(owed)
    today = datetime.now(ROME).date()
    payment = domain.validate_payment(amount, paid_on, due, position.paid_cents, today)
    debt_left = domain.residual_cents(position.amount_cents, position.paid_cents)
    return payment, interest_of(payment.amount_cents, owed, debt_left)


def _replayed(previous: Any, position: Any, position_id: uuid.UUID) -> dict[str, Any]:
    if previous.position_id != position_id:
        raise Conflict("La chiave di idempotenza è già stata usata per un altro pagamento.")
    return {
        "payment_id": str(previous.id),
        "position_id": str(position_id),
        "debtor_id": str(position.debtor_id),
        "amount_cents": previous.amount_cents,
        "interest_cents": previous.interest_cents,
        "paid_on": previous.paid_on.isoformat(),
        "paid_cents": position.paid_cents,
        "residual_cents": domain.residual_cents(position.amount_cents, position.paid_cents),
        "replayed": True,
    }


async def _explain_refused(
    uow: UnitOfWork, ident: Identity, position_id: uuid.UUID, amount_cents: int, amount: object
) -> NoReturn:
    """A concurrent payment got in first: report the residual as it is now."""
    current = await repository.get_position(uow, ident.tenant_id, position_id)
    if current is None:
        raise NotFound()
    field = "amount" if isinstance(amount, str) else "amount_cents"
    domain.check_amount(amount_cents, current.amount_cents, current.paid_cents, field)
    raise Conflict("Il saldo della posizione è cambiato: riprova.")


async def _debt_of(uow: UnitOfWork, tenant_id: uuid.UUID, sim: Simulation) -> tuple[int, str, date | None]:
    """The amount and revenue type a simulation is for: given, or the residual of its positions;
    with positions, the first day one of them becomes time-barred."""
    if sim.amount_cents is not None:
        return sim.amount_cents, str(sim.revenue_type), None
    positions = await handlers_positions.positions_or_404(uow, tenant_id, sim.position_ids)
    residual = sum(domain.residual_cents(p.amount_cents, p.paid_cents) for p in positions)
    if residual <= 0:
        raise Conflict("Le posizioni indicate sono già saldate: non c'è nulla da rateizzare.")
    # The builder (a link typed by hand, a card left open) says so before any schedule.
    barring = await handlers_positions.refuse_time_barred(uow, tenant_id, positions, sim.plan_date)
    kinds = {p.revenue_type for p in positions}
    if sim.revenue_type is None and len(kinds) > 1:
        raise DomainError(
            "Le posizioni sono di entrate diverse e un piano riguarda una sola entrata: scegli quale rateizzare.",
            field="revenue_type",
        )
    return residual, sim.revenue_type or kinds.pop(), barring


async def revenue_types_of(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: tuple[uuid.UUID, ...]
) -> dict[str, list[str]]:
    """The positions' ids by revenue type: a plan covers one, the builder asks which."""
    by_type: dict[str, list[str]] = {}
    for p in await handlers_positions.positions_or_404(uow, tenant_id, position_ids):
        by_type.setdefault(p.revenue_type, []).append(str(p.id))
    return dict(sorted(by_type.items()))


async def simulate_plan(uow: UnitOfWork, tenant_id: uuid.UUID, sim: Simulation) -> dict[str, Any]:
    """The installments the Comune's rules allow for a debt and the schedule of one plan: of
    `sim.installments`, or of the most allowed. Nothing is recorded."""
    amount, revenue_type, barring = await _debt_of(uow, tenant_id, sim)
    rules = await handlers_rules.rules_for(uow, tenant_id, revenue_type, sim.plan_date)
    fewest, most = allowed_for(amount, revenue_type, sim.income_declared, rules)
    why = range_reason(amount, revenue_type, rules)
    installments = check_installments(sim.installments or most, (fewest, most), why)
    check_first_due(sim.plan_date, sim.first_due)
    rates = await repository_legal_rates.rate_table(uow)
    plan = schedule(amount, installments, sim.plan_date, sim.first_due, rules.interest_rate, rates=rates)
    return {
        "amount_cents": amount,
        "revenue_type": revenue_type,
        "allowed": {"min": fewest, "max": most},
        # Why that range, in words (`domain_plans.range_reason`).
        "allowed_reason": why,
        "installments": installments,
        "schedule": schedule_json(plan),
        # The c.803 charges the plan would bear (their own notice), so the debtor hears them first.
        "charges_cents": await handlers_lapse.plan_charges(
            uow, tenant_id, sim.position_ids, amount, sim.plan_date
        ),
        # The first day one of the positions becomes time-barred (`kernel.limitation`; None for an
        # amount without positions): a first installment from that day would not interrupt it.
        "barred_on": barring.isoformat() if barring else None,
    }
