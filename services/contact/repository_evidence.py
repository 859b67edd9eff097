"""Queries of the evidence attached to a payment the debtor claims (`claim_evidence`)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from services.contact.domain import Outcome
from services.contact.models import claim_evidence, contacts
from services.kernel.db import UnitOfWork


@dataclass(frozen=True)
class Attachment:
    """One file attached to the claim of the call `contact_id`, as stored."""

    id: uuid.UUID
    contact_id: uuid.UUID
    debtor_id: uuid.UUID
    file_name: str
    media_type: str
    size_bytes: int
    sha256: str
    object_key: str
    uploaded_by: str
    uploaded_by_name: str | None
    uploaded_at: datetime


async def lock_claim(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, contact_id: uuid.UUID
) -> int | None:
    """How many files the debtor's claim of the call `contact_id` holds, with the call locked so two
    uploads to it count one after the other; None when it is no such claim of this debtor."""
    c, e = contacts, claim_evidence
    claim = sa.select(c.c.id).where(
        c.c.tenant_id == tenant_id,
        c.c.id == contact_id,
        c.c.debtor_id == debtor_id,
        c.c.outcome == Outcome.GIA_PAGATO.value,
    )
    if (await uow.execute(claim.with_for_update())).first() is None:
        return None
    count = sa.select(sa.func.count()).where(e.c.tenant_id == tenant_id, e.c.contact_id == contact_id)
    return int((await uow.execute(count)).scalar_one())


async def insert_attachment(uow: UnitOfWork, tenant_id: uuid.UUID, attachment: Attachment) -> bool:
    """Store the attachment; False when the same content is attached to that claim already."""
    values = {**dataclasses.asdict(attachment), "tenant_id": tenant_id}
    stmt = (
        insert(claim_evidence)
        .values(**values)
        .on_conflict_do_nothing(constraint="claim_evidence_once")
        .returning(claim_evidence.c.id)
    )
    return (await uow.execute(stmt)).first() is not None


async def attachments_of(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[sa.Row[Any]]:
    """The files attached to the debtor's claims, in upload order (the card)."""
    return list((await uow.execute(OF_DEBTOR, {"tenant": tenant_id, "debtor": debtor_id})).all())


# Built once: the card reads it on every view.
OF_DEBTOR = (
    sa.select(claim_evidence)
    .where(
        claim_evidence.c.tenant_id == sa.bindparam("tenant", type_=sa.Uuid),
        claim_evidence.c.debtor_id == sa.bindparam("debtor", type_=sa.Uuid),
    )
    .order_by(claim_evidence.c.uploaded_at, claim_evidence.c.id)
)


async def attachment(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, attachment_id: uuid.UUID
) -> sa.Row[Any] | None:
    e = claim_evidence
    stmt = sa.select(e).where(e.c.tenant_id == tenant_id, e.c.debtor_id == debtor_id, e.c.id == attachment_id)
    return (await uow.execute(stmt)).first()
