"""The debtor card's reads in one statement (`kernel.repository_bundle`): the debtor, their
positions with what was paid on each, the contact history, the payments, the usable contact data,
the promises and the conversations held since a moment. They were seven round trips on every card,
the most viewed page of the console (`bench/operator.py`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.contact.repository import (
    ACTIVE_CONTACTS,
    DEBTOR_ROW,
    HISTORY,
    POSITIONS,
    by_debtor,
    in_card_order,
)
from services.contact.repository_conduct import CONVERSATIONS_SINCE
from services.contact.repository_outcomes import PAYMENTS
from services.contact.repository_promises import PROMISES
from services.kernel.db import UnitOfWork
from services.kernel.repository_bundle import Bundle

CARD = Bundle(
    {
        "debtor": DEBTOR_ROW,
        "positions": POSITIONS,
        "history": HISTORY,
        "payments": PAYMENTS,
        "contacts": ACTIVE_CONTACTS,
        "promises": PROMISES,
        "conversations": CONVERSATIONS_SINCE,
    }
)


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


async def card_reads(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, since: datetime
) -> CardReads | None:
    """What the card shows of the debtor (None: no such debtor in this Comune); `since` bounds the
    conversations counted by the conduct rules (the start of today)."""
    found = (await uow.execute(CARD.statement, {**by_debtor(tenant_id, debtor_id), "since": since})).one()
    parts = CARD.decode(found)
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
    )
