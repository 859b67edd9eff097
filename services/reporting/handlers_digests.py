"""Use cases of the digests for the Ufficio tributi: the daily step that sends the digest of a period
that ended, «Invia ora», the schedule and addresses, the list and the download. Each runs in the
unit of work its entrypoint owns (the daily run's per Comune, or the request's)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from services.kernel import daily
from services.kernel.db import Database, UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.mail import Attachment, Mail, Mailer
from services.kernel.storage import ObjectNotFound, ObjectStorage, tenant_key
from services.kernel.web import ServiceContext
from services.reporting import domain_digest as domain
from services.reporting import pdf_digest
from services.reporting import repository as reporting_repo
from services.reporting import repository_digests as repo

log = logging.getLogger(__name__)
PAGE = "reporting/riepiloghi"
FALLBACK_ENTE = "Comune"


class StoredDigestCorrupted(DomainError):
    status = 500

    def __init__(self) -> None:
        super().__init__(
            "Il documento archiviato non corrisponde all'impronta registrata: contattare l'assistenza."
        )


@dataclass(frozen=True)
class DigestRun:
    """What the daily step did for a Comune: `status` is sent, kept (no mail server), failed,
    nothing_due, already_sent or no_addresses."""

    status: str
    period: domain.Period | None = None
    digest_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Sender:
    """What sending needs from the platform."""

    storage: ObjectStorage
    mailer: Mailer
    base_url: str
    db: Database

    @classmethod
    def of(cls, ctx: ServiceContext) -> Sender:
        return cls(ctx.storage, ctx.mailer, ctx.settings.public_base_url.rstrip("/"), ctx.db)

    def page_url(self, slug: str) -> str:
        return f"{self.base_url}/t/{slug}/{PAGE}" if slug else self.base_url or "/"


@dataclass(frozen=True)
class Outgoing:
    """A digest recorded as `sending` with its stored PDF: the e-mail to send once that committed.
    `period_end`: the last day it covers, marked sent when the e-mail went (or was kept)."""

    tenant_id: uuid.UUID
    digest_id: uuid.UUID
    mail: Mail
    period_end: date | None = None


async def build(
    uow: UnitOfWork, tenant_id: uuid.UUID, ente: str, period: domain.Period, today: date, now: datetime
) -> domain.Digest:
    """Read the period's figures, the cases awaiting the office and the collected by revenue type."""
    return domain.Digest(
        ente=ente or FALLBACK_ENTE,
        period=period,
        generated_at=now,
        figures=await repo.figures(uow, tenant_id, period),
        pending=domain.pending_cases(await repo.waiting_cases(uow, tenant_id), today),
        by_type=await repo.by_revenue_type(uow, tenant_id, period),
    )


async def _prepare(
    uow: UnitOfWork,
    sender: Sender,
    tenant_id: uuid.UUID,
    digest_id: uuid.UUID,
    digest: domain.Digest,
    to: tuple[str, ...],
    slug: str,
) -> Outgoing:
    """Render and store the PDF (a new object per attempt, never overwritten), record it on the
    digest: what to e-mail after the commit."""
    body = await asyncio.to_thread(pdf_digest.render, digest)
    key = tenant_key(
        tenant_id, "reporting", "digests", str(digest_id), f"{uuid.uuid4().hex[:12]}-{digest.filename}"
    )
    stored = await sender.storage.put_bytes(tenant_id, key, body, "application/pdf")
    await repo.attach(uow, tenant_id, digest_id, stored)
    url = sender.page_url(slug)
    mail = Mail(
        ", ".join(to),
        domain.subject(digest),
        domain.mail_text(digest, url),
        domain.mail_html(digest, url),
        (Attachment(digest.filename, "application/pdf", body),),
    )
    return Outgoing(tenant_id, digest_id, mail)


