"""The debtor card in one statement (`kernel.repository_bundle`): the debtor, their positions with
what was paid on each, the contact history, the payments, the usable contact data, the promises,
the conversations held since a moment, the receipts attached to their claims, the name of the
debtor worked just before and the Comune's settings of the console; the statement also writes the
view to the access log. They were eleven round trips on every card, the most viewed page of the
console (`bench/operator.py`). An outcome's first read is one statement too (`locked_debtor`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.contact.models import closures, contacts, debtor_positions, debtors, limitation_acts, promises
from services.contact.repository import (
    ACTIVE_CONTACTS,
    ALREADY_RECORDED,
    DEBTOR,
    DEBTOR_ROW,
    DEBTOR_ROW_LOCKED,
    HISTORY,
    POSITIONS,
    TENANT,
    access,
    by_debtor,
    in_card_order,
)
from services.contact.repository_conduct import CONVERSATIONS_SINCE, SETUP, remember_setup
from services.contact.repository_evidence import OF_DEBTOR
from services.contact.repository_outcomes import PAYMENTS
from services.contact.repository_promises import PROMISES
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict
from services.kernel.repository_bundle import Bundle

# The debtor named by the card's `da` (the one worked before this one), if of this Comune.
PREVIOUS = sa.select(debtors.c.name).where(
    debtors.c.tenant_id == TENANT, debtors.c.id == sa.bindparam("previous", type_=sa.Uuid)
)

# The Comune's interrupting acts not withdrawn on the debtor's positions (`kernel.limitation`).
ACTS = sa.select(limitation_acts.c.position_id, limitation_acts.c.served_on).where(
    limitation_acts.c.tenant_id == TENANT,
    sa.not_(limitation_acts.c.withdrawn),
    limitation_acts.c.position_id.in_(
        sa.select(debtor_positions.c.position_id).where(
            debtor_positions.c.tenant_id == TENANT, debtor_positions.c.debtor_id == DEBTOR
        )
    ),
)

CARD = Bundle(
    {
        "debtor": DEBTOR_ROW,
        "positions": POSITIONS,
        "history": HISTORY,
        "payments": PAYMENTS,
        "contacts": ACTIVE_CONTACTS,
        "promises": PROMISES,
        "conversations": CONVERSATIONS_SINCE,
        "evidence": OF_DEBTOR,
        "previous": PREVIOUS,
        "setup": SETUP,
        # The mandate's end (`services.mandate`): the card is then only to read.
        "closure": sa.select(closures.c.closed_at).where(closures.c.tenant_id == TENANT),
        "acts": ACTS,
    },
    # The view is logged only when the debtor is there (a card not found leaves no entry).
    writes=[
        access.logged(
            sa.select(debtors.c.tenant_id, debtors.c.id.label("subject_id")).where(
                debtors.c.tenant_id == TENANT, debtors.c.id == DEBTOR
            )
        )
    ],
)


# A call already recorded with the id the card's form carried (the form sent twice).
RECORDED = sa.select(contacts.c.id).where(
    contacts.c.tenant_id == TENANT, contacts.c.id == sa.bindparam("attempt", type_=sa.Uuid)
)
# Whether the debtor has a promise to pay still open.
PROMISED = (
    sa.select(promises.c.id)
    .where(promises.c.tenant_id == TENANT, promises.c.debtor_id == DEBTOR, promises.c.status == "open")
    .limit(1)
)
# The first read of an outcome recorded on the card: its debtor, locked, with the Comune's settings.
LOCKED = Bundle({"debtor": DEBTOR_ROW_LOCKED, "setup": SETUP, "recorded": RECORDED, "promised": PROMISED})


async def locked_debtor(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, attempt: uuid.UUID | None = None
) -> tuple[Any | None, bool]:
    """The debtor, locked until the transaction ends (None: no such debtor in this Comune), and
    whether they have a promise to pay still open; the
    Comune's settings are kept for the rest of the transaction (`repository_conduct.setup_of`).
    Refused when the call `attempt` names is already recorded (a form sent twice, one after the
    other; sent together, the second waits for the lock and the call's primary key refuses it:
    `repository.record_outcome`)."""
    params = {**by_debtor(tenant_id, debtor_id), "tenant_id": tenant_id, "attempt": attempt}
    parts = LOCKED.decode((await uow.execute(LOCKED.statement, params)).one())
    if parts["recorded"]:
        raise Conflict(ALREADY_RECORDED)
    remember_setup(uow, tenant_id, parts["setup"][0])
    return (parts["debtor"][0] if parts["debtor"] else None), bool(parts["promised"])


@dataclass(frozen=True)
class CardReads:
    debtor: Any
    positions: list[Any]
    history: list[Any]
    payments: list[Any]
    contacts: list[Any]
    promises: list[Any]
    # When the debtor's conversations since the moment asked for were recorded.
    conversations: list[datetime]
    # The files attached to the debtor's claims, in upload order.
    evidence: list[Any]
    previous_name: str | None
    closed_at: datetime | None = None
    # The Comune's interrupting acts on the debtor's positions (position_id, served_on).
    acts: list[Any] = field(default_factory=list)


async def card_reads(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    debtor_id: uuid.UUID,
    since: datetime,
    viewer: str,
    previous: uuid.UUID | None = None,
) -> CardReads | None:
    """What the card shows of the debtor, its view logged (None: no such debtor in this Comune,
    nothing logged); `since` bounds the conversations counted by the conduct
    rules; `viewer` is logged as having seen the card; `previous` is the debtor worked before. The
    Comune's settings are kept for the rest of the transaction (`repository_conduct.setup_of`)."""
    params = {
        **by_debtor(tenant_id, debtor_id),
        "since": since,
        "previous": previous,
        "tenant_id": tenant_id,
        **access.log_params(viewer, "view_card"),
    }
    parts = CARD.decode((await uow.execute(CARD.statement, params)).one())
    remember_setup(uow, tenant_id, parts["setup"][0])
    if not parts["debtor"]:
        return None
    return CardReads(
        parts["debtor"][0],
        parts["positions"],
        parts["history"],
        parts["payments"],
        in_card_order(parts["contacts"]),
        parts["promises"],
        [r.recorded_at for r in parts["conversations"]],
        parts["evidence"],
        parts["previous"][0].name if parts["previous"] else None,
        parts["closure"][0].closed_at if parts["closure"] else None,
        parts["acts"],
    )
