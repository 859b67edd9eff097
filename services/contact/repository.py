"""All queries of the contact service; every function takes the tenant and filters by it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.contact import repository_limitation
from services.contact.domain import (
    ContactRecord,
    OutcomeDecision,
    card_order,
    dedupe_records,
)
from services.contact.models import (
    access_log,
    contacts,
    debtor_contacts,
    debtor_payments,
    debtor_positions,
    debtors,
)
from services.contact.repository_queue import queue_score, refresh_best_phone, refresh_scores, score_params
from services.contracts import PositionFact
from services.kernel.access_log import AccessLog
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict

Row = sa.Row[Any]
# A call's form sent twice (a double click): the second records nothing.
ALREADY_RECORDED = (
    "Questo esito era già stato registrato: il modulo è stato inviato due volte e la seconda non è stata "
    "registrata."
)


async def register_positions(uow: UnitOfWork, tenant_id: uuid.UUID, facts: Sequence[PositionFact]) -> int:
    """Upsert debtors and positions; totals are recomputed so a repeated position never counts twice."""
    if not facts:
        return 0
    debtor_rows: dict[str, dict[str, Any]] = {
        f.debtor_id: {
            "id": uuid.UUID(f.debtor_id),
            "tenant_id": tenant_id,
            "fiscal_code": f.fiscal_code,
            "name": f.debtor_name,
        }
        for f in facts
    }
    # DO UPDATE (not DO NOTHING) locks each debtor row, serialising concurrent chunks of one debtor
    # so the recomputed totals below always see the other chunk's committed positions.
    stmt = pg_insert(debtors).values(sorted(debtor_rows.values(), key=lambda r: r["id"]))
    await uow.execute(
        stmt.on_conflict_do_update(
            index_elements=[debtors.c.id, debtors.c.tenant_id],
            set_={"fiscal_code": stmt.excluded.fiscal_code, "name": stmt.excluded.name},
        )
    )
    inserted = await uow.execute(
        pg_insert(debtor_positions)
        .values([_position_row(tenant_id, f) for f in facts])
        .on_conflict_do_nothing(index_elements=[debtor_positions.c.position_id, debtor_positions.c.tenant_id])
        .returning(debtor_positions.c.position_id)
    )
    ids = [r["id"] for r in debtor_rows.values()]
    await _refresh_totals(uow, tenant_id, ids, rescore=False)
    # Their phones may have come first (`ContactsRegistered` before the positions that create the
    # debtor): the best one's reliability is read now, and the score with it.
    await refresh_best_phone(uow, tenant_id, ids)
    return len(inserted.all())


def _position_row(tenant_id: uuid.UUID, f: PositionFact) -> dict[str, Any]:
    return {
        "position_id": uuid.UUID(f.position_id),
        "tenant_id": tenant_id,
        "debtor_id": uuid.UUID(f.debtor_id),
        "revenue_type": f.revenue_type,
        "year": f.year,
        "act_number": f.act_number,
        "amount_cents": f.amount_cents,
        "act_on": f.act_day,
    }


async def _refresh_totals(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: list[uuid.UUID], rescore: bool = True
) -> None:
    """Still due = positions assigned − payments received (never below zero); the queue's score
    follows unless `rescore` is false (the caller refreshes it)."""
    p, pay = debtor_positions, debtor_payments
    # A position the Ufficio tributi cancelled (sgravio) is owed no more, nor count its payments.
    gone = debtor_positions.alias("gone")
    cancelled = sa.select(gone.c.position_id).where(
        gone.c.tenant_id == tenant_id, gone.c.state == "cancelled"
    )
    paid = (
        sa.select(sa.func.coalesce(sa.func.sum(pay.c.amount_cents), 0))
        .where(
            pay.c.tenant_id == tenant_id,
            pay.c.debtor_id == p.c.debtor_id,
            pay.c.position_id.not_in(cancelled),
        )
        .scalar_subquery()
    )
    owed = p.c.state == "open"
    totals = (
        sa.select(
            p.c.debtor_id,
            sa.func.greatest(
                sa.func.coalesce(sa.func.sum(p.c.amount_cents).filter(owed), 0) - sa.func.max(paid), 0
            ).label("total"),
            sa.func.count().filter(owed).label("n"),
            sa.func.min(p.c.year).filter(owed).label("oldest"),
        )
        .where(p.c.tenant_id == tenant_id, p.c.debtor_id.in_(debtor_ids))
        .group_by(p.c.debtor_id)
        .subquery()
    )
    await uow.execute(
        sa.update(debtors)
        .where(debtors.c.tenant_id == tenant_id, debtors.c.id == totals.c.debtor_id)
        .values(
            total_due_cents=totals.c.total,
            positions_count=totals.c.n,
            oldest_year=totals.c.oldest,
            updated_at=sa.func.now(),
        )
    )
    await repository_limitation.refresh(uow, tenant_id, debtor_ids)
    if rescore:
        await refresh_scores(uow, tenant_id, debtor_ids)


async def refresh_totals(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: list[uuid.UUID]) -> None:
    """What these debtors still owe and their queue's score, recomputed (a position changed)."""
    await _refresh_totals(uow, tenant_id, debtor_ids)


