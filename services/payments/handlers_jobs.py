"""Use cases of the payments worker's jobs: reconciliation imports and the ZIP of notices for postal
mailing, each with its progress; requested by a page or the API, run by the `payments.jobs` consumer."""

from __future__ import annotations

import csv
import io
import tempfile
import uuid
import zipfile
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.contracts import JobRequested
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.storage import ObjectStorage, read_all, tenant_key
from services.payments import (
    domain,
    handlers_flows,
    handlers_notices,
    handlers_reconciliation,
    rendering,
    repository,
    repository_emails,
    repository_jobs,
)

IMPORTS = {"receipts": handlers_reconciliation.import_receipts, "fdr": handlers_flows.import_flow}
KIND_LABELS = {
    "receipts": "Importazione ricevute",
    "fdr": "Importazione flusso di rendicontazione",
    "notices_zip": "Avvisi per la spedizione postale",
}
ROME = ZoneInfo("Europe/Rome")
MOST_NOTICES = 20_000
# Notices fetched, rendered (on every core) and zipped together; progress after each batch.
RENDER_BATCH = 400


async def _request(uow: UnitOfWork, ident: Identity, kind: str, values: dict[str, Any]) -> uuid.UUID:
    job_id = uuid.uuid4()
    await repository_jobs.create_job(
        uow, ident.tenant_id, {"id": job_id, "kind": kind, "created_by": ident.user_id, **values}
    )
    event = JobRequested(job_id=str(job_id), kind=kind)
    await uow.publish([event.envelope(ident.tenant_id, uow.correlation_id)])
    return job_id


async def request_import(uow: UnitOfWork, ident: Identity, kind: str, file_name: str, key: str) -> uuid.UUID:
    """An uploaded receipts file or FdR (already in object storage) waits for the worker."""
    return await _request(uow, ident, kind, {"file_name": file_name, "object_key": key})


async def request_notices_zip(uow: UnitOfWork, ident: Identity, fiscal_codes: list[str] | None) -> uuid.UUID:
    """The notices of a list of taxpayers (or of all those without e-mail) as one ZIP for the post."""
    found = await repository_jobs.positions_for_mailing(uow, ident.tenant_id, fiscal_codes, MOST_NOTICES + 1)
    missing = sorted(set(fiscal_codes or ()) - {r.fiscal_code for r in found})
    if not found:
        named = (
            f" (codici senza importi da pagare fuori da un piano: {', '.join(missing[:10])})"
            if missing
            else ""
        )
        raise DomainError(f"Nessun avviso da preparare per l'elenco indicato{named}.", field="fiscal_codes")
    if len(found) > MOST_NOTICES:
        raise DomainError(
            f"Al massimo {MOST_NOTICES} avvisi per spedizione: dividi l'elenco.", field="fiscal_codes"
        )
    ids = [str(r.id) for r in found]
    request = {"position_ids": ids, "missing": missing}
    return await _request(uow, ident, "notices_zip", {"total": len(ids), "result": request})


async def job_status(uow: UnitOfWork, ident: Identity, job_id: uuid.UUID) -> dict[str, Any]:
    row = await repository_jobs.job(uow, ident.tenant_id, job_id)
    if row is None:
        raise NotFound("Lavorazione non trovata.")
    result = {k: v for k, v in row.result.items() if k != "position_ids"}
    return {
        "id": str(row.id),
        "kind": row.kind,
        "label": KIND_LABELS.get(row.kind, row.kind),
        "file_name": row.file_name,
        "status": row.status,
        "total": row.total,
        "done": row.done,
        "result": result,
        "error": row.error,
        "download": row.kind == "notices_zip" and row.status == "done",
    }


async def zip_of(uow: UnitOfWork, ident: Identity, job_id: uuid.UUID) -> str:
    row = await repository_jobs.job(uow, ident.tenant_id, job_id)
    if row is None or row.kind != "notices_zip" or row.status != "done" or not row.object_key:
        raise NotFound("Archivio non disponibile.")
    await repository.access.record(
        uow, ident.tenant_id, ident.user_id, "download_notices_zip", None, str(job_id)
    )
    return str(row.object_key)


