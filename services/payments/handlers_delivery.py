"""Use cases of delivery to the taxpayer: the notices by e-mail (PDFs attached, with the signed link
to the public page) or the link by SMS; each message is recorded and published as `NoticeSent`."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.contracts import NoticeSent
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, DomainError
from services.kernel.formats import can_text, is_email
from services.kernel.identity import Identity
from services.kernel.mail import Attachment, Mail, Mailer
from services.kernel.web import ServiceContext
from services.payments import (
    handlers_notices,
    handlers_positions,
    pdf_notice,
    repository_delivery,
    repository_emails,
)
from services.payments.domain import format_cents
from services.payments.domain_links import MAX_POSITIONS, LinkGrant, expiry, sign
from services.payments.domain_notices import printed
from services.payments.sms import SmsProvider, e164, sms_provider

log = logging.getLogger(__name__)
PUBLIC_PATH = "/avvisi"


class DeliveryFailed(DomainError):
    """The mail server or SMS provider refused or could not be reached: nothing is recorded."""

    status = 502


async def send_mail(mailer: Mailer, mail: Mail) -> None:
    try:
        await mailer.send(mail)
    except OSError as exc:  # smtplib's errors included
        log.warning("e-mail to %s not accepted: %s", mail.to, exc)
        raise DeliveryFailed(
            "Il server di posta non ha accettato il messaggio: nulla è stato registrato, riprova più tardi."
        ) from exc


@dataclass(frozen=True)
class Channels:
    """What sending needs from the platform: the mailer, the SMS provider, the key that signs links,
    the address the links start with and how long they work."""

    mailer: Mailer
    sms: SmsProvider
    secret: str
    base_url: str
    link_days: int

    @classmethod
    def of(cls, ctx: ServiceContext) -> Channels:
        settings = ctx.settings
        return cls(
            ctx.mailer,
            sms_provider(settings),
            settings.secret_key,
            settings.public_base_url.rstrip("/"),
            settings.public_link_days,
        )


@dataclass(frozen=True)
class Sent:
    """A message handed to its channel; `delivered` False: only kept (development platform)."""

    message_id: uuid.UUID
    channel: str
    recipient: str
    delivered: bool
    link: str
    expires_at: datetime
    # The notices it carries (code, amount, due day, installment): the operator reads them out.
    notices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Target:
    """What a message is about: one debtor's positions or plan, and the notices to send."""

    debtor_id: uuid.UUID
    position_ids: tuple[uuid.UUID, ...]
    plan_id: uuid.UUID | None
    options: list[Any]


def link_for(channels: Channels, grant: LinkGrant) -> str:
    return f"{channels.base_url}{PUBLIC_PATH}/{sign(grant, channels.secret)}"


async def creditor_or_conflict(uow: UnitOfWork, tenant_id: uuid.UUID) -> Any:
    found = await repository_delivery.creditor(uow, tenant_id)
    if found is None:
        raise Conflict("Il Comune non ha ancora inserito i propri dati pagoPA: nessun avviso da inviare.")
    return found


def _check_named(position_ids: tuple[uuid.UUID, ...], plan_id: uuid.UUID | None) -> None:
    if not position_ids and plan_id is None:
        raise DomainError(
            "Indica le posizioni («position_ids») o il piano («plan_id»).", field="position_ids"
        )
    if len(position_ids) > MAX_POSITIONS:
        raise DomainError(f"Al massimo {MAX_POSITIONS} posizioni per messaggio.", field="position_ids")


async def _target(
    uow: UnitOfWork,
    ident: Identity,
    position_ids: tuple[uuid.UUID, ...],
    plan_id: uuid.UUID | None,
    today: date,
) -> Target:
    """The positions' notices (issued now if needed), or the plan's payable notices."""
    if plan_id is not None:
        issued = await handlers_notices.issue_plan_notices(uow, ident, plan_id)
        plan = await repository_delivery.plan(uow, ident.tenant_id, plan_id)
        assert plan is not None  # issue_plan_notices found it
        shown = await repository_delivery.shown_options(uow, ident.tenant_id, plan.debtor_id, (), plan_id)
        navs = {o.nav for o in issued}
        return Target(plan.debtor_id, (), plan_id, [o for o in shown if o.nav in navs])
    positions = await handlers_positions.positions_or_404(uow, ident.tenant_id, position_ids)
    debtors = {p.debtor_id for p in positions}
    if len(debtors) != 1:
        raise DomainError("Le posizioni sono di contribuenti diversi: invia un messaggio per ciascuno.")
    issued = await handlers_notices.issue_notices(uow, ident, position_ids, today)
    navs = {o.nav for o in issued}
    debtor_id = debtors.pop()
    shown = await repository_delivery.shown_options(uow, ident.tenant_id, debtor_id, position_ids, None)
    # With the c.803 charges of a lapsed plan of theirs still to pay (`shown_options`).
    return Target(debtor_id, position_ids, None, [o for o in shown if o.nav in navs or o.kind == "charges"])


