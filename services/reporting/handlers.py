"""Use cases of the reporting service: projections of the other services' events, the dashboard, the
relazione di scarico and the settings. Each runs in the unit of work its entrypoint owns."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.contracts import UNANSWERED_OUTCOMES, PositionFact
from services.kernel.db import Database, UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.storage import ObjectNotFound, ObjectStorage, tenant_key
from services.reporting import domain, pdf
from services.reporting import repository as repo
from services.reporting import repository_ledger as ledger

log = logging.getLogger(__name__)
PDF_FILENAME = "relazione-scarico.pdf"


class StoredReportCorrupted(DomainError):
    status = 500

    def __init__(self) -> None:
        super().__init__(
            "Il documento archiviato non corrisponde all'impronta registrata: contattare l'assistenza."
        )


@dataclass(frozen=True)
class Dashboard:
    summary: repo.Summary
    by_type: list[domain.GroupTotals]
    aggio_rate_bp: int
    reports: list[repo.ReportRecord]

    @property
    def aggio_cents(self) -> int:
        return domain.aggio_cents(self.summary.totals.collected_cents, self.aggio_rate_bp)


# --- projections ---------------------------------------------------------------------------------


async def register_positions(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    batch_id: str,
    facts: tuple[PositionFact, ...],
    registered_at: datetime | None = None,
) -> None:
    """New positions add to the assigned amount; positions already known are ignored."""
    inserted = set(await repo.insert_positions(uow, tenant_id, batch_id, facts, registered_at))
    if not inserted:
        return
    assigned = sum(f.amount_cents for f in facts if uuid.UUID(f.position_id) in inserted)
    await repo.catch_up_collected(uow, tenant_id, sorted(inserted))
    await repo.bump_totals(uow, tenant_id, assigned_cents=assigned, positions=len(inserted))


async def register_payment(uow: UnitOfWork, tenant_id: uuid.UUID, payment: domain.Payment) -> None:
    """A payment counts once, keyed by its payment id, even if redelivered in a new envelope."""
    if not await repo.insert_payment(uow, tenant_id, payment):
        return
    await repo.credit_position(uow, tenant_id, payment.position_id, payment.amount_cents)
    await repo.bump_totals(uow, tenant_id, collected_cents=payment.amount_cents, payments=1)


async def register_outcome(uow: UnitOfWork, tenant_id: uuid.UUID, outcome: domain.Outcome) -> None:
    """An outcome counts once, for the debtor too (attempts, conversations, last outcome); a debtor's
    first attempt counts one more debtor contacted."""
    if not await repo.insert_outcome(uow, tenant_id, outcome):
        return
    answered = outcome.outcome not in UNANSWERED_OUTCOMES
    first = await ledger.note_outcome(
        uow, tenant_id, outcome.debtor_id, outcome.outcome, outcome.recorded_at, answered
    )
    await repo.bump_totals(uow, tenant_id, outcomes=1, debtors_contacted=int(first))


async def register_batch(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Keep a completed batch's counts for the dashboard."""
    await repo.insert_batch(uow, tenant_id, values)


# --- dashboard and settings ------------------------------------------------------------------------


async def dashboard(uow: UnitOfWork, tenant_id: uuid.UUID, with_reports: bool = True) -> Dashboard:
    """The campaign's totals, by revenue type, the aggio and the reports generated so far."""
    return Dashboard(
        await repo.summary(uow, tenant_id),
        await repo.totals_by_type(uow, tenant_id),
        await repo.aggio_rate_bp(uow, tenant_id),
        await repo.list_reports(uow, tenant_id) if with_reports else [],
    )


async def aggio_rate(uow: UnitOfWork, tenant_id: uuid.UUID) -> int:
    """The Comune's aggio rate in basis points."""
    return await repo.aggio_rate_bp(uow, tenant_id)


async def save_aggio_rate(uow: UnitOfWork, ident: Identity, rate_bp: int) -> None:
    """Change the Comune's aggio rate."""
    await repo.save_aggio_rate(uow, ident.tenant_id, rate_bp, ident.user_id)


async def list_reports(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[repo.ReportRecord]:
    """The reports generated for the Comune, newest first."""
    return await repo.list_reports(uow, tenant_id)


# --- relazione di scarico ------------------------------------------------------------------------


async def generate_report(db: Database, storage: ObjectStorage, who: Identity) -> repo.ReportRecord:
    """Read the projections, render the PDF, store it, then record key, size and SHA-256.

    Two transactions of its own (`db.run`): the object is written before the row, so a row never
    points at a missing object, and the PDF is rendered between them, so no connection is held
    while reportlab works.
    """
    tenant, report_id, now = who.tenant_id, uuid.uuid4(), datetime.now(UTC)

    async def snapshot(uow: UnitOfWork) -> tuple[list[domain.Position], int, datetime | None]:
        return (
            await repo.all_positions(uow, tenant),
            await repo.aggio_rate_bp(uow, tenant),
            await repo.first_registration(uow, tenant),
        )

    positions, rate, first = await db.run(tenant, snapshot)
    start = first.astimezone(domain.ROME).date() if first else None
    data = domain.build_report(report_id, who.tenant_name, now, who.display_name, start, rate, positions)
    body = await asyncio.to_thread(pdf.render, data)
    key = tenant_key(tenant, "reporting", str(report_id), PDF_FILENAME)
    stored = await storage.put_bytes(tenant, key, body, "application/pdf")
    record = repo.ReportRecord(
        id=report_id,
        kind=domain.REPORT_KIND,
        object_key=stored.key,
        sha256=stored.sha256,
        size=stored.size,
        generated_at=now,
        generated_by=who.display_name,
        assigned_cents=data.totals.assigned_cents,
        collected_cents=data.totals.collected_cents,
        residual_cents=data.totals.residual_cents,
        aggio_cents=data.aggio_cents,
        aggio_rate_bp=data.aggio_rate_bp,
    )
    await db.run(tenant, lambda uow: repo.insert_report(uow, tenant, record))
    log.info("report generated", extra={"fields": {"report_id": str(report_id), "size": stored.size}})
    return record


async def open_report(
    uow: UnitOfWork, storage: ObjectStorage, who: Identity, report_id: uuid.UUID
) -> repo.ReportRecord:
    """A stored report about to be downloaded: it must still carry the recorded SHA-256 and size;
    the download is recorded in the access log."""
    record = await repo.get_report(uow, who.tenant_id, report_id)
    if record is None:
        raise NotFound()
    try:
        head = await storage.head(who.tenant_id, record.object_key)
    except ObjectNotFound as exc:
        raise NotFound("Il documento non è più disponibile.") from exc
    if head.sha256 != record.sha256 or head.size != record.size:
        log.error("stored report does not match its record", extra={"fields": {"report_id": str(record.id)}})
        raise StoredReportCorrupted()
    await repo.access.record(uow, who.tenant_id, who.user_id, "download_relazione", record.id)
    return record