async def run_job(uow: UnitOfWork, tenant_id: uuid.UUID, job_id: uuid.UUID, storage: ObjectStorage) -> None:
    """Run a queued job once; a refused file ends it as failed with its Italian message (nothing of
    it recorded), anything else is left to the consumer's retries."""
    row = await repository_jobs.job(uow, tenant_id, job_id)
    # "running": a retry after a failed attempt (the message is delivered again until handled).
    if row is None or row.status not in ("queued", "running"):
        return
    ident = Identity(row.created_by, row.created_by, tenant_id, "", "", ("operator",), via="job")
    await _progress(uow, tenant_id, job_id, {"status": "running"})
    try:
        if row.kind == "notices_zip":
            values = await _notices_zip(uow, ident, row, storage)
        else:
            counts = await IMPORTS[row.kind](uow, ident, await read_all(storage, tenant_id, row.object_key))
            values = {"result": counts, "done": 1, "total": 1}
    except DomainError as exc:
        values = {"status": "failed", "error": exc.message}
    else:
        values["status"] = "done"
    await repository_jobs.update_job(uow, tenant_id, job_id, {**values, "finished_at": datetime.now(ROME)})


async def _progress(uow: UnitOfWork, tenant_id: uuid.UUID, job_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Progress in a transaction of its own, so the page sees it while the job's is open. The job's
    transaction must not have written the job row yet (it would hold its lock: no `FOR UPDATE`)."""

    async def write(progress: UnitOfWork) -> None:
        await repository_jobs.update_job(progress, tenant_id, job_id, values)

    await uow.db.run(tenant_id, write, uow.correlation_id, aside=True)


async def _notices_zip(uow: UnitOfWork, ident: Identity, row: Any, storage: ObjectStorage) -> dict[str, Any]:
    """A PDF per notice, with the payee's postal address, and an index for the mailing house."""
    position_ids = tuple(uuid.UUID(p) for p in row.result["position_ids"])
    debtors = await _still_due(uow, ident.tenant_id, position_ids)
    still_due = tuple(p for p in position_ids if p in debtors)
    issued = (
        await handlers_notices.issue_notices(uow, ident, still_due, datetime.now(ROME).date())
        if still_due
        else []
    )
    addresses = await repository_emails.postal_addresses(uow, ident.tenant_id, set(debtors.values()))
    index = io.StringIO()
    writer = csv.writer(index, delimiter=";")
    writer.writerow(
        ["file", "codice_fiscale", "nominativo", "indirizzo", "numero_avviso", "importo", "scadenza"]
    )
    with tempfile.TemporaryFile() as spool:
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
            for start in range(0, len(issued), RENDER_BATCH):
                batch = issued[start : start + RENDER_BATCH]
                notices = [
                    replace(
                        await handlers_notices.notice_for(uow, ident, option.nav),
                        payee_address=addresses.get(debtors[option.position_id], "")
                        if option.position_id
                        else "",
                    )
                    for option in batch
                ]
                for number, option, notice, pdf in zip(
                    range(start + 1, start + len(batch) + 1),
                    batch,
                    notices,
                    await rendering.render_many(notices),
                    strict=True,
                ):
                    name = f"{number:05d}_{notice.payee_fiscal_code}_{option.nav}.pdf"
                    archive.writestr(name, pdf)
                    amount, due = (
                        domain.format_cents(option.amount_cents),
                        option.due_date.strftime("%d/%m/%Y"),
                    )
                    row_values = [name, notice.payee_fiscal_code, notice.payee_name, notice.payee_address]
                    writer.writerow([*row_values, option.nav, amount, due])
                await _progress(uow, ident.tenant_id, row.id, {"done": start + len(batch)})
            archive.writestr("elenco.csv", index.getvalue())
        spool.seek(0)
        key = tenant_key(ident.tenant_id, "payments", "jobs", str(row.id), "avvisi.zip")
        await storage.put(ident.tenant_id, key, spool, "application/zip")
    without = sum(1 for o in issued if not (o.position_id and debtors[o.position_id] in addresses))
    result = {
        "notices": len(issued),
        "skipped": len(position_ids) - len(still_due),
        "missing": row.result.get("missing", []),
        "without_address": without,
    }
    return {"object_key": key, "done": len(issued), "total": len(issued), "result": result}


async def _still_due(
    uow: UnitOfWork, tenant_id: uuid.UUID, ids: tuple[uuid.UUID, ...]
) -> dict[uuid.UUID, uuid.UUID]:
    """The positions still due (those paid since the request are left out), with their debtor."""
    rows = await repository.positions_by_ids(uow, tenant_id, ids)
    return {r.id: r.debtor_id for r in rows if domain.residual_cents(r.amount_cents, r.paid_cents) > 0}


async def fail_job(uow: UnitOfWork, tenant_id: uuid.UUID, job_id: uuid.UUID) -> None:
    message = "La lavorazione non è riuscita per un errore interno: riprova o contatta l'assistenza."
    values = {"status": "failed", "error": message, "finished_at": datetime.now(ROME)}
    await repository_jobs.update_job(uow, tenant_id, job_id, values)
