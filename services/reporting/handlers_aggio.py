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

from services.contracts import REVENUE_TYPES
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.mail import Attachment, Mail, Mailer
from services.kernel.storage import ObjectNotFound, ObjectStorage, tenant_key
from services.kernel.web import ServiceContext
from services.reporting import domain_aggio as rules
from services.reporting import domain_digest
from services.reporting import rendiconto as docs
from services.reporting import repository as repo
from services.reporting import repository_aggio as aggio_repo
from services.reporting.domain_aggio import AggioResult, Contract

log = logging.getLogger(__name__)
SYSTEM = "sistema"
PDF, XLSX = "application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class PeriodAggio:
    start: date
    end: date
    contract: Contract
    result: AggioResult


class StoredRendicontoCorrupted(DomainError):
    status = 500

    def __init__(self) -> None:
        super().__init__(
            "Il documento archiviato non corrisponde all'impronta registrata: contattare l'assistenza."
        )


# --- contract ------------------------------------------------------------------------------------


async def contract_of(uow: UnitOfWork, tenant_id: uuid.UUID) -> aggio_repo.SavedContract | None:
    """The Comune's aggio contract, if the firm's admin has entered one."""
    return await aggio_repo.get_contract(uow, tenant_id)


async def save_contract(uow: UnitOfWork, who: Identity, fields: dict[str, str], today: date) -> Contract:
    """Validate the contract form and replace the Comune's contract."""
    contract = rules.parse_contract(fields, REVENUE_TYPES, today)
    await aggio_repo.save_contract(uow, who.tenant_id, contract, who.tenant_name, who.user_id)
    return contract


async def _contract_or_refuse(uow: UnitOfWork, tenant_id: uuid.UUID) -> Contract:
    saved = await aggio_repo.get_contract(uow, tenant_id)
    if saved is None:
        raise DomainError(
            "Il contratto dell'aggio di questo Comune non è ancora stato inserito.", field="contract"
        )
    return saved.contract


# --- the aggio of a period -----------------------------------------------------------------------


async def period_aggio(uow: UnitOfWork, tenant_id: uuid.UUID, start: date, end: date) -> PeriodAggio:
    """The contract applied to what was collected in [start, end], net of refunds and revocations."""
    contract = await _contract_or_refuse(uow, tenant_id)
    bases = await aggio_repo.bases(uow, tenant_id, start, end)
    return PeriodAggio(start, end, contract, rules.compute(contract, bases))


@dataclass(frozen=True)
class DashboardAggio:
    label: str  # "18,50%" for a flat contract, else how it is computed
    cents: int


async def dashboard_aggio(uow: UnitOfWork, tenant_id: uuid.UUID, today: date) -> DashboardAggio | None:
    """What the dashboard shows as the aggio on what was collected: the contract's, month by month
    since the contract started (as the rendiconti invoice it); None while there is no contract."""
    saved = await aggio_repo.get_contract(uow, tenant_id)
    if saved is None:
        return None
    c = saved.contract
    label = rules.format_percent(c.bands[0].rate_bp) if c.basis == "flat" else rules.BASIS_LABELS[c.basis]
    months = await aggio_repo.monthly_bases(uow, tenant_id, c.start_date, today)
    return DashboardAggio(label, sum(rules.compute(c, bases).aggio_cents for bases in months.values()))


def period_json(period: PeriodAggio) -> dict[str, Any]:
    r = period.result
    return {
        "period_from": period.start.isoformat(),
        "period_to": period.end.isoformat(),
        "contract": {
            "reference": period.contract.reference,
            "basis": period.contract.basis,
            "vat_applies": period.contract.vat_applies,
            "vat_rate_bp": r.vat_rate_bp,
        },
        "collected_cents": r.totals.collected_cents,
        "refunded_cents": r.totals.refunded_cents,
        "revoked_cents": r.totals.revoked_cents,
        "taxable_cents": r.totals.taxable_cents,
        "aggio_cents": r.aggio_cents,
        "vat_cents": r.vat_cents,
        "invoice_cents": r.invoice_cents,
        "by_revenue_type": [
            {
                "revenue_type": line.revenue_type,
                "collected_cents": line.base.collected_cents,
                "refunded_cents": line.base.refunded_cents,
                "revoked_cents": line.base.revoked_cents,
                "taxable_cents": line.base.taxable_cents,
                "aggio_cents": line.aggio_cents,
            }
            for line in r.lines
        ],
        # Not separated in payments today: see the aggio page.
        "charges_c803_cents": None,
    }


# --- rendiconto ----------------------------------------------------------------------------------


def _contract_json(contract: Contract) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(contract), default=str))  # type: ignore[no-any-return]


