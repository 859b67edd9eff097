"""Use cases of the life of a plan: extension (c.798), reminder (sollecito), lapse (c.800, art.
202-bis), and the c.803 collection charges and the refusal of lapsed positions for a new plan."""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from services.contracts import NoticeSent, PlanExtended, PlanLapsed
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, NotFound
from services.kernel.identity import Identity
from services.kernel.mail import Attachment, Mail
from services.kernel.storage import tenant_key
from services.kernel.web import ServiceContext
from services.payments import (
    domain,
    handlers_notices,
    handlers_rules,
    repository_emails,
    repository_lapse,
    repository_legal_rates,
    repository_notices,
    repository_plans,
)
from services.payments.domain import SYSTEM_ACTOR, format_cents
from services.payments.domain_lapse import (
    CDS,
    ROME,
    PlanState,
    WentBack,
    check_extension,
    collection_charges,
    extension_most,
    lapses,
    missed,
    needs_reminder,
    refund_reopens,
    residual_cents,
    rome_day,
    run_moment,
    take_back,
)
from services.payments.domain_schedule import Installment, check_first_due, month_end, schedule
from services.payments.pdf_sollecito import WARNING, Sollecito, render

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtendedPlan:
    plan_id: uuid.UUID
    residual_principal_cents: int
    installments_before: int
    installments_after: int
    schedule: list[Installment]


async def plan_state(uow: UnitOfWork, tenant_id: uuid.UUID, plan: Any) -> PlanState:
    reminder = None if plan.reminder_sent_at is None else rome_day(plan.reminder_sent_at)
    return PlanState(
        plan.revenue_type,
        plan.status,
        await repository_lapse.installments(uow, tenant_id, plan.id),
        reminder,
        await repository_lapse.is_extended(uow, tenant_id, plan.id),
    )


async def extend_plan(
    uow: UnitOfWork,
    ident: Identity,
    plan_id: uuid.UUID,
    installments: int,
    reason: str,
    today: date,
    first_due: date | None = None,
) -> ExtendedPlan:
    """Extend a plan once (c.798) on a declared worsening: its unpaid installments are replaced by
    `installments` monthly ones for the residual principal, from `first_due` (default the end of
    next month), at the rate of the rules in force today. `PlanExtended` is published."""
    tenant_id = ident.tenant_id
    plan = await repository_lapse.plan_for_update(uow, tenant_id, plan_id)
    if plan is None:
        raise NotFound("Piano di rateizzazione non trovato.")
    state = await plan_state(uow, tenant_id, plan)
    rules = await handlers_rules.rules_for(uow, tenant_id, plan.revenue_type, today)
    ext = check_extension(state, installments, reason, extension_most(rules))
    due = first_due or month_end(today, 1)
    check_first_due(today, due)
    rates = await repository_legal_rates.rate_table(uow)
    new = [
        replace(i, number=ext.first_number + k)
        for k, i in enumerate(
            schedule(ext.residual_principal_cents, installments, today, due, rules.interest_rate, rates=rates)
        )
    ]
    after = len(ext.kept) + installments
    values = {
        "id": uuid.uuid4(),
        "plan_id": plan_id,
        "extended_on": today,
        "installments_before": plan.installments,
        "installments_after": after,
        "reason": reason.strip(),
        "created_by": ident.user_id,
    }
    unpayable = (*ext.replaced, *ext.closed)
    await repository_lapse.extend(uow, tenant_id, values, ext.kept, ext.replaced, new, unpayable)
    event = PlanExtended(
        plan_id=str(plan_id),
        debtor_id=str(plan.debtor_id),
        installments_before=plan.installments,
        installments_after=after,
        residual_principal_cents=ext.residual_principal_cents,
        first_due_date=due.isoformat(),
        extended_by=ident.user_id,
    )
    await uow.publish([event.envelope(tenant_id, uow.correlation_id)])
    return ExtendedPlan(plan_id, ext.residual_principal_cents, plan.installments, after, new)


async def refuse_lapsed(uow: UnitOfWork, tenant_id: uuid.UUID, positions: Sequence[Any]) -> None:
    """c.800 (and art. 202-bis): a position of a lapsed plan is due at once, never in a new plan."""
    lapsed = set(await repository_lapse.positions_in_lapsed_plans(uow, tenant_id, [p.id for p in positions]))
    for p in positions:
        if p.id in lapsed:
            law = (
                "art. 202-bis del Codice della strada"
                if p.revenue_type == CDS
                else "L. 160/2019, art. 1 c. 800"
            )
            raise Conflict(
                f"La posizione {p.act_number} era in un piano di rateizzazione decaduto: il residuo è "
                f"dovuto in un'unica soluzione e non può essere rateizzato di nuovo ({law})."
            )


