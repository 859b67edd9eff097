"""Use cases of pagoPA notices: the Comune's creditor data, issuing notices, a notice's PDF."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from services.contracts import NoticeIssued
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, NotFound
from services.kernel.identity import Identity
from services.payments import (
    domain,
    handlers_positions,
    pdf_notice,
    repository,
    repository_lapse,
    repository_notices,
    repository_plans,
)
from services.payments.domain import SYSTEM_ACTOR
from services.payments.domain_lapse import rome_day
from services.payments.domain_notices import iuv, notice_number, printed
from services.payments.domain_schedule import month_end


@dataclass(frozen=True)
class IssuedOption:
    nav: str
    iuv: str
    position_id: uuid.UUID | None
    amount_cents: int
    due_date: date
    creditor_fiscal_code: str
    plan_id: uuid.UUID | None = None
    # None: the single payment; 1..N: an installment of the plan.
    installment: int | None = None
    # "charges": the notice of the plan's c.803 collection charges.
    kind: str = "debt"


# A notice that may no longer be paid is not printed again (a copy would be sent or paid by mistake).
NOT_TO_PRINT = {
    "replaced": "è stato sostituito da un avviso nuovo (importo o rate cambiati): scarica quello in vigore "
    "dalla pagina della posizione.",
    "unpayable": "non è più pagabile: la posizione è stata annullata dall'Ufficio tributi o il debito è "
    "stato pagato con un altro avviso.",
}


def system_identity(tenant_id: uuid.UUID) -> Identity:
    """Who issues what the service issues by itself (a lapse's notices, recomputed charges)."""
    return Identity(SYSTEM_ACTOR, "Riscossa (automatico)", tenant_id, "", "", ("system",))


async def save_creditor(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    """The Comune's data as creditor on its notices (fiscal code, segregation code, CBILL, IBAN)."""
    await repository_notices.save_creditor(uow, tenant_id, values)


async def _creditor(uow: UnitOfWork, tenant_id: uuid.UUID) -> Any:
    found = await repository_notices.creditor(uow, tenant_id)
    if found is None:
        raise Conflict(
            "Il Comune non ha ancora inserito i propri dati pagoPA: non è possibile emettere avvisi."
        )
    return found


def single_due(today: date) -> date:
    """The day a position's single notice issued `today` falls due: the last day of the next month."""
    return month_end(today, 1)


async def issue_notices(
    uow: UnitOfWork, ident: Identity, position_ids: tuple[uuid.UUID, ...], today: date
) -> list[IssuedOption]:
    """One notice per position for its whole residual, due the last day of the next month; a notice
    still payable for the same amount is handed out again. All or nothing."""
    creditor = await _creditor(uow, ident.tenant_id)
    positions = await handlers_positions.positions_or_404(uow, ident.tenant_id, position_ids)
    for position in positions:
        if domain.residual_cents(position.amount_cents, position.paid_cents) <= 0:
            raise Conflict(f"La posizione {position.act_number} è già saldata: nessun avviso da emettere.")
    await handlers_positions.refuse_time_barred(uow, ident.tenant_id, positions, today)
    due = single_due(today)
    issued, new = [], []
    for position in positions:
        residual = domain.residual_cents(position.amount_cents, position.paid_cents)
        known = await repository_notices.payable_option(uow, ident.tenant_id, position.id, residual)
        if known is not None:
            issued.append(
                IssuedOption(
                    known.nav, known.iuv, position.id, residual, known.due_date, creditor.fiscal_code
                )
            )
        else:
            new.append(position)
    bases = await repository_notices.take_notice_bases(uow, ident.tenant_id, len(new)) if new else range(0)
    for position, base in zip(new, bases, strict=True):
        nav = notice_number(creditor.segregation_code, base)
        issued.append(await _issue(uow, ident, position, nav, due, creditor.fiscal_code))
    return issued


async def issue_plan_notices(uow: UnitOfWork, ident: Identity, plan_id: uuid.UUID) -> list[IssuedOption]:
    """The GPD shape of an active plan: one option for the single payment of its residual and one
    per unpaid installment; options already issued are handed out again. Paying one kind later
    makes the other unpayable (reconciliation)."""
    creditor = await _creditor(uow, ident.tenant_id)
    # Locked: two requests for the same plan issue its notices once (the second finds them).
    plan = await repository_lapse.plan_for_update(uow, ident.tenant_id, plan_id)
    if plan is None:
        raise NotFound("Piano non trovato.")
    if plan.status != "active":
        raise Conflict("Il piano non è attivo: non è possibile emettere avvisi per le sue rate.")
    positions = await repository_plans.plan_positions_of(uow, ident.tenant_id, plan_id)
    residual = domain.owed_by(positions)
    if residual <= 0:
        raise Conflict("Le posizioni del piano sono già saldate: nessun avviso da emettere.")
    known = {o.installment: o for o in await repository_notices.plan_options(uow, ident.tenant_id, plan_id)}
    wanted: list[tuple[int | None, int, date]] = [(None, residual, plan.first_due_date)]
    for row in await repository_plans.plan_schedule(uow, ident.tenant_id, plan_id):
        due = row.principal_cents + row.interest_cents
        if row.paid_cents < due:
            wanted.append((row.number, due - row.paid_cents, row.due_date))
    fresh = [w for w in wanted if w[0] not in known or known[w[0]].amount_cents != w[1]]
    bases = iter(
        await repository_notices.take_notice_bases(uow, ident.tenant_id, len(fresh)) if fresh else ()
    )
    issued = []
    for number, amount, due in wanted:
        old = known.get(number)
        if old is not None and old.amount_cents == amount:
            issued.append(
                IssuedOption(
                    old.nav, old.iuv, None, amount, old.due_date, creditor.fiscal_code, plan_id, number
                )
            )
            continue
        if old is not None:
            await repository_notices.set_status(uow, ident.tenant_id, [old.id], "replaced")
        nav = notice_number(creditor.segregation_code, next(bases))
        option = _PlanOption(plan, number, amount, due, nav)
        issued.append(await _issue_plan_option(uow, ident, option, creditor.fiscal_code))
    return issued + await charges_notice(uow, ident, plan, creditor)


async def charges_notice(uow: UnitOfWork, ident: Identity, plan: Any, creditor: Any) -> list[IssuedOption]:
    """The plan's c.803 collection charges, when it has any: a notice of their own, due with the
    first installment and owed whichever way the plan is paid (so a debt of its own for
    reconciliation, never made unpayable by the plan's other notices). Issued once; none once paid."""
    if plan.charges_cents <= 0:
        return []
    found = await repository_notices.charges_option(uow, ident.tenant_id, plan.id)
    if found is not None:
        if found.status != "payable":
            return []
        return [
            IssuedOption(
                found.nav,
                found.iuv,
                None,
                found.amount_cents,
                found.due_date,
                creditor.fiscal_code,
                plan.id,
                None,
                "charges",
            )
        ]
    [base] = await repository_notices.take_notice_bases(uow, ident.tenant_id, 1)
    nav = notice_number(creditor.segregation_code, base)
    # Due with the first installment; once that day has passed (a plan made before the charges had
    # a notice of their own), at the end of next month.
    today = rome_day(datetime.now(UTC))
    due = plan.first_due_date if plan.first_due_date >= today else month_end(today, 1)
    option = _PlanOption(plan, None, plan.charges_cents, due, nav, "charges")
    return [await _issue_plan_option(uow, ident, option, creditor.fiscal_code)]


@dataclass(frozen=True)
class _PlanOption:
    plan: Any
    installment: int | None
    amount_cents: int
    due_date: date
    nav: str
    kind: str = "debt"


async def _issue_plan_option(
    uow: UnitOfWork, ident: Identity, option: _PlanOption, creditor_fiscal_code: str
) -> IssuedOption:
    values = {
        "id": uuid.uuid4(),
        "position_id": None,
        "plan_id": option.plan.id,
        "installment": option.installment,
        "debtor_id": option.plan.debtor_id,
        "nav": option.nav,
        "iuv": iuv(option.nav),
        "amount_cents": option.amount_cents,
        "due_date": option.due_date,
        "issued_by": ident.user_id,
        "kind": option.kind,
    }
    await repository_notices.insert_option(uow, ident.tenant_id, values)
    event = NoticeIssued(
        nav=option.nav,
        iuv=iuv(option.nav),
        position_id="",
        debtor_id=str(option.plan.debtor_id),
        amount_cents=option.amount_cents,
        due_date=option.due_date.isoformat(),
        issued_by=ident.user_id,
        plan_id=str(option.plan.id),
        installment=option.installment or 0,
        kind=option.kind,
    )
    await uow.publish([event.envelope(ident.tenant_id, uow.correlation_id)])
    return IssuedOption(
        option.nav,
        iuv(option.nav),
        None,
        option.amount_cents,
        option.due_date,
        creditor_fiscal_code,
        option.plan.id,
        option.installment,
        option.kind,
    )


async def _issue(
    uow: UnitOfWork, ident: Identity, position: Any, nav: str, due: date, creditor_fiscal_code: str
) -> IssuedOption:
    residual = domain.residual_cents(position.amount_cents, position.paid_cents)
    values = {
        "id": uuid.uuid4(),
        "position_id": position.id,
        "debtor_id": position.debtor_id,
        "nav": nav,
        "iuv": iuv(nav),
        "amount_cents": residual,
        "due_date": due,
        "issued_by": ident.user_id,
    }
    await repository_notices.insert_option(uow, ident.tenant_id, values)
    event = NoticeIssued(
        nav=nav,
        iuv=iuv(nav),
        position_id=str(position.id),
        debtor_id=str(position.debtor_id),
        amount_cents=residual,
        due_date=due.isoformat(),
        issued_by=ident.user_id,
    )
    await uow.publish([event.envelope(ident.tenant_id, uow.correlation_id)])
    return IssuedOption(nav, iuv(nav), position.id, residual, due, creditor_fiscal_code)


async def notices_for_position(
    uow: UnitOfWork, ident: Identity, position_id: uuid.UUID, today: date
) -> list[IssuedOption]:
    """The notices of a position's active plan, or else of the position alone."""
    plan = await repository_plans.active_plan_of(uow, ident.tenant_id, position_id)
    if plan is not None:
        return await issue_plan_notices(uow, ident, plan.id)
    return await issue_notices(uow, ident, (position_id,), today)


async def notice_for(uow: UnitOfWork, ident: Identity, nav: str) -> pdf_notice.Notice:
    """What one of the Comune's notices prints (`pdf_notice.render`); reading it is recorded in the
    access log."""
    option = await repository_notices.option_by_nav(uow, ident.tenant_id, nav)
    if option is None:
        raise NotFound("Avviso non trovato.")
    if option.status in NOT_TO_PRINT:
        raise Conflict(f"L'avviso {printed(nav)} {NOT_TO_PRINT[option.status]}")
    creditor = await _creditor(uow, ident.tenant_id)
    await repository.access.record(
        uow, ident.tenant_id, ident.user_id, "download_notice", option.subject_id, nav
    )
    return pdf_notice.notice_of(creditor, option)