async def reachable_at(
    uow: UnitOfWork, tenant_id: uuid.UUID, position_ids: Sequence[uuid.UUID]
) -> dict[str, str | None]:
    """What the sending forms offer for the positions' debtor: `active_email`, where an e-mail left
    blank goes (the form says it, or that there is none), and `active_mobile`, the first phone on
    file not marked wrong that can take an SMS (the SMS form starts from it); None when there is
    none or the positions are unknown."""
    debtors = await repository_delivery.debtors_of(uow, tenant_id, list(position_ids)[:1])
    if not debtors:
        return {"active_email": None, "active_mobile": None}
    phones = await repository_emails.active_phones(uow, tenant_id, debtors[0])
    return {
        "active_email": await repository_emails.active_email(uow, tenant_id, debtors[0]),
        "active_mobile": next((p for p in phones if can_text(p)), None),
    }


def last_day(until: datetime) -> date:
    """The last day, in Rome, on which a link ending at `until` still works."""
    return (until - timedelta(microseconds=1)).astimezone(ZoneInfo("Europe/Rome")).date()


def _last_due(target: Target) -> date | None:
    """The last due date of the notices sent (the link shows them until then)."""
    return max((o.due_date for o in target.options), default=None)


async def _address(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, given: str | None) -> str:
    address = (given or "").strip() or await repository_emails.active_email(uow, tenant_id, debtor_id)
    if not address:
        raise DomainError("Il contribuente non ha un indirizzo e-mail attivo: indicane uno.", field="email")
    if not is_email(address):
        raise DomainError("Indirizzo e-mail non valido.", field="email")
    return address


async def record(uow: UnitOfWork, tenant_id: uuid.UUID, sent: Sent, about: dict[str, Any]) -> None:
    """The `messages` row and the `NoticeSent` event of a message handed to its channel.

    `about`: debtor_id, kind, sent_by, sent_at, and optionally sent_by_name, position_ids, plan_id,
    installment."""
    positions: tuple[uuid.UUID, ...] = about.get("position_ids", ())
    plan_id: uuid.UUID | None = about.get("plan_id")
    installment: int | None = about.get("installment")
    values = {
        "id": sent.message_id,
        "debtor_id": about["debtor_id"],
        "channel": sent.channel,
        "recipient": sent.recipient,
        "kind": about["kind"],
        "plan_id": plan_id,
        "position_id": positions[0] if len(positions) == 1 else None,
        "installment": installment,
        "expires_at": sent.expires_at,
        "sent_by": about["sent_by"],
        "sent_at": about["sent_at"],
    }
    await repository_delivery.insert_message(uow, tenant_id, values)
    event = NoticeSent(
        message_id=str(sent.message_id),
        debtor_id=str(about["debtor_id"]),
        channel=sent.channel,
        kind=about["kind"],
        position_ids=tuple(str(p) for p in positions),
        plan_id=str(plan_id or ""),
        installment=installment or 0,
        sent_at=about["sent_at"].isoformat(),
        sent_by=about["sent_by"],
        delivered=sent.delivered,
        sent_by_name=about.get("sent_by_name", ""),
        recipient=sent.recipient,
    )
    await uow.publish([event.envelope(tenant_id, uow.correlation_id)])


async def render_pdfs(creditor: Any, options: list[Any]) -> tuple[Attachment, ...]:
    notices = [pdf_notice.notice_of(creditor, o) for o in options]
    bodies = await asyncio.to_thread(lambda: [pdf_notice.render(n) for n in notices])
    return tuple(
        Attachment(f"avviso-{n.nav}.pdf", "application/pdf", body)
        for n, body in zip(notices, bodies, strict=True)
    )


def _option_lines(options: list[Any]) -> list[str]:
    """A plan's options say which to pay: the single payment, or else the installments."""

    def line(o: Any) -> str:
        return (
            f"- codice avviso {printed(o.nav)}: {format_cents(o.amount_cents)} entro il {o.due_date:%d/%m/%Y}"
        )

    charges = [o for o in options if o.kind == "charges"]
    debt = [o for o in options if o.kind != "charges"]
    single = [o for o in debt if o.plan_id is not None and o.installment is None]
    installments = [o for o in debt if o.plan_id is not None and o.installment is not None]
    tail = (
        ["", "Inoltre, in ogni caso, gli oneri di riscossione (L. 160/2019, art. 1 c. 803):"]
        + [line(o) for o in charges]
        if charges
        else []
    )
    if not single and not installments:
        return [line(o) for o in debt] + tail
    return [
        "paghi UNA sola delle due possibilità (pagandone una, l'altra non è più pagabile):",
        "",
        "1) tutto in un'unica soluzione:",
        *(line(o) for o in single),
        "",
        "2) oppure a rate, ciascuna entro la sua scadenza:",
        *(f"{line(o)} (rata {o.installment})" for o in installments),
        *tail,
    ]


