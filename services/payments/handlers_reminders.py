"""The daily step that e-mails a reminder the Comune's `reminder_days` before each installment falls
due, once per installment (`plan_installments.reminded_at`), with the installment's notice attached
when it has one and the signed link to the plan's public page."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.kernel.db import UnitOfWork
from services.kernel.mail import Mail
from services.kernel.web import ServiceContext
from services.payments import repository_delivery, repository_emails
from services.payments.domain import SYSTEM_ACTOR, format_cents
from services.payments.domain_links import LinkGrant, expiry
from services.payments.handlers_delivery import (
    Channels,
    DeliveryFailed,
    Sent,
    link_for,
    record,
    render_pdfs,
    send_mail,
)

log = logging.getLogger(__name__)
ROME = ZoneInfo("Europe/Rome")


def _reminder_mail(creditor: Any, row: Any, link: str, until: datetime) -> tuple[str, str]:
    amount = row.principal_cents + row.interest_cents - row.paid_cents
    lines = [
        "Gentile contribuente,",
        "",
        f"le ricordiamo per conto del {creditor.name} che la rata n. {row.number} del suo piano di "
        f"rateizzazione, di {format_cents(amount)}, scade il {row.due_date:%d/%m/%Y}.",
        "Se ha già pagato, non tenga conto di questo messaggio.",
        "",
        f"Il piano, gli avvisi e quanto già pagato sono consultabili fino al {until:%d/%m/%Y} a questo indirizzo:",
        link,
        "",
        "Questo messaggio è inviato automaticamente: non risponda a questo indirizzo.",
    ]
    return f"{creditor.name}: promemoria rata n. {row.number} in scadenza", "\n".join(lines)


async def _remind(
    uow: UnitOfWork, tenant_id: uuid.UUID, channels: Channels, creditor: Any, row: Any, now: datetime
) -> bool:
    address = await repository_emails.active_email(uow, tenant_id, row.debtor_id)
    if address is None:
        log.info("installment %s/%s: no active e-mail address, no reminder", row.plan_id, row.number)
        return False
    if not await repository_delivery.claim_reminder(uow, tenant_id, row.plan_id, row.number, now):
        return False
    shown = await repository_delivery.shown_options(uow, tenant_id, row.debtor_id, (), row.plan_id)
    options = [o for o in shown if o.installment == row.number and o.status == "payable"]
    until = expiry(now, channels.link_days)
    link = link_for(channels, LinkGrant(tenant_id, row.debtor_id, (), row.plan_id, until))
    subject, text = _reminder_mail(creditor, row, link, until)
    mail = Mail(address, subject, text, attachments=await render_pdfs(creditor, options))
    try:
        await send_mail(channels.mailer, mail)
    except DeliveryFailed:  # left for the next run; the Comune's other steps go on
        await repository_delivery.release_reminder(uow, tenant_id, row.plan_id, row.number)
        return False
    sent = Sent(uuid.uuid4(), "email", address, channels.mailer.delivers, link, until)
    about = {
        "debtor_id": row.debtor_id,
        "kind": "installment_reminder",
        "sent_by": SYSTEM_ACTOR,
        "sent_at": now,
        "plan_id": row.plan_id,
        "installment": row.number,
    }
    await record(uow, tenant_id, sent, about)
    return True


async def remind_installments(uow: UnitOfWork, ctx: ServiceContext, tenant_id: uuid.UUID, today: date) -> int:
    """E-mail the reminders due `today` for the Comune; returns how many went out. An installment is
    claimed before its e-mail is sent, so two runs never send it twice."""
    creditor = await repository_delivery.creditor(uow, tenant_id)
    if creditor is None:
        return 0
    channels = Channels.of(ctx)
    now = datetime.now(ROME)
    sent = 0
    for row in await repository_delivery.reminders_due(uow, tenant_id, today):
        sent += await _remind(uow, tenant_id, channels, creditor, row, now)
    return sent