async def deliver(sender: Sender, outgoing: Outgoing) -> str:
    """E-mail a digest whose `sending` record committed, then record the outcome in a short
    transaction of its own. A mail server that refuses leaves the digest `failed` with its reason
    (tried again by the next run, or by «Invia ora»), nothing raised."""
    status, error = ("sent" if sender.mailer.delivers else "kept"), ""
    try:
        await sender.mailer.send(outgoing.mail)
    except OSError as exc:  # smtplib's errors included
        log.warning("digest %s not accepted by the mail server: %s", outgoing.digest_id, exc)
        status, error = "failed", str(exc) or type(exc).__name__
    sent_at = None if status == "failed" else datetime.now(UTC)

    async def record(uow: UnitOfWork) -> None:
        tenant_id = outgoing.tenant_id
        await repo.finish(uow, tenant_id, outgoing.digest_id, status, error, sent_at)
        if outgoing.period_end is not None and status != "failed":
            await repo.mark_period_sent(uow, tenant_id, outgoing.period_end)

    await sender.db.run(outgoing.tenant_id, record, correlation_id=f"digest-{outgoing.digest_id}")
    return status


async def send_due_digest(
    uow: UnitOfWork, ctx: ServiceContext, tenant_id: uuid.UUID, today: date
) -> DigestRun | daily.AfterCommit:
    """Daily step: e-mail the digest of the period that ended before `today`, once. The period is
    claimed (`sending`) in the run's transaction and e-mailed after its commit, so two runs never
    send it twice and a rolled-back run sends nothing; a refusal is recorded and the next day's run
    tries again, as it does a digest left `sending` past its lease by a run that died."""
    settings = await repo.settings(uow, tenant_id)
    period = domain.due(settings.schedule, today, settings.last_period_end)
    if period is None:
        return DigestRun("nothing_due")
    to = await repo.office_emails(uow, tenant_id)
    if not to:
        log.info("tenant %s: no office address, digest for %s not sent", tenant_id, period.label())
        return DigestRun("no_addresses", period)
    digest_id = await repo.claim_scheduled(uow, tenant_id, period, to, ctx.clock())
    if digest_id is None:
        return DigestRun("already_sent", period)
    digest = await build(uow, tenant_id, settings.comune_name, period, today, datetime.now(UTC))
    sender = Sender.of(ctx)
    prepared = await _prepare(uow, sender, tenant_id, digest_id, digest, to, settings.comune_slug)
    outgoing = dataclasses.replace(prepared, period_end=period.end)

    async def then() -> DigestRun:
        return DigestRun(await deliver(sender, outgoing), period, digest_id)

    return daily.AfterCommit(then)


async def send_now(
    uow: UnitOfWork, sender: Sender, who: Identity, today: date, repeat: repo.DigestRecord | None = None
) -> Outgoing:
    """«Invia ora»: the digest from the day after the last period sent up to today (`repeat`: the
    days of that digest again), to the office; recorded as `sending`, e-mailed by `deliver` once
    this transaction committed, which then counts its days as sent (the daily run goes on from the
    day after: it sent them again)."""
    tenant_id = who.tenant_id
    await repo.remember_comune(uow, tenant_id, who.tenant_name, who.tenant_slug)
    to = await repo.office_emails(uow, tenant_id)
    if not to:
        raise DomainError(
            "Indica almeno un indirizzo e-mail dell'ufficio prima di inviare.", field="indirizzi"
        )
    settings = await repo.settings(uow, tenant_id)
    period = repeat.period if repeat else domain.on_demand(settings.schedule, today, settings.last_period_end)
    digest_id = uuid.uuid4()
    await repo.insert_manual(uow, tenant_id, digest_id, period, to, who.display_name)
    digest = await build(uow, tenant_id, who.tenant_name, period, today, datetime.now(UTC))
    prepared = await _prepare(uow, sender, tenant_id, digest_id, digest, to, who.tenant_slug)
    return dataclasses.replace(prepared, period_end=period.end)


async def sent_today(uow: UnitOfWork, who: Identity, today: date) -> repo.DigestRecord | None:
    """A digest made today that covers up to today and did not fail: «Invia ora» has nothing new
    to send, so a second press (a colleague's, or the same clerk's) is asked to confirm; confirmed,
    the same days go again (`send_now`'s `repeat`)."""
    for record in await repo.list_digests(uow, who.tenant_id, limit=20):
        made_on = record.created_at.astimezone(domain.ROME).date()
        if made_on == today and record.period.end >= today and record.status != "failed":
            return record
    return None


