"""The end of a Comune's mandate, in the reporting service: the firm's platform admin closes it (the
Comune turns read-only everywhere, the final relazione is made, payments hands over its archive),
then asks for the erasure once the Comune has its package; the certificate is signed when the four
services have reported what they erased. See `services.mandate` for the erasure itself."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from services.contracts_mandate import ERASING_SERVICES, ErasureRequested, MandateClosed
from services.kernel.db import Database, UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.storage import ObjectStorage, tenant_key
from services.mandate import Erasure, erase, record_closure
from services.reporting import domain_mandate as rules
from services.reporting import handlers_relazione, repository_relazione
from services.reporting import repository_mandate as store
from services.reporting.domain_relazione_frame import Request as ReportRequest
from services.reporting.models import metadata
from services.reporting.models_mandate import KEPT
from services.reporting.pdf_mandate import certificate_pdf
from services.reporting.signing import Signer

ERASURE = Erasure(service="reporting", metadata=metadata, prefixes=("reporting",), keep=KEPT)
PDF = "application/pdf"


async def mandate(uow: UnitOfWork, tenant_id: uuid.UUID) -> Any:
    return await store.get(uow, tenant_id)


async def close(uow: UnitOfWork, who: Identity, reason: str, confirmed: bool, today: date) -> None:
    """Close the mandate: read-only from now, the final relazione asked, the others told."""
    if await store.get(uow, who.tenant_id, lock=True) is not None:
        raise DomainError("Il mandato di questo Comune è già chiuso.", field="reason")
    text = rules.check_close(reason, confirmed)
    await record_closure(uow, who.tenant_id)
    first = await store.first_batch_day(uow, who.tenant_id)
    period_from = min(first, today) if first else today
    report_id = await handlers_relazione.request_report(uow, who, ReportRequest("final", period_from, today))
    values = {
        "comune_name": who.tenant_name,
        "closed_on": today,
        "closed_by": who.display_name,
        "reason": text,
        "final_report_id": report_id,
    }
    await store.create(uow, who.tenant_id, values)
    event = MandateClosed(closed_on=today.isoformat(), closed_by=who.display_name, reason=text)
    await uow.publish([event.envelope(who.tenant_id, uow.correlation_id)])


async def package(uow: UnitOfWork, tenant_id: uuid.UUID, found: Any) -> rules.Package:
    """What the Comune receives: the final relazione's state and files, and the services' files."""
    files: list[dict[str, Any]] = [dict(r._mapping) for r in await store.files(uow, tenant_id)]
    status = "missing"
    if found is not None and found.final_report_id is not None:
        report = await repository_relazione.get_report(uow, tenant_id, found.final_report_id)
        if report is not None and report.status == "failed":  # asked again since, on its page
            done = [r for r in await repository_relazione.list_reports(uow, tenant_id) if r.kind == "final"]
            report = next(
                (r for r in done if r.status == "done" and r.requested_at > report.requested_at), report
            )
        if report is not None:
            status = report.status
            for f in report.files:
                name = f"relazione-finale.{f.format}"
                files.append(
                    {"service": "reporting", "name": name, "object_key": f.object_key, "sha256": f.sha256,
                     "size": f.size, "media_type": f.format, "report_id": report.id}
                )  # fmt: skip
    return rules.Package(status, tuple(files))


async def request_erasure(uow: UnitOfWork, who: Identity, received: bool) -> None:
    found = await store.get(uow, who.tenant_id, lock=True)
    if found is None:
        raise DomainError("Il mandato di questo Comune non è chiuso.", field="received")
    handed = await package(uow, who.tenant_id, found)
    rules.check_erasure(found.state, handed, received)
    kept = [
        {"servizio": f["service"], "nome": f["name"], "sha256": f["sha256"], "byte": int(f["size"])}
        for f in handed.files
    ]
    now = datetime.now(UTC)
    values = {
        "state": "erasing",
        "erasure_requested_by": who.display_name,
        "erasure_requested_at": now,
        "final_report_files": kept,
    }
    await store.update(uow, who.tenant_id, values)
    event = ErasureRequested(requested_by=who.display_name, requested_at=now.isoformat())
    await uow.publish([event.envelope(who.tenant_id, uow.correlation_id)])


async def handover_ready(
    uow: UnitOfWork, tenant_id: uuid.UUID, service: str, files: list[dict[str, Any]]
) -> None:
    await store.add_files(uow, tenant_id, service, files)


async def erase_own(uow: UnitOfWork, db: Database, storage: ObjectStorage, tenant_id: uuid.UUID) -> None:
    closure = await uow.closure()
    if closure is not None and closure.erased_at is not None:
        return
    await erase(uow, db, storage, tenant_id, ERASURE)


async def service_erased(
    uow: UnitOfWork, tenant_id: uuid.UUID, report: dict[str, Any], storage: ObjectStorage, secret: str
) -> None:
    """Record one service's report; with all four in, sign and store the certificate."""
    await store.add_erasure(uow, tenant_id, str(report["service"]), report)
    found = await store.get(uow, tenant_id, lock=True)
    if found is None or found.state != "erasing":
        return
    reports = await store.erasures(uow, tenant_id)
    if rules.missing_services(list(reports)):
        return
    signer = Signer(secret)
    content = rules.certificate(
        dict(found._mapping), found.final_report_files, reports, signer.public_key, datetime.now(UTC)
    )
    data = rules.canonical(content)
    signature = signer.sign(data)
    pdf = certificate_pdf(content, signature, data)
    key = tenant_key(tenant_id, "certificato", f"cancellazione-{uuid.uuid4()}.pdf")
    stored = await storage.put_bytes(tenant_id, key, pdf, PDF)
    values = {
        "state": "erased",
        "erased_at": datetime.fromisoformat(content["cancellazione"]["completata_il"]),
        "certificate": data.decode(),
        "signature": signature,
        "certificate_pdf_key": stored.key,
        "certificate_pdf_sha256": stored.sha256,
    }
    await store.update(uow, tenant_id, values)


def certificate_json(found: Any) -> bytes:
    """The certificate as a JSON file: its content and the signature of its canonical bytes."""
    if found is None or found.certificate is None:
        raise NotFound("Il certificato di cancellazione non è ancora stato emesso.")
    document = {"certificato": json.loads(found.certificate), "firma": found.signature}
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def services_reported(reports: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(s, s in reports) for s in ERASING_SERVICES]