def _notice_mail(creditor: Any, target: Target, link: str, until: datetime) -> tuple[str, str]:
    """The e-mail's subject and text: one notice in the singular, a plan's with its installments."""
    options = list(target.options)
    one = len(options) == 1
    in_plan = any(o.installment is not None for o in options)
    consult = "L'avviso e quanto già pagato sono consultabili"
    if not one:
        consult = (
            "Gli avvisi, le rate e quanto già pagato sono consultabili"
            if in_plan
            else ("Gli avvisi e quanto già pagato sono consultabili")
        )
    lines = [
        "Gentile contribuente,",
        "",
        f"le inviamo per conto del {creditor.name} "
        + ("l'avviso di pagamento pagoPA allegato:" if one else "gli avvisi di pagamento pagoPA allegati:"),
        *_option_lines(options),
        "",
        f"Può pagarl{'o' if one else 'i'} con l'app IO, sul sito o nell'app della sua banca o presso i"
        " prestatori aderenti a pagoPA.",
        "",
        f"{consult} anche a questo indirizzo, valido fino al {last_day(until):%d/%m/%Y}:",
        link,
        "",
        "Questo messaggio è inviato automaticamente: non risponda a questo indirizzo.",
    ]
    subject = "avviso di pagamento pagoPA" if one else "avvisi di pagamento pagoPA"
    return f"{creditor.name}: {subject}", "\n".join(lines)


def _notice_about(
    ident: Identity,
    target: Target,
    position_ids: tuple[uuid.UUID, ...],
    plan_id: uuid.UUID | None,
    now: datetime,
) -> dict[str, Any]:
    """What a message carrying notices is about (`record`)."""
    return {
        "debtor_id": target.debtor_id,
        "kind": "notice",
        "sent_by": ident.user_id,
        "sent_by_name": ident.display_name,
        "sent_at": now,
        "position_ids": position_ids,
        "plan_id": plan_id,
    }


async def send_by_email(
    uow: UnitOfWork,
    ident: Identity,
    channels: Channels,
    ask: tuple[tuple[uuid.UUID, ...], uuid.UUID | None, str | None],
    now: datetime,
) -> Sent:
    """E-mail the notices of `ask` = (position ids, plan id, address or None for the debtor's
    active one), PDFs attached, with the link to the public page; recorded and published."""
    position_ids, plan_id, email = ask
    _check_named(position_ids, plan_id)
    creditor = await creditor_or_conflict(uow, ident.tenant_id)
    target = await _target(uow, ident, position_ids, plan_id, now.date())
    address = await _address(uow, ident.tenant_id, target.debtor_id, email)
    until = expiry(now, channels.link_days, _last_due(target))
    link = link_for(channels, LinkGrant(ident.tenant_id, target.debtor_id, position_ids, plan_id, until))
    subject, text = _notice_mail(creditor, target, link, until)
    attachments = await render_pdfs(creditor, target.options)
    await send_mail(channels.mailer, Mail(address, subject, text, attachments=attachments))
    sent = Sent(uuid.uuid4(), "email", address, channels.mailer.delivers, link, until, tuple(target.options))
    await record(uow, ident.tenant_id, sent, _notice_about(ident, target, position_ids, plan_id, now))
    return sent


async def send_by_sms(
    uow: UnitOfWork,
    ident: Identity,
    channels: Channels,
    ask: tuple[tuple[uuid.UUID, ...], uuid.UUID | None, str],
    now: datetime,
) -> Sent:
    """Text the link to the public page of `ask` = (position ids, plan id, phone number)."""
    position_ids, plan_id, phone = ask
    _check_named(position_ids, plan_id)
    number = e164(phone)
    creditor = await creditor_or_conflict(uow, ident.tenant_id)
    target = await _target(uow, ident, position_ids, plan_id, now.date())
    until = expiry(now, channels.link_days, _last_due(target))
    link = link_for(channels, LinkGrant(ident.tenant_id, target.debtor_id, position_ids, plan_id, until))
    text = f"{creditor.name[:60]}: avvisi di pagamento pagoPA su {link} (valido fino al {last_day(until):%d/%m/%Y})"
    await channels.sms.send(number, text)
    sent = Sent(uuid.uuid4(), "sms", number, channels.sms.delivers, link, until, tuple(target.options))
    await record(uow, ident.tenant_id, sent, _notice_about(ident, target, position_ids, plan_id, now))
    return sent