async def add_charges(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    plan_id: uuid.UUID,
    position_ids: Sequence[uuid.UUID],
    amount: int,
    today: date,
) -> int:
    """The c.803 charges of a new plan when the Comune applies them (`plan_charges`), recorded on
    it; in cents (0 when not applied)."""
    charges = await plan_charges(uow, tenant_id, position_ids, amount, today)
    if charges:
        await repository_lapse.set_charges(uow, tenant_id, plan_id, charges)
    return charges


async def plan_charges(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID], amount: int, today: date
) -> int:
    """The c.803 charges a plan of `amount` made `today` would bear when the Comune applies them: 3%
    (at most € 300) within 60 days of the positions' first pagoPA notice (or of the plan itself when
    none was issued), 6% (at most € 600) after; 0 when not applied. Nothing is recorded."""
    creditor = await repository_lapse.creditor(uow, tenant_id)
    if creditor is None or not creditor.applies_charges:
        return 0
    notice_day = await repository_lapse.first_notice_day(uow, tenant_id, position_ids) or today
    return collection_charges(amount, notice_day, today)


async def mark_installment_paid(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan_id: uuid.UUID, number: int, paid_cents: int
) -> None:
    """What is paid of one installment (reconciliation fills it from the pagoPA receipts)."""
    if not await repository_lapse.set_installment_paid(uow, tenant_id, plan_id, number, paid_cents):
        raise NotFound("Rata non trovata.")


async def take_back_installments(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    plan_id: uuid.UUID,
    went_back: WentBack,
    on: date,
    revoked: bool = False,
) -> dict[int, int]:
    """Money that paid a plan's installments went back. A refund comes off any plan but a lapsed
    one (`domain_lapse.refund_reopens`), a revoked payment (it never arrived) off any plan,
    as it always did; latest installment first (`take_back`), each due again from `on`, the day it
    was recorded. The plan is locked first (the daily run and an extension wait). Returns what came
    off each installment."""
    plan = await repository_lapse.plan_for_update(uow, tenant_id, plan_id)
    if plan is None:
        return {}
    state = await plan_state(uow, tenant_id, plan)
    if not revoked and not refund_reopens(state):
        return {}
    taken = take_back(state.installments, went_back)
    await repository_lapse.reopen(uow, tenant_id, {(plan_id, n): c for n, c in taken.items()}, on)
    return taken


@dataclass
class LifeReport:
    """What the daily sollecito-and-lapse step did for one Comune: reminders e-mailed, reminders
    kept in object storage to be mailed by post (their keys), plans lapsed."""

    emailed: int = 0
    by_post: list[str] = field(default_factory=list)
    lapsed: int = 0


def _mail_text(creditor_name: str, doc: Sollecito) -> str:
    rows = [
        f"- rata n. {i.number} {i.reopened_note or f'scaduta il {i.due_date:%d/%m/%Y}'}: "
        f"da pagare {format_cents(i.unpaid_cents)}"
        for i in doc.missed
    ]
    return "\n".join(
        [
            "Gentile contribuente,",
            "",
            f"per conto del {creditor_name} le segnaliamo che del suo piano di rateizzazione non risultano "
            "pagate per intero queste rate scadute:",
            *rows,
            "",
            f"Residuo del piano: {format_cents(doc.residual_cents)}.",
            "",
            WARNING,
            "",
            "Trova in allegato il sollecito in PDF. Se ha già pagato, non tenga conto di questo messaggio.",
            "Questo messaggio è inviato automaticamente: non risponda a questo indirizzo.",
        ]
    )


async def _document(
    uow: UnitOfWork, tenant_id: uuid.UUID, plan: Any, state: PlanState, today: date
) -> tuple[str, Sollecito]:
    creditor = await repository_lapse.creditor(uow, tenant_id)
    positions = await repository_plans.plan_positions_of(uow, tenant_id, plan.id)
    first = positions[0]
    doc = Sollecito(
        creditor_name=creditor.name if creditor is not None else "Comune",
        debtor_name=first.debtor_name,
        fiscal_code=first.fiscal_code,
        acts=tuple(f"{p.revenue_type} {p.year} n. {p.act_number}" for p in positions),
        plan_date=plan.plan_date,
        installments=plan.installments,
        missed=tuple(missed(state, today)),
        residual_cents=residual_cents(state, today),
        issued_on=today,
    )
    return doc.creditor_name, doc


