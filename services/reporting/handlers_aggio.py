"""Use cases of the aggio engine: the contract, the aggio of a period, the monthly rendiconto (stored,
e-mailed, downloaded) and the office's e-mail addresses. Each runs in its entrypoint's unit of work."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from services.kernel import daily
from services.kernel.db import Database, UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.mail import Attachment, Mail, Mailer
from services.kernel.storage import ObjectNotFound, ObjectStorage, StoredObject, read_all, tenant_key
from services.kernel.web import ServiceContext
from services.reporting import domain_aggio as rules
from services.reporting import domain_digest, repository_charges
from services.reporting import rendiconto as docs
from services.reporting import repository as repo
from services.reporting import repository_aggio as aggio_repo
from services.reporting.domain_aggio import Contract
from services.reporting.handlers_aggio_contract import NO_CONTRACT, versions_in

log = logging.getLogger(__name__)
SYSTEM = "sistema"
PDF, XLSX = "application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class StoredRendicontoCorrupted(DomainError):
    status = 500

    def __init__(self) -> None:
        super().__init__(
            "Il documento archiviato non corrisponde all'impronta registrata: contattare l'assistenza."
        )


# --- rendiconto ----------------------------------------------------------------------------------


def _contract_json(contract: Contract) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(contract), default=str))  # type: ignore[no-any-return]


async def _store(
    storage: ObjectStorage,
    tenant_id: uuid.UUID,
    rendiconto_id: uuid.UUID,
    stem: str,
    files: tuple[bytes, bytes],
) -> dict[str, StoredObject]:
    stored = {}
    for kind, body, media in (("pdf", files[0], PDF), ("xlsx", files[1], XLSX)):
        key = tenant_key(tenant_id, "reporting", "rendiconti", str(rendiconto_id), f"{stem}.{kind}")
        stored[kind] = await storage.put_bytes(tenant_id, key, body, media)
    return stored


@dataclass(frozen=True)
class Made:
    """A rendiconto just recorded, and its e-mail to send once the transaction committed (None when
    the office has no address)."""

    rendiconto: aggio_repo.Rendiconto
    mail: RendicontoMail | None


@dataclass(frozen=True)
class RendicontoMail:
    tenant_id: uuid.UUID
    rendiconto_id: uuid.UUID
    mail: Mail


def in_force(saved: tuple[aggio_repo.SavedContract, ...], month: date) -> aggio_repo.SavedContract | None:
    """The version of the contract a month is invoiced with: the one in force on its first day (the
    first version for a month it began in or before it began); None without a contract."""
    versions = versions_in(saved)
    if versions is None:
        return None
    start = versions.in_force(month.replace(day=1)).start_date
    return next(s for s in saved if s.contract.start_date == start)


async def _month_data(
    uow: UnitOfWork, tenant_id: uuid.UUID, saved: aggio_repo.SavedContract, month: date, by: str, ente: str
) -> docs.RendicontoData:
    """What a month's rendiconto holds: the contract applied to its base, its movements, the
    debtors' c.803 charges apart, and its next version number."""
    start, end = rules.month_bounds(month)
    return docs.RendicontoData(
        ente or saved.ente or "Comune",
        start,
        await aggio_repo.next_version(uow, tenant_id, start),
        saved.contract,
        rules.compute(saved.contract, await aggio_repo.bases(uow, tenant_id, start, end)),
        await aggio_repo.movements(uow, tenant_id, start, end),
        datetime.now(UTC),
        by,
        await repository_charges.collected(uow, tenant_id, start, end),
    )


async def unchanged_version(
    uow: UnitOfWork, tenant_id: uuid.UUID, month: date
) -> aggio_repo.Rendiconto | None:
    """The month's latest rendiconto when generating it again would give the same figures under
    the same contract (a new version would only repeat it, and e-mail it again); else None."""
    saved = in_force(await aggio_repo.contract_versions(uow, tenant_id), month)
    start, end = rules.month_bounds(month)
    latest = await aggio_repo.latest_of_month(uow, tenant_id, start)
    if saved is None or latest is None:
        return None
    result = rules.compute(saved.contract, await aggio_repo.bases(uow, tenant_id, start, end))
    t = result.totals
    now = (t.collected_cents, t.refunded_cents, t.revoked_cents, t.taxable_cents)
    then = (latest.collected_cents, latest.refunded_cents, latest.revoked_cents, latest.taxable_cents)
    money = (result.aggio_cents, result.vat_cents, result.invoice_cents)
    same = (now, money) == (then, (latest.aggio_cents, latest.vat_cents, latest.invoice_cents))
    return latest if same and latest.contract == _contract_json(saved.contract) else None