async def digest_record(uow: UnitOfWork, who: Identity, digest_id: uuid.UUID) -> repo.DigestRecord:
    record = await repo.get_digest(uow, who.tenant_id, digest_id)
    if record is None:
        raise NotFound()
    return record


# --- the page ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    schedule: domain.Schedule
    last_period_end: date | None
    # An ended period not sent yet (the next daily run sends it), or None.
    next_period: domain.Period | None
    addresses: tuple[str, ...]
    digests: list[repo.DigestRecord]
    # The period under way and the day its digest goes out.
    coming: tuple[domain.Period, date] | None = None


async def overview(uow: UnitOfWork, who: Identity, today: date) -> Overview:
    """The schedule, the addresses and the digests made; the Comune's name is kept up to date for the
    daily run."""
    settings = await repo.settings(uow, who.tenant_id)
    if (settings.comune_name, settings.comune_slug) != (who.tenant_name, who.tenant_slug):
        await repo.remember_comune(uow, who.tenant_id, who.tenant_name, who.tenant_slug)
    upcoming = domain.last_ended(settings.schedule, today)
    return Overview(
        settings.schedule,
        settings.last_period_end,
        upcoming
        if upcoming and not (settings.last_period_end and upcoming.end <= settings.last_period_end)
        else None,
        await repo.office_emails(uow, who.tenant_id),
        await repo.list_digests(uow, who.tenant_id),
        _coming(settings.schedule, today, settings.last_period_end),
    )


def _coming(
    schedule: domain.Schedule, today: date, last_sent_end: date | None
) -> tuple[domain.Period, date] | None:
    """The digest the daily run will send next and its day: the period under way from the day after
    the last one sent (`domain.due` on that day: days «Invia ora» sent are not announced again)."""
    _, day = domain.next_send(schedule, today)
    sent = domain.due(schedule, day, last_sent_end)
    return (sent, day) if sent is not None else None


async def save_settings(
    uow: UnitOfWork, who: Identity, raw: tuple[str, str, str, str], today: date
) -> tuple[domain.Schedule, tuple[str, ...]]:
    """The schedule and the office's addresses as typed (period, weekday, days, addresses)."""
    kind, weekday, every_days, addresses = raw
    schedule = domain.check_schedule(kind, weekday, every_days, today)
    emails = domain.check_addresses(addresses)
    before = await repo.settings(uow, who.tenant_id)
    if schedule != before.schedule and before.last_period_end is None:
        # The period the old schedule had still to send is kept to send (it was dropped).
        covered = domain.covered_on_change(before.schedule, today, None)
        await repo.mark_period_sent(uow, who.tenant_id, covered)
    await repo.save_schedule(uow, who.tenant_id, schedule, who.user_id)
    await repo.remember_comune(uow, who.tenant_id, who.tenant_name, who.tenant_slug)
    await repo.save_office_emails(uow, who.tenant_id, emails, who.user_id)
    return schedule, emails


async def open_digest(
    uow: UnitOfWork, storage: ObjectStorage, who: Identity, digest_id: uuid.UUID
) -> repo.DigestRecord:
    """A stored digest about to be downloaded: it must still carry the recorded SHA-256 and size;
    the download is recorded in the access log (the digest names debtors)."""
    record = await repo.get_digest(uow, who.tenant_id, digest_id)
    if record is None or not record.object_key:
        raise NotFound()
    try:
        head = await storage.head(who.tenant_id, record.object_key)
    except ObjectNotFound as exc:
        raise NotFound("Il documento non è più disponibile.") from exc
    if head.sha256 != record.sha256 or head.size != record.size:
        log.error("stored digest does not match its record", extra={"fields": {"digest_id": str(record.id)}})
        raise StoredDigestCorrupted()
    await reporting_repo.access.record(uow, who.tenant_id, who.user_id, "download_digest", record.id)
    return record