async def _sollecito(
    uow: UnitOfWork,
    ctx: ServiceContext,
    tenant_id: uuid.UUID,
    plan: Any,
    state: PlanState,
    today: date,
    report: LifeReport,
) -> bool:
    """Send the reminder by e-mail (PEC first) with its PDF attached, or keep the PDF in object
    storage to be mailed by post when the debtor has no address; False when the e-mail failed (the
    next run tries again)."""
    creditor_name, doc = await _document(uow, tenant_id, plan, state, today)
    pdf = render(doc)
    address = await repository_emails.active_email(uow, tenant_id, plan.debtor_id)
    if address is None:
        key = tenant_key(tenant_id, "solleciti", today.isoformat(), f"{plan.id}.pdf")
        await ctx.storage.put_bytes(tenant_id, key, pdf, "application/pdf")
        log.warning("plan %s: no e-mail address, sollecito kept as %s to be mailed by post", plan.id, key)
        channel, recipient = "post", doc.debtor_name
        report.by_post.append(key)
    else:
        subject = f"{creditor_name}: sollecito di pagamento delle rate scadute"
        attachment = Attachment(f"sollecito-{today.isoformat()}.pdf", "application/pdf", pdf)
        try:
            await ctx.mailer.send(
                Mail(address, subject, _mail_text(creditor_name, doc), attachments=(attachment,))
            )
        except (OSError, smtplib.SMTPException):
            log.exception(
                "plan %s: the sollecito e-mail could not be sent; the next run tries again", plan.id
            )
            return False
        channel, recipient = "email", address
        report.emailed += 1
    now = run_moment(datetime.now(ROME), today)
    await repository_lapse.mark_reminder_sent(uow, tenant_id, plan.id, now)
    values = {"debtor_id": plan.debtor_id, "channel": channel, "recipient": recipient, "kind": "sollecito"}
    message_id = await repository_lapse.record_message(
        uow, tenant_id, values | {"plan_id": plan.id, "sent_by": SYSTEM_ACTOR, "sent_at": now}
    )
    if channel == "email":  # the debtor's history in the contact service shows it
        await _announce(uow, tenant_id, message_id, plan, (now, recipient), ctx.mailer.delivers)
    return True


async def _announce(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    plan: Any,
    sent: tuple[datetime, str],
    delivered: bool,
) -> None:
    sent_at, recipient = sent
    positions = await repository_plans.plan_positions_of(uow, tenant_id, plan.id)
    event = NoticeSent(
        message_id=str(message_id),
        debtor_id=str(plan.debtor_id),
        channel="email",
        kind="sollecito",
        position_ids=tuple(str(p.id) for p in positions),
        plan_id=str(plan.id),
        installment=0,
        sent_at=sent_at.isoformat(),
        sent_by=SYSTEM_ACTOR,
        delivered=delivered,
        recipient=recipient,
    )
    await uow.publish([event.envelope(tenant_id, uow.correlation_id)])


async def _lapse(uow: UnitOfWork, tenant_id: uuid.UUID, plan: Any, state: PlanState, today: date) -> None:
    residual = residual_cents(state, today)
    position_ids = await repository_lapse.lapse(uow, tenant_id, plan.id, today)
    # The installments are not due any more, the residue is, at once: the plan's notices stop being
    # payable and each position gets a notice for its residue (with pagoPA data to issue it).
    options = await repository_notices.plan_options(uow, tenant_id, plan.id)
    await repository_notices.set_status(
        uow, tenant_id, [o.id for o in options if o.status == "payable"], "replaced"
    )
    owed = tuple(
        p.id
        for p in await repository_plans.plan_positions_of(uow, tenant_id, plan.id)
        if domain.residual_cents(p.amount_cents, p.paid_cents) > 0
    )
    if owed and await repository_notices.creditor(uow, tenant_id) is not None:
        await handlers_notices.issue_notices(uow, handlers_notices.system_identity(tenant_id), owed, today)
    event = PlanLapsed(
        plan_id=str(plan.id),
        debtor_id=str(plan.debtor_id),
        position_ids=tuple(str(p) for p in position_ids),
        revenue_type=plan.revenue_type,
        residual_cents=residual,
        lapsed_on=today.isoformat(),
    )
    await uow.publish([event.envelope(tenant_id, uow.correlation_id)])
    log.info("plan %s lapsed on %s, residue %s cents", plan.id, today, residual)


async def sollecito_and_lapse(
    uow: UnitOfWork, ctx: ServiceContext, tenant_id: uuid.UUID, today: date
) -> LifeReport:
    """The daily step: the reminder of the active plans with a first missed installment, then the
    lapse of those that meet c.800 (or art. 202-bis for CDS fines)."""
    report = LifeReport()
    for plan in await repository_lapse.active_plans_with_missed(uow, tenant_id, today):
        state = await plan_state(uow, tenant_id, plan)
        if needs_reminder(state, today) and await _sollecito(uow, ctx, tenant_id, plan, state, today, report):
            state = replace(state, reminder_sent_on=today)
        if lapses(state, today):
            await _lapse(uow, tenant_id, plan, state, today)
            report.lapsed += 1
    return report
