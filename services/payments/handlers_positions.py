"""Use cases of the positions API: the Comune's positions with their balance, options and payments."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, NotFound
from services.kernel.identity import Identity
from services.kernel.limitation import barred_from
from services.kernel.repository_limitation import keep_act
from services.payments import domain, domain_answers, repository, repository_notices, repository_plans
from services.payments.models import limitation_acts

STATUSES = ("open", "partial", "settled")


def position_json(p: Any) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "debtor_id": str(p.debtor_id),
        "fiscal_code": p.fiscal_code,
        "debtor_name": p.debtor_name,
        "revenue_type": p.revenue_type,
        "year": p.year,
        "act_number": p.act_number,
        # The act's day (its notification, else its due day), from which the limitation runs.
        "act_on": p.act_on.isoformat() if p.act_on else None,
        "amount_cents": p.amount_cents,
        "paid_cents": p.paid_cents,
        "residual_cents": 0
        if p.state == domain_answers.CANCELLED
        else domain.residual_cents(p.amount_cents, p.paid_cents),
        # open, or cancelled by the Ufficio tributi (sgravio): no longer due.
        "state": p.state,
    }


async def positions_or_404(uow: UnitOfWork, tenant_id: uuid.UUID, ids: tuple[uuid.UUID, ...]) -> list[Any]:
    """The Comune's positions with these ids, in their order; not found if any is not the Comune's,
    refused if the Ufficio tributi cancelled one (nothing is issued, planned or handed over on it)."""
    found = {p.id: p for p in await repository.positions_by_ids(uow, tenant_id, ids)}
    missing = [p for p in ids if p not in found]
    if missing:
        raise NotFound(f"Posizione non trovata: {missing[0]}.")
    domain_answers.refuse_cancelled(found.values())
    return [found[p] for p in ids]


def barred_on(position: Any, payments: list[Any], served: list[date]) -> date:
    """The first day `position` is time-barred (`kernel.limitation`), its `payments` not revoked
    (rows with `paid_on` and `state`) and its interrupting acts served on the days `served` counted."""
    days = [p.paid_on for p in payments if p.state != "REVOKED"]
    return barred_from(position.year, [*days, *served], position.act_on)


async def served_days(uow: UnitOfWork, tenant_id: uuid.UUID, position_id: uuid.UUID) -> list[date]:
    """The days the position's interrupting acts not withdrawn were served."""
    return (await repository.served_days(uow, tenant_id, [position_id])).get(position_id, [])


async def keep_limitation_act(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    act_id: uuid.UUID,
    position_ids: tuple[uuid.UUID, ...],
    served_on: date,
    withdrawn: bool,
) -> None:
    """An act the Ufficio tributi recorded as interrupting positions' limitation, or took back."""
    await keep_act(uow, limitation_acts, tenant_id, act_id, position_ids, served_on, withdrawn)


async def refuse_time_barred(
    uow: UnitOfWork, tenant_id: uuid.UUID, positions: list[Any], today: date
) -> date | None:
    """No plan nor notice on a position already time-barred on `today` (`kernel.limitation`: from
    its act's day, its payments not revoked and the Comune's interrupting acts counted): the
    Comune can no longer collect it. The first day one of the others will be (None: no position)."""
    paid = await repository.limitation_days(uow, tenant_id, [p.id for p in positions])
    first: date | None = None
    for p in positions:
        barred = barred_from(p.year, paid.get(p.id, []), p.act_on)
        first = barred if first is None else min(first, barred)
        if barred <= today:
            raise Conflict(
                f"La posizione {p.act_number} è prescritta dal {barred:%d/%m/%Y}: il Comune non può più "
                "riscuoterla, né con un piano né con un avviso. Se il contribuente vuole pagare comunque, "
                "indirizzalo all'Ufficio tributi."
            )
    return first


async def list_positions(
    uow: UnitOfWork, ident: Identity, fiscal_code: str | None, status: str | None, limit: int, offset: int
) -> dict[str, Any]:
    """A page of positions; reading personal data is recorded in the access log."""
    rows = await repository.list_positions(uow, ident.tenant_id, fiscal_code, status, limit + 1, offset)
    if rows:
        detail = f"fiscal_code={fiscal_code or ''} status={status or ''} offset={offset}"
        await repository.access.record(uow, ident.tenant_id, ident.user_id, "api_positions", None, detail)
    more = len(rows) > limit
    return {
        "positions": [position_json(p) for p in rows[:limit]],
        "next_offset": offset + limit if more else None,
    }


async def position_detail(uow: UnitOfWork, ident: Identity, position_id: uuid.UUID) -> dict[str, Any]:
    """A position with its payment options, its payments and its active plan."""
    position = await repository.get_position(uow, ident.tenant_id, position_id)
    if position is None:
        raise NotFound("Posizione non trovata.")
    options = await repository_notices.options_of(uow, ident.tenant_id, position_id)
    payments = await repository.payments_of(uow, ident.tenant_id, position_id)
    plan = await repository_plans.active_plan_of(uow, ident.tenant_id, position_id)
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "api_position", position_id)
    return {
        **position_json(position),
        "options": [
            {
                "nav": o.nav,
                "iuv": o.iuv,
                "amount_cents": o.amount_cents,
                "due_date": o.due_date.isoformat(),
                "status": o.status,
            }
            for o in options
        ],
        "payments": [
            {
                "id": str(x.id),
                "amount_cents": x.amount_cents,
                "paid_on": x.paid_on.isoformat(),
                "recorded_by": x.recorded_by,
                "recorded_by_name": domain.recorder_label(x.recorded_by, x.recorded_by_name),
            }
            for x in payments
        ],
        "plan": None
        if plan is None
        else {"id": str(plan.id), "installments": plan.installments, "status": plan.status},
    }