async def generate_rendiconto(
    uow: UnitOfWork, ctx: ServiceContext, tenant_id: uuid.UUID, month: date, by: str, ente: str = ""
) -> Made:
    """Compute the month, render PDF and XLSX, store both with their SHA-256 (a new version each
    time, never overwritten) and record it as `sending` to the office's addresses: the caller
    e-mails it with `deliver` once this transaction committed (never inside it)."""
    saved = in_force(await aggio_repo.contract_versions(uow, tenant_id), month)
    if saved is None:
        raise DomainError(NO_CONTRACT, field="month")
    if rules.month_bounds(month)[1] < saved.contract.start_date:  # as the daily run skips it
        raise DomainError(
            f"Il contratto «{saved.contract.reference}» è in vigore dal "
            f"{saved.contract.start_date:%d/%m/%Y}: non copre {docs.month_label(month)}, e il "
            "rendiconto di quel mese non si genera con questo contratto.",
            field="month",
        )
    data = await _month_data(uow, tenant_id, saved, month, by, ente)
    start, version, result = data.month, data.version, data.result
    pdf, xlsx = await asyncio.gather(
        asyncio.to_thread(docs.render_pdf, data), asyncio.to_thread(docs.render_xlsx, data)
    )
    rendiconto_id = uuid.uuid4()
    stored = await _store(ctx.storage, tenant_id, rendiconto_id, docs.file_stem(start, version), (pdf, xlsx))
    t = result.totals
    to = await aggio_repo.office_emails(uow, tenant_id)
    values: dict[str, Any] = {
        "id": rendiconto_id,
        "month": start,
        "version": version,
        **{f"{k}_{f}": getattr(s, f) for k, s in stored.items() for f in ("key", "sha256", "size")},
        "collected_cents": t.collected_cents,
        "refunded_cents": t.refunded_cents,
        "revoked_cents": t.revoked_cents,
        "taxable_cents": t.taxable_cents,
        "aggio_cents": result.aggio_cents,
        "vat_cents": result.vat_cents,
        "invoice_cents": result.invoice_cents,
        "contract": _contract_json(saved.contract),
        "generated_by": by,
        "emailed_to": to,
        "email_status": "sending" if to else "no_addresses",
        "email_attempts": 1 if to else 0,
        "email_claimed_at": ctx.clock(),
        "email_error": "" if to else NO_ADDRESSES,
    }
    await aggio_repo.insert_rendiconto(uow, tenant_id, values)
    log.info(
        "rendiconto generated", extra={"fields": {"rendiconto_id": str(rendiconto_id), "month": str(start)}}
    )
    found = await aggio_repo.get_rendiconto(uow, tenant_id, rendiconto_id)
    assert found is not None
    if not to:
        return Made(found, None)
    return Made(found, RendicontoMail(tenant_id, rendiconto_id, _mail(found, data.ente, (pdf, xlsx))))


NO_ADDRESSES = "Nessun indirizzo dell'Ufficio tributi: rendiconto non inviato."


def _mail(r: aggio_repo.Rendiconto, ente: str, files: tuple[bytes, bytes]) -> Mail:
    stem = docs.file_stem(r.month, r.version)
    text = (
        f"{ente}: rendiconto dell'aggio di {docs.month_label(r.month)} (versione {r.version}).\n\n"
        f"Base imponibile: {rules.euro(r.taxable_cents)}\nAggio: {rules.euro(r.aggio_cents)}\n"
        f"IVA: {rules.euro(r.vat_cents)}\nTotale da fatturare: {rules.euro(r.invoice_cents)}\n\n"
        "In allegato il rendiconto in PDF e in XLSX con l'elenco dei movimenti.\n"
    )
    return Mail(
        to=", ".join(r.emailed_to),
        subject=f"{ente}: rendiconto dell'aggio di {docs.month_label(r.month)}",
        text=text,
        attachments=(Attachment(f"{stem}.pdf", PDF, files[0]), Attachment(f"{stem}.xlsx", XLSX, files[1])),
    )


async def deliver(db: Database, mailer: Mailer, outgoing: RendicontoMail) -> str:
    """E-mail a rendiconto recorded as `sending` (its transaction committed), then record the outcome
    in a short transaction of its own: sent, kept (no mail server) or failed with the reason, which
    the next daily run tries again. A failure is not raised: the documents stay downloadable."""
    status, error = "sent", ""
    try:
        await mailer.send(outgoing.mail)
    except Exception as exc:
        log.exception("rendiconto e-mail failed")
        status, error = "failed", f"Invio non riuscito: {type(exc).__name__}."
    else:
        if not mailer.delivers:  # the development platform keeps the message in a folder
            status = "kept"
            error = "Non inviato: nessun server di posta configurato (messaggio conservato in locale)."

    async def record(uow: UnitOfWork) -> None:
        await aggio_repo.mark_emailed(uow, outgoing.tenant_id, outgoing.rendiconto_id, status, error)

    await db.run(outgoing.tenant_id, record, correlation_id=f"rendiconto-{outgoing.rendiconto_id}")
    return status


