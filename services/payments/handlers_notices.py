"""Use cases of pagoPA notices: the Comune's creditor data, issuing notices, a notice's PDF."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.contracts import NoticeIssued
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, NotFound
from services.kernel.identity import Identity
from services.payments import domain, handlers_positions, pdf_notice, repository, repository_notices
from services.payments.domain_notices import iuv, notice_number
from services.payments.domain_schedule import month_end


@dataclass(frozen=True)
class IssuedOption:
    nav: str
    iuv: str
    position_id: uuid.UUID
    amount_cents: int
    due_date: date
    creditor_fiscal_code: str


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
    due = month_end(today, 1)
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


async def notice_for(uow: UnitOfWork, ident: Identity, nav: str) -> pdf_notice.Notice:
    """What one of the Comune's notices prints (`pdf_notice.render`); reading it is recorded in the
    access log."""
    option = await repository_notices.option_by_nav(uow, ident.tenant_id, nav)
    if option is None:
        raise NotFound("Avviso non trovato.")
    creditor = await _creditor(uow, ident.tenant_id)
    await repository.access.record(
        uow, ident.tenant_id, ident.user_id, "download_notice", option.position_id, nav
    )
    notice = pdf_notice.Notice(
        creditor_name=creditor.name,
        creditor_fiscal_code=creditor.fiscal_code,
        cbill=creditor.cbill,
        nav=option.nav,
        amount_cents=option.amount_cents,
        due_date=option.due_date,
        payee_name=option.debtor_name,
        payee_fiscal_code=option.fiscal_code,
        reason=f"{option.revenue_type} {option.year}, atto {option.act_number}",
    )
    return notice
