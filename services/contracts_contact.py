"""Event contracts of the contact service beyond `OutcomeRecorded`: promises to pay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.contracts_base import Event


@dataclass(frozen=True)
class PromiseMade(Event):
    """In a call the debtor promised to pay `amount_cents` by `due_on` (ISO date)."""

    TYPE: ClassVar[str] = "contact.promise_made"
    VERSION: ClassVar[int] = 1
    promise_id: str
    debtor_id: str
    contact_id: str
    amount_cents: int
    due_on: str
    operator: str
    made_at: str


@dataclass(frozen=True)
class PromiseKept(Event):
    """The payments received for the debtor since the promise reached its amount (`kept_on`: the
    ISO date of the payment that did)."""

    TYPE: ClassVar[str] = "contact.promise_kept"
    VERSION: ClassVar[int] = 1
    promise_id: str
    debtor_id: str
    amount_cents: int
    paid_cents: int
    kept_on: str


@dataclass(frozen=True)
class PromiseBroken(Event):
    """The promised day passed without the promised amount paid; the debtor is back in the queue,
    first."""

    TYPE: ClassVar[str] = "contact.promise_broken"
    VERSION: ClassVar[int] = 1
    promise_id: str
    debtor_id: str
    amount_cents: int
    paid_cents: int
    due_on: str
