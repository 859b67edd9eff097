"""Use cases of the evidence of a payment the debtor claims: the receipt, F24 or bank transfer
they send is attached to the call where they said it (`AlreadyPaidEvidenceAttached` to the Ufficio
tributi), shown on the card, and each download is recorded in the access log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.contact import domain_evidence, repository, repository_evidence
from services.contact.repository_evidence import Attachment
from services.contracts import AlreadyPaidEvidenceAttached
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, NotFound
from services.kernel.identity import Identity


@dataclass(frozen=True)
class StoredFile:
    """An evidence file checked and written to the object storage (the view did both)."""

    key: str
    name: str
    media_type: str
    size: int
    sha256: str


async def attach(
    uow: UnitOfWork,
    ident: Identity,
    debtor_id: uuid.UUID,
    contact_id: uuid.UUID,
    files: list[StoredFile],
    now: datetime,
) -> list[uuid.UUID]:
    """Attach the files to the debtor's claim made in the call `contact_id`; one event each.
    Refused in Italian when it is no claim of this debtor, over the number of files, or a file is
    attached to it already."""
    already = await repository_evidence.lock_claim(uow, ident.tenant_id, debtor_id, contact_id)
    if already is None:
        raise NotFound("Dichiarazione di pagamento non trovata tra quelle del contribuente.")
    domain_evidence.check_count(len(files), already)
    attached = []
    for stored in files:
        one = _attachment(ident, debtor_id, contact_id, stored, now)
        if not await repository_evidence.insert_attachment(uow, ident.tenant_id, one):
            raise Conflict(
                f"{stored.name}: questo file è già allegato alla dichiarazione.", field=domain_evidence.FIELD
            )
        attached.append(one)
    await uow.publish([_event(a).envelope(ident.tenant_id, uow.correlation_id) for a in attached])
    detail = ", ".join(f.name for f in files)
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "attach_evidence", debtor_id, detail)
    return [a.id for a in attached]


def _attachment(
    ident: Identity, debtor_id: uuid.UUID, contact_id: uuid.UUID, stored: StoredFile, now: datetime
) -> Attachment:
    return Attachment(
        id=uuid.uuid4(),
        contact_id=contact_id,
        debtor_id=debtor_id,
        file_name=stored.name,
        media_type=stored.media_type,
        size_bytes=stored.size,
        sha256=stored.sha256,
        object_key=stored.key,
        uploaded_by=ident.user_id,
        uploaded_by_name=ident.display_name,
        uploaded_at=now,
    )


def _event(a: Attachment) -> AlreadyPaidEvidenceAttached:
    return AlreadyPaidEvidenceAttached(
        attachment_id=str(a.id),
        contact_id=str(a.contact_id),
        debtor_id=str(a.debtor_id),
        file_name=a.file_name,
        media_type=a.media_type,
        size_bytes=a.size_bytes,
        sha256=a.sha256,
        object_key=a.object_key,
        uploaded_by=a.uploaded_by,
        uploaded_at=a.uploaded_at.isoformat(),
    )


async def evidence_file(
    uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID, attachment_id: uuid.UUID
) -> Any:
    """One attached file, for download; reading it is recorded in the access log."""
    found = await repository_evidence.attachment(uow, ident.tenant_id, debtor_id, attachment_id)
    if found is None:
        raise NotFound("Ricevuta non trovata tra quelle del contribuente.")
    await repository.access.record(
        uow, ident.tenant_id, ident.user_id, "download_evidence", debtor_id, f"{found.id} {found.file_name}"
    )
    return found