async def register_payment(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    payment_id: uuid.UUID,
    debtor_id: uuid.UUID,
    position_id: uuid.UUID,
    amount_cents: int,
    paid_on: date,
) -> bool:
    """Record a payment once (by its id) and refresh what the debtor still owes."""
    inserted = await uow.execute(
        pg_insert(debtor_payments)
        .values(
            payment_id=payment_id,
            tenant_id=tenant_id,
            debtor_id=debtor_id,
            position_id=position_id,
            amount_cents=amount_cents,
            paid_on=paid_on,
        )
        .on_conflict_do_nothing(index_elements=[debtor_payments.c.payment_id, debtor_payments.c.tenant_id])
        .returning(debtor_payments.c.payment_id)
    )
    if inserted.first() is None:
        return False
    await _refresh_totals(uow, tenant_id, [debtor_id])
    return True


# The card's and the call's reads, built once: they run on every request of the console.
TENANT, DEBTOR = sa.bindparam("tenant", type_=sa.Uuid), sa.bindparam("debtor", type_=sa.Uuid)
DEBTOR_ROW = sa.select(debtors).where(debtors.c.tenant_id == TENANT, debtors.c.id == DEBTOR)
DEBTOR_ROW_LOCKED = DEBTOR_ROW.with_for_update()


def _positions_statement() -> Any:
    p, pay = debtor_positions, debtor_payments
    paid = (
        sa.select(sa.func.coalesce(sa.func.sum(pay.c.amount_cents), 0))
        .where(pay.c.tenant_id == p.c.tenant_id, pay.c.position_id == p.c.position_id)
        .scalar_subquery()
    )
    return (
        sa.select(p, paid.label("paid_cents"))
        .where(p.c.tenant_id == TENANT, p.c.debtor_id == DEBTOR)
        .order_by(p.c.year.desc(), p.c.revenue_type, p.c.act_number)
    )


POSITIONS = _positions_statement()
HISTORY = (
    sa.select(contacts)
    .where(contacts.c.tenant_id == TENANT, contacts.c.debtor_id == DEBTOR)
    .order_by(contacts.c.recorded_at.desc(), contacts.c.id)
)


ACTIVE_CONTACTS = (
    sa.select(debtor_contacts)
    .where(
        debtor_contacts.c.tenant_id == TENANT, debtor_contacts.c.debtor_id == DEBTOR, debtor_contacts.c.active
    )
    .order_by(debtor_contacts.c.found_on.desc().nulls_last(), debtor_contacts.c.contact_id)
)


