"""Queries of debtors and their contacts: the debtor page, manual entries, tracing files, reports.

Every function takes the tenant explicitly and filters by it (RLS also does).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.ingest.domain_contacts import ContactDatum
from services.ingest.models import batch_rows, contacts, debtors, positions
from services.kernel.db import UnitOfWork


async def get_debtor(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> sa.Row[Any] | None:
    stmt = sa.select(debtors).where(debtors.c.tenant_id == tenant_id, debtors.c.id == debtor_id)
    return (await uow.execute(stmt)).first()


async def add_contact(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    debtor_id: uuid.UUID,
    datum: ContactDatum,
    source: str,
    found_on: Any,
    entered_by: str,
    confidence: int,
) -> sa.Row[Any] | None:
    """Insert a contact datum; None when the debtor already has it (active or marked wrong)."""
    stmt = (
        pg_insert(contacts)
        .values(
            tenant_id=tenant_id,
            debtor_id=debtor_id,
            kind=datum.kind,
            value=datum.value,
            source=source,
            found_on=found_on,
            entered_by=entered_by,
            confidence=confidence,
        )
        .on_conflict_do_nothing(constraint="contacts_datum")
        .returning(contacts)
    )
    return (await uow.execute(stmt)).first()


@dataclass(frozen=True)
class NewContact:
    """A contact datum to add to a debtor, with its provenance (`add_contacts`)."""

    debtor_id: uuid.UUID
    datum: ContactDatum
    source: str
    found_on: date
    confidence: int


# Only for debtors of the tenant (the contacts table has no foreign key: migration 0006).
_ADD_CONTACTS = f"""
    INSERT INTO ingest.contacts (tenant_id, debtor_id, kind, value, source, found_on, entered_by, confidence)
    SELECT :tenant_id, d.id, u.kind, u.value, u.source, u.found_on, :entered_by, u.confidence
    FROM unnest(CAST(:debtor_ids AS uuid[]), CAST(:kinds AS text[]), CAST(:values AS text[]),
                CAST(:sources AS text[]), CAST(:found_ons AS date[]), CAST(:confidences AS smallint[]))
         AS u(debtor_id, kind, value, source, found_on, confidence)
    JOIN ingest.debtors d ON d.tenant_id = :tenant_id AND d.id = u.debtor_id
    ORDER BY d.id, u.kind, u.value
    ON CONFLICT ON CONSTRAINT contacts_datum DO NOTHING
    RETURNING {", ".join(c.name for c in contacts.c)}