async def generate_rendiconto(
    uow: UnitOfWork, ctx: ServiceContext, tenant_id: uuid.UUID, month: date, by: str, ente: str = ""
) -> aggio_repo.Rendiconto:
    """Compute the month, render PDF and XLSX, store both with their SHA-256 (a new version each
    time, never overwritten), record it, then e-mail it to the office's addresses."""
    saved = await aggio_repo.get_contract(uow, tenant_id)
    if saved is None:
        raise DomainError(
            "Il contratto dell'aggio di questo Comune non è ancora stato inserito.", field="month"
        )
    start, end = rules.month_bounds(month)
    result = rules.compute(saved.contract, await aggio_repo.bases(uow, tenant_id, start, end))
    version = await aggio_repo.next_version(uow, tenant_id, start)
    data = docs.RendicontoData(
        ente or saved.ente or "Comune",
        start,
        version,
        saved.contract,
        result,
        await aggio_repo.movements(uow, tenant_id, start, end),
        datetime.now(UTC),
        by,
    )
    pdf, xlsx = await asyncio.gather(
        asyncio.to_thread(docs.render_pdf, data), asyncio.to_thread(docs.render_xlsx, data)
    )
    rendiconto_id, stem = uuid.uuid4(), docs.file_stem(start, version)
    stored = {}
    for kind, body, media in (("pdf", pdf, PDF), ("xlsx", xlsx, XLSX)):
        key = tenant_key(tenant_id, "reporting", "rendiconti", str(rendiconto_id), f"{stem}.{kind}")
        stored[kind] = await ctx.storage.put_bytes(tenant_id, key, body, media)
    t = result.totals
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
    }
    await aggio_repo.insert_rendiconto(uow, tenant_id, values)
    to = await aggio_repo.office_emails(uow, tenant_id)
    error = await _send(ctx.mailer, to, data, (pdf, xlsx))
    await aggio_repo.mark_emailed(uow, tenant_id, rendiconto_id, to, error)
    log.info(
        "rendiconto generated", extra={"fields": {"rendiconto_id": str(rendiconto_id), "month": str(start)}}
    )
    found = await aggio_repo.get_rendiconto(uow, tenant_id, rendiconto_id)
    assert found is not None
    return found


async def _send(mailer: Mailer, to: list[str], data: docs.RendicontoData, files: tuple[bytes, bytes]) -> str:
    """E-mail the rendiconto; a failure is recorded on it (shown on the page), not raised: the
    documents stay stored and downloadable."""
    if not to:
        return "Nessun indirizzo dell'Ufficio tributi: rendiconto non inviato."
    stem = docs.file_stem(data.month, data.version)
    r = data.result
    text = (
        f"Rendiconto dell'aggio di {docs.month_label(data.month)} per {data.ente} (versione {data.version}).\n\n"
        f"Base imponibile: {rules.euro(r.totals.taxable_cents)}\nAggio: {rules.euro(r.aggio_cents)}\n"
        f"IVA: {rules.euro(r.vat_cents)}\nTotale da fatturare: {rules.euro(r.invoice_cents)}\n\n"
        "In allegato il rendiconto in PDF e in XLSX con l'elenco dei movimenti.\n"
    )
    mail = Mail(
        to=", ".join(to),
        subject=f"{data.ente}: rendiconto dell'aggio di {docs.month_label(data.month)}",
        text=text,
        attachments=(Attachment(f"{stem}.pdf", PDF, files[0]), Attachment(f"{stem}.xlsx", XLSX, files[1])),
    )
    try:
        await mailer.send(mail)
    except Exception as exc:
        log.exception("rendiconto e-mail failed")
        return f"Invio non riuscito: {type(exc).__name__}."
    if not mailer.delivers:  # the development platform keeps the message in a folder
        return "Non inviato: nessun server di posta configurato (messaggio conservato in locale)."
    return ""


async def monthly_rendiconto(uow: UnitOfWork, ctx: ServiceContext, tenant_id: uuid.UUID, today: date) -> str:
    """The reporting daily run's step: from the month's first working day, the previous month's
    rendiconto, once (a Comune without a contract, or whose contract began later, is skipped)."""
    if not rules.rendiconto_due(today):
        return "not due"
    month = rules.previous_month(today)
    if await aggio_repo.next_version(uow, tenant_id, month) > 1:
        return "done"
    saved = await aggio_repo.get_contract(uow, tenant_id)
    if saved is None:
        return "no contract"
    if rules.month_bounds(month)[1] < saved.contract.start_date:
        return "before the contract"
    made = await generate_rendiconto(uow, ctx, tenant_id, month, SYSTEM)
    return f"generated {made.id}"


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
