"""Debtors' e-mail, PEC and postal addresses and phones, kept from the ingest events; every function filters
by tenant."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork
from services.payments.models_reconciliation import debtor_contacts

EMAIL_KINDS = ("pec", "email")
# What the payments service keeps of a debtor's contacts: where to write, to post and to text.
KEPT_KINDS = (*EMAIL_KINDS, "address", "phone")


@dataclass(frozen=True)
class EmailRecord:
    """One e-mail, PEC or postal address of a debtor, as ingest registered or updated it."""

    contact_id: uuid.UUID
    debtor_id: uuid.UUID
    kind: str
    address: str
    active: bool


async def keep_emails(uow: UnitOfWork, tenant_id: uuid.UUID, records: Sequence[EmailRecord]) -> None:
    """Store addresses by contact id; one marked wrong (inactive) never comes back active."""
    latest = {r.contact_id: r for r in records if r.kind in KEPT_KINDS}
    if not latest:
        return
    rows = [{"tenant_id": tenant_id, **vars(r)} for r in sorted(latest.values(), key=lambda r: r.contact_id)]
    de = debtor_contacts
    stmt = pg_insert(de).values(rows)
    await uow.execute(
        stmt.on_conflict_do_update(
            index_elements=[de.c.tenant_id, de.c.contact_id],
            set_={
                "debtor_id": stmt.excluded.debtor_id,
                "kind": stmt.excluded.kind,
                "address": stmt.excluded.address,
                "active": de.c.active & stmt.excluded.active,
            },
            where=de.c.tenant_id == tenant_id,
        )
    )


async def active_email(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> str | None:
    """The debtor's address to write to: an active PEC first, else an active e-mail; None if neither."""
    de = debtor_contacts
    pec_first = sa.case((de.c.kind == "pec", 0), else_=1)
    stmt = (
        sa.select(de.c.address)
        .where(de.c.tenant_id == tenant_id, de.c.debtor_id == debtor_id, de.c.active)
        .where(de.c.kind.in_(EMAIL_KINDS), de.c.address != "")
        .order_by(pec_first, de.c.contact_id)
        .limit(1)
    )
    return (await uow.execute(stmt)).scalar_one_or_none()


async def active_phones(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[str]:
    """The debtor's phones not marked wrong, in the order ingest registered them (E.164)."""
    de = debtor_contacts
    stmt = (
        sa.select(de.c.address)
        .where(de.c.tenant_id == tenant_id, de.c.debtor_id == debtor_id, de.c.active)
        .where(de.c.kind == "phone", de.c.address != "")
        .order_by(de.c.contact_id)
    )
    return list((await uow.execute(stmt)).scalars())


async def postal_addresses(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """An active postal address of each debtor that has one (one line: street, postcode, town)."""
    de = debtor_contacts
    stmt = (
        sa.select(de.c.debtor_id, de.c.address)
        .where(de.c.tenant_id == tenant_id, de.c.kind == "address", de.c.active, de.c.address != "")
        .where(de.c.debtor_id.in_(list(debtor_ids)))
        .order_by(de.c.debtor_id, de.c.contact_id)
    )
    found: dict[uuid.UUID, str] = {}
    for row in (await uow.execute(stmt)).all():
        found.setdefault(row.debtor_id, row.address)
    return found