"""
CONTACTS_PER_STATEMENT = 10_000


def _by_debtor(contacts: list[NewContact], size: int) -> Iterator[list[NewContact]]:
    """`contacts` (sorted by debtor) in parts of about `size`, a debtor's contacts all in one part:
    within a statement the database orders them by kind and value in its own collation."""
    part: list[NewContact] = []
    for contact in contacts:
        if len(part) >= size and contact.debtor_id != part[-1].debtor_id:
            yield part
            part = []
        part.append(contact)
    if part:
        yield part


async def add_contacts(
    uow: UnitOfWork, tenant_id: uuid.UUID, entered_by: str, new: Sequence[NewContact]
) -> list[sa.Row[Any]]:
    """Insert many contact data at once (a tracing file); returns those inserted, in the order
    given: a datum the debtor already has (active or marked wrong), or given twice, is skipped
    (the first one given is kept).

    They are inserted in (debtor, kind, value) order, the order in which a batch inserts its
    contacts, so that two transactions adding the same data wait for each other in one direction
    (uuid order is byte order in PostgreSQL too)."""
    order = {(c.debtor_id, c.datum.kind, c.datum.value): n for n, c in reversed(list(enumerate(new)))}
    firsts = sorted((new[n] for n in order.values()), key=lambda c: c.debtor_id.bytes)
    inserted: list[sa.Row[Any]] = []
    for part in _by_debtor(firsts, CONTACTS_PER_STATEMENT):
        params = {
            "tenant_id": tenant_id,
            "entered_by": entered_by,
            "debtor_ids": [c.debtor_id for c in part],
            "kinds": [c.datum.kind for c in part],
            "values": [c.datum.value for c in part],
            "sources": [c.source for c in part],
            "found_ons": [c.found_on for c in part],
            "confidences": [c.confidence for c in part],
        }
        inserted.extend(await uow.execute(sa.text(_ADD_CONTACTS).columns(*contacts.c), params))
    return sorted(inserted, key=lambda r: order[(r.debtor_id, r.kind, r.value)])


async def debtors_by_fiscal_code(
    uow: UnitOfWork, tenant_id: uuid.UUID, codes: Sequence[str]
) -> dict[str, sa.Row[Any]]:
    stmt = sa.select(debtors).where(
        debtors.c.tenant_id == tenant_id, debtors.c.fiscal_code == sa.func.any(sa.bindparam("codes"))
    )
    return {r.fiscal_code: r for r in await uow.execute(stmt, {"codes": list(set(codes))})}


async def deactivate_contact(
    uow: UnitOfWork, tenant_id: uuid.UUID, contact_id: uuid.UUID, by: str
) -> sa.Row[Any] | None:
    stmt = (
        sa.update(contacts)
        .where(contacts.c.tenant_id == tenant_id, contacts.c.id == contact_id, contacts.c.active)
        .values(active=False, wrong=True, deactivated_by=by, deactivated_at=sa.func.now())
        .returning(contacts)
    )
    return (await uow.execute(stmt)).first()


async def debtor_contacts(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[sa.Row[Any]]:
    stmt = (
        sa.select(contacts)
        .where(contacts.c.tenant_id == tenant_id, contacts.c.debtor_id == debtor_id)
        .order_by(contacts.c.active.desc(), contacts.c.kind, contacts.c.created_at)
    )
    return list((await uow.execute(stmt)).all())


async def active_phones_of(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """The active phone numbers of these debtors, most trusted first (debtors without: absent)."""
    stmt = (
        sa.select(contacts.c.debtor_id, contacts.c.value)
        .where(
            contacts.c.tenant_id == tenant_id,
            contacts.c.debtor_id == sa.func.any(sa.bindparam("debtor_ids")),
            contacts.c.active,
            contacts.c.kind == "phone",
        )
        .order_by(contacts.c.debtor_id, contacts.c.confidence.desc(), contacts.c.created_at)
    )
    phones: dict[uuid.UUID, list[str]] = {}
    for row in await uow.execute(stmt, {"debtor_ids": list(debtor_ids)}):
        phones.setdefault(row.debtor_id, []).append(row.value)
    return phones


async def debtor_positions(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[sa.Row[Any]]:
    stmt = (
        sa.select(positions)
        .where(positions.c.tenant_id == tenant_id, positions.c.debtor_id == debtor_id)
        .order_by(positions.c.year, positions.c.revenue_type, positions.c.act_number)
    )
    return list((await uow.execute(stmt)).all())


async def tracing_queue(
    uow: UnitOfWork, tenant_id: uuid.UUID, limit: int = 200, offset: int = 0
) -> list[sa.Row[Any]]:
    """Debtors without a usable phone, those with the most money due first."""
    due = (
        sa.select(sa.func.coalesce(sa.func.sum(positions.c.amount_cents), 0))
        .where(positions.c.tenant_id == tenant_id, positions.c.debtor_id == debtors.c.id)
        .scalar_subquery()
    )
    stmt = (
        sa.select(
            debtors.c.id, debtors.c.fiscal_code, debtors.c.name, debtors.c.grade, due.label("due_cents")
        )
        .where(debtors.c.tenant_id == tenant_id, debtors.c.grade != "phone")
        .order_by(due.desc(), debtors.c.fiscal_code)
        .limit(limit)
        .offset(offset)
    )
    return list((await uow.execute(stmt)).all())


async def grade_counts(uow: UnitOfWork, tenant_id: uuid.UUID) -> dict[str, int]:
    stmt = (
        sa.select(debtors.c.grade, sa.func.count())
        .where(debtors.c.tenant_id == tenant_id)
        .group_by(debtors.c.grade)
    )
    result: Any = await uow.execute(stmt)
    return {str(key): int(count) for key, count in result}


async def contact_counts(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[sa.Row[Any]]:
    """Contacts by source and kind, active or marked wrong: what was found and by whom."""
    stmt = (
        sa.select(
            contacts.c.source,
            contacts.c.kind,
            sa.func.count().filter(contacts.c.active).label("active"),
            sa.func.count().filter(contacts.c.wrong).label("wrong"),
        )
        .where(contacts.c.tenant_id == tenant_id)
        .group_by(contacts.c.source, contacts.c.kind)
        .order_by(contacts.c.source, contacts.c.kind)
    )
    return list((await uow.execute(stmt)).all())


async def traced_contacts(uow: UnitOfWork, tenant_id: uuid.UUID, limit: int = 5000) -> list[sa.Row[Any]]:
    stmt = (
        sa.select(contacts, debtors.c.fiscal_code, debtors.c.name)
        .join(debtors, debtors.c.id == contacts.c.debtor_id)
        .where(contacts.c.tenant_id == tenant_id, contacts.c.source != "comune")
        .order_by(contacts.c.created_at, debtors.c.fiscal_code, contacts.c.kind)
        .limit(limit)
    )
    return list((await uow.execute(stmt)).all())


async def warning_counts(uow: UnitOfWork, tenant_id: uuid.UUID) -> dict[str, int]:
    """How many rows of the tenant's batches carried each warning (what the cleaning flagged)."""
    code = sa.func.unnest(batch_rows.c.warnings).label("code")
    inner = sa.select(code).where(batch_rows.c.tenant_id == tenant_id).subquery()
    stmt = sa.select(inner.c.code, sa.func.count()).group_by(inner.c.code)
    result: Any = await uow.execute(stmt)
    return {str(key): int(count) for key, count in result}


async def normalised_phone_count(uow: UnitOfWork, tenant_id: uuid.UUID) -> int:
    stmt = sa.select(sa.func.count()).where(
        contacts.c.tenant_id == tenant_id, contacts.c.source == "comune", contacts.c.kind == "phone"
    )
    return int((await uow.execute(stmt)).scalar_one())