async def _retry_failed(
    uow: UnitOfWork, ctx: ServiceContext, tenant_id: uuid.UUID, month: date, ente: str
) -> RendicontoMail | None:
    """The month's newest rendiconto again, when its e-mail failed or was left `sending` past its lease
    (`domain.SENDING_LEASE`) by a run that died: claimed (`sending`, one attempt more) so that only one
    run sends it; its stored documents, not new ones."""
    claimed = await aggio_repo.claim_unsent(uow, tenant_id, month, ctx.clock())
    if claimed is None:
        return None
    files = [await read_all(ctx.storage, tenant_id, key) for key in (claimed.pdf_key, claimed.xlsx_key)]
    return RendicontoMail(tenant_id, claimed.id, _mail(claimed, ente or "Comune", (files[0], files[1])))


def _after_commit(ctx: ServiceContext, outgoing: RendicontoMail, report: str) -> daily.AfterCommit:
    async def then() -> str:
        return f"{report}, e-mail {await deliver(ctx.db, ctx.mailer, outgoing)}"

    return daily.AfterCommit(then)


async def monthly_rendiconto(
    uow: UnitOfWork, ctx: ServiceContext, tenant_id: uuid.UUID, today: date
) -> str | daily.AfterCommit:
    """The reporting daily run's step: from the month's first working day, the previous month's
    rendiconto, once (a Comune without a contract, or whose contract began later, is skipped); its
    e-mail goes after the commit, and one that failed is sent again by the next run."""
    if not rules.rendiconto_due(today):
        return "not due"
    month = rules.previous_month(today)
    saved = in_force(await aggio_repo.contract_versions(uow, tenant_id), month)
    if await aggio_repo.next_version(uow, tenant_id, month) > 1:
        retry = await _retry_failed(uow, ctx, tenant_id, month, saved.ente if saved else "")
        return "done" if retry is None else _after_commit(ctx, retry, "retried")
    if saved is None:
        return "no contract"
    if rules.month_bounds(month)[1] < saved.contract.start_date:
        return "before the contract"
    made = await generate_rendiconto(uow, ctx, tenant_id, month, SYSTEM)
    report = f"generated {made.rendiconto.id}"
    return report if made.mail is None else _after_commit(ctx, made.mail, report)


async def list_rendiconti(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[aggio_repo.Rendiconto]:
    return await aggio_repo.list_rendiconti(uow, tenant_id)


async def open_rendiconto(
    uow: UnitOfWork, storage: ObjectStorage, who: Identity, rendiconto_id: uuid.UUID, kind: str
) -> tuple[aggio_repo.Rendiconto, str, int, str]:
    """A stored rendiconto about to be downloaded (key, size, SHA-256 of `kind`): it must still carry
    the recorded SHA-256; the download is recorded in the access log (it lists taxpayers)."""
    found = await aggio_repo.get_rendiconto(uow, who.tenant_id, rendiconto_id)
    if found is None or kind not in ("pdf", "xlsx"):
        raise NotFound()
    key, size, sha = (
        getattr(found, f"{kind}_key"),
        getattr(found, f"{kind}_size"),
        getattr(found, f"{kind}_sha256"),
    )
    try:
        head = await storage.head(who.tenant_id, key)
    except ObjectNotFound as exc:
        raise NotFound("Il documento non è più disponibile.") from exc
    if head.sha256 != sha or head.size != size:
        log.error("stored rendiconto does not match its record", extra={"fields": {"id": str(found.id)}})
        raise StoredRendicontoCorrupted()
    await repo.access.record(uow, who.tenant_id, who.user_id, f"download_rendiconto_{kind}", found.id)
    return found, key, size, sha


# --- the office's addresses ----------------------------------------------------------------------


def parse_emails(raw: str) -> list[str]:
    """The office's addresses as the aggio page's form gives them (the digests' rule)."""
    return list(domain_digest.check_addresses(raw, field="emails"))


async def office_emails(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[str]:
    """Where the Ufficio tributi receives rendiconti and digests."""
    return await aggio_repo.office_emails(uow, tenant_id)


async def save_office_emails(uow: UnitOfWork, who: Identity, raw: str) -> list[str]:
    emails = parse_emails(raw)
    await aggio_repo.save_office_emails(uow, who.tenant_id, emails, who.user_id)
    return emails
