"""Use cases of the taxpayer's public page, reached by a signed link with no login: what the link
grants (the Comune's name, the notices, the plan's schedule and what is paid), nothing else about
the person. Every view is written to the access log as the "public" actor."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.contracts import REVENUE_TYPE_NAMES
from services.kernel.db import UnitOfWork
from services.kernel.errors import NotFound
from services.payments import pdf_notice, repository, repository_delivery
from services.payments.domain_links import LinkGrant
from services.payments.domain_notices import printed
from services.payments.handlers_delivery import creditor_or_conflict
from services.payments.pdf_notice import notice_of

PUBLIC_ACTOR = "public"
STATUS_LABELS = {
    "payable": "Da pagare",
    "paid": "Pagato",
    "reported": "Pagato",
    "unpayable": "Non più pagabile",
    "expired": "Scaduto",
}


@dataclass(frozen=True)
class PublicNotice:
    nav: str
    printed_nav: str
    label: str
    amount_cents: int
    due_date: date
    status: str
    payable: bool
    # "single": a plan's single payment; "installment": one of its installments (the page says to
    # pay one way or the other); "other": a position's notice or the c.803 charges.
    part: str = "other"


@dataclass(frozen=True)
class PublicInstallment:
    number: int
    due_date: date
    amount_cents: int
    paid_cents: int

    @property
    def settled(self) -> bool:
        return self.paid_cents >= self.amount_cents


@dataclass(frozen=True)
class PublicView:
    creditor_name: str
    notices: list[PublicNotice]
    schedule: list[PublicInstallment]
    is_plan: bool
    # The Ufficio tributi cancelled every position of the plan: nothing is due on its installments.
    plan_cancelled: bool = False

    @property
    def paid_cents(self) -> int:
        return sum(i.paid_cents for i in self.schedule)

    @property
    def due_cents(self) -> int:
        return sum(i.amount_cents for i in self.schedule)


def _label(option: Any) -> str:
    name = REVENUE_TYPE_NAMES.get(option.revenue_type, option.revenue_type)
    if option.plan_id is None:
        return f"{name} {option.year}, atto {option.act_number}"
    if option.kind == "charges":
        return f"Oneri di riscossione (L. 160/2019 c. 803) · {name}"
    if option.installment is None:
        return f"Saldo unico, in alternativa alle rate · {name}"
    return f"Rata {option.installment} · {name}"


def _notice(option: Any) -> PublicNotice:
    return PublicNotice(
        nav=option.nav,
        printed_nav=printed(option.nav),
        label=_label(option),
        amount_cents=option.amount_cents,
        due_date=option.due_date,
        status=STATUS_LABELS.get(option.status, option.status),
        payable=option.status == "payable",
        part=_part(option),
    )


def _part(option: Any) -> str:
    if option.plan_id is None or option.kind == "charges":
        return "other"
    return "single" if option.installment is None else "installment"


async def _options(uow: UnitOfWork, grant: LinkGrant) -> list[Any]:
    return await repository_delivery.shown_options(
        uow, grant.tenant_id, grant.debtor_id, grant.position_ids, grant.plan_id
    )


def _subject(grant: LinkGrant) -> str:
    if grant.plan_id is not None:
        return f"plan={grant.plan_id}"
    return "positions=" + ",".join(str(p) for p in grant.position_ids)


async def public_view(uow: UnitOfWork, grant: LinkGrant) -> PublicView:
    """What the link's page shows; the view is written to the access log."""
    creditor = await creditor_or_conflict(uow, grant.tenant_id)
    schedule: list[PublicInstallment] = []
    cancelled = False
    if grant.plan_id is not None:
        plan = await repository_delivery.plan(uow, grant.tenant_id, grant.plan_id)
        if plan is None or plan.debtor_id != grant.debtor_id:
            raise NotFound("Nessun avviso disponibile per questo collegamento.")
        cancelled = plan.status == "cancelled"
        rows = [] if cancelled else await repository_delivery.schedule(uow, grant.tenant_id, grant.plan_id)
        schedule = [
            PublicInstallment(r.number, r.due_date, r.principal_cents + r.interest_cents, r.paid_cents)
            for r in rows
        ]
    notices = [_notice(o) for o in await _options(uow, grant)]
    if not notices and not schedule and not cancelled:
        raise NotFound("Nessun avviso disponibile per questo collegamento.")
    await repository.access.record(
        uow, grant.tenant_id, PUBLIC_ACTOR, "public_view", grant.debtor_id, _subject(grant)
    )
    return PublicView(creditor.name, notices, schedule, grant.plan_id is not None, cancelled)


async def public_notice(uow: UnitOfWork, grant: LinkGrant, nav: str) -> pdf_notice.Notice:
    """One notice the link grants, to print; any other NAV is not found. Written to the access log."""
    creditor = await creditor_or_conflict(uow, grant.tenant_id)
    option = next((o for o in await _options(uow, grant) if o.nav == nav), None)
    if option is None:
        raise NotFound("Avviso non trovato.")
    subject: uuid.UUID = grant.debtor_id
    await repository.access.record(uow, grant.tenant_id, PUBLIC_ACTOR, "public_download_notice", subject, nav)
    return notice_of(creditor, option)