def by_debtor(tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """The parameters of a statement on one debtor (`TENANT`, `DEBTOR`)."""
    return {"tenant": tenant_id, "debtor": debtor_id}


async def get_debtor(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> Row | None:
    return (await uow.execute(DEBTOR_ROW, by_debtor(tenant_id, debtor_id))).first()


async def debtor_positions_of(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[Row]:
    """The debtor's positions, each with what the payments service reported paid on it."""
    return list((await uow.execute(POSITIONS, by_debtor(tenant_id, debtor_id))).all())


async def contact_history(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[Row]:
    return list((await uow.execute(HISTORY, by_debtor(tenant_id, debtor_id))).all())


async def record_outcome(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    debtor_id: uuid.UUID,
    operator: str,
    decision: OutcomeDecision,
    recorded_at: datetime,
    override_reason: str | None = None,
    callback_for: str | None = None,
    operator_name: str | None = None,
    contact_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Store the contact and move the debtor to its next status, releasing the lock, with its
    score in the queue counting this attempt: one statement (the call's row is its WITH). The
    call's id is the one the card's form carried when it did, so that a form sent twice records
    one call (the primary key refuses the second)."""
    contact_id = contact_id or uuid.uuid4()
    params = {
        "tenant": tenant_id,
        "debtor": debtor_id,
        "contact_id": contact_id,
        "operator": operator,
        "operator_name": operator_name,
        "note": decision.note,
        "override_reason": override_reason,
        "new_status": decision.status.value,
        "new_outcome": decision.outcome.value,
        "new_callback_at": decision.callback_at,
        "new_callback_for": callback_for if decision.callback_at else None,
        "at": recorded_at,
        **await score_params(uow, tenant_id),
    }
    try:
        await uow.execute(AFTER_CALL, params)
    except sa.exc.IntegrityError as exc:
        if "contacts_pkey" not in str(exc.orig):
            raise
        raise Conflict(ALREADY_RECORDED) from None
    return contact_id


def _call_insert() -> Any:
    """The call's row, written by the statement that moves its debtor on (a WITH of it)."""
    values = {
        "id": sa.bindparam("contact_id", type_=sa.Uuid),
        "tenant_id": TENANT,
        "debtor_id": DEBTOR,
        "operator": sa.bindparam("operator", type_=sa.Text),
        "outcome": sa.bindparam("new_outcome", type_=sa.Text),
        "note": sa.bindparam("note", type_=sa.Text),
        "callback_at": sa.bindparam("new_callback_at", type_=sa.DateTime(timezone=True)),
        "recorded_at": sa.bindparam("at", type_=sa.DateTime(timezone=True)),
        "override_reason": sa.bindparam("override_reason", type_=sa.Text),
        "operator_name": sa.bindparam("operator_name", type_=sa.Text),
    }
    return sa.insert(contacts).values(values).cte("call")


def _after_call_statement() -> Any:
    d = debtors
    return (
        sa.update(d)
        .where(d.c.tenant_id == TENANT, d.c.id == DEBTOR)
        .values(
            status=sa.bindparam("new_status", type_=sa.Text),
            last_outcome=sa.bindparam("new_outcome", type_=sa.Text),
            callback_at=sa.bindparam("new_callback_at", type_=sa.DateTime(timezone=True)),
            callback_for=sa.bindparam("new_callback_for", type_=sa.Text),
            attempts=d.c.attempts + 1,
            assigned_to=None,
            assigned_name=None,
            locked_until=None,
            updated_at=sa.bindparam("at", type_=sa.DateTime(timezone=True)),
            queue_score=queue_score(attempts=d.c.attempts + 1),
        )
        .add_cte(_call_insert())
    )


AFTER_CALL = _after_call_statement()


async def upsert_contacts(uow: UnitOfWork, tenant_id: uuid.UUID, records: Sequence[ContactRecord]) -> None:
    """Store contact data by contact id, whether or not the debtor is known yet."""
    if not records:
        return
    rows = [{"tenant_id": tenant_id, **vars(r)} for r in dedupe_records(records)]
    dc = debtor_contacts
    stmt = pg_insert(dc).values(sorted(rows, key=lambda r: r["contact_id"]))
    await uow.execute(
        stmt.on_conflict_do_update(
            index_elements=[dc.c.contact_id, dc.c.tenant_id],
            set_={
                "debtor_id": stmt.excluded.debtor_id,
                "kind": stmt.excluded.kind,
                "value": stmt.excluded.value,
                "source": stmt.excluded.source,
                "found_on": sa.func.coalesce(stmt.excluded.found_on, dc.c.found_on),
                "confidence": sa.func.coalesce(stmt.excluded.confidence, dc.c.confidence),
                # Ingest never reactivates a datum marked wrong, so a late or repeated registration
                # must not bring it back to the card.
                "active": dc.c.active & stmt.excluded.active,
                "updated_at": sa.func.now(),
            },
            where=dc.c.tenant_id == tenant_id,
        )
    )


async def active_contacts(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> list[Row]:
    """The debtor's usable contact data in the order the card shows them."""
    return in_card_order((await uow.execute(ACTIVE_CONTACTS, by_debtor(tenant_id, debtor_id))).all())


def in_card_order(rows: Sequence[Any]) -> list[Any]:
    """Contact data in the order the card shows them (`domain.card_order`)."""
    return sorted(rows, key=lambda r: card_order(r.kind, r.confidence))


async def debtor_contact(uow: UnitOfWork, tenant_id: uuid.UUID, contact_id: uuid.UUID) -> Row | None:
    dc = debtor_contacts
    stmt = sa.select(dc).where(dc.c.tenant_id == tenant_id, dc.c.contact_id == contact_id)
    return (await uow.execute(stmt)).first()


access = AccessLog(access_log)
# What names a record of the register of accesses (`web_access.subject_names`): the debtor.
ACCESS_NAMES = [(debtors, "id", debtors.c.name + " · " + debtors.c.fiscal_code)]


async def record_message(
    uow: UnitOfWork, tenant_id: uuid.UUID, message_id: uuid.UUID, debtor_id: uuid.UUID, entry: dict[str, Any]
) -> bool:
    """A message sent to the debtor (`entry`: operator, outcome, note, recorded_at) joins its contact
    history, once per message id; False when the debtor is not (yet) known here."""
    known = sa.select(debtors.c.id).where(debtors.c.tenant_id == tenant_id, debtors.c.id == debtor_id)
    if (await uow.execute(known)).first() is None:
        return False
    stmt = pg_insert(contacts).values(id=message_id, tenant_id=tenant_id, debtor_id=debtor_id, **entry)
    await uow.execute(stmt.on_conflict_do_nothing(index_elements=[contacts.c.id]))
    return True
