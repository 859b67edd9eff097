"""Promises to pay made in a call: what a promise must be, and which promises a payment keeps.
Pure."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from services.contact.domain import OutcomeDecision, Status
from services.kernel.errors import DomainError, Problems
from services.kernel.money import parse_euro

DEFAULT_PROMISE_DAYS = 30
MOST_PROMISE_DAYS = 90


@dataclass(frozen=True)
class Promise:
    amount_cents: int
    due_on: date


def parse_day(raw: str, field: str) -> date | None:
    """A day as «gg/mm/aaaa» or ISO (an HTML date field); None when empty."""
    text = raw.strip()
    if not text:
        return None
    for parse in (date.fromisoformat, _italian):
        try:
            return parse(text)
        except ValueError:
            continue
    raise DomainError("Data non valida: usa gg/mm/aaaa.", field=field)


def _italian(text: str) -> date:
    day, month, year = (int(part) for part in text.replace("-", "/").replace(".", "/").split("/"))
    return date(year, month, day)


def check_promise(amount_raw: str, due_raw: str, today: date, most_days: int, owed_cents: int) -> Promise:
    """A promise of an amount up to what the debtor owes, by a day from today to `most_days` ahead
    (the Comune's limit); refused in Italian at each field at fault, both at once (`FieldErrors`)."""
    problems = Problems()
    amount = problems.check(
        0,
        parse_euro,
        amount_raw,
        "promise_amount",
        "Indica l'importo che il contribuente promette di pagare.",
    )
    if amount > owed_cents:
        problems.add("promise_amount", "L'importo promesso supera quanto il contribuente deve.")
    due_on = problems.check(today, _promise_day, due_raw, today, most_days)
    problems.raise_any()
    return Promise(amount, due_on)


def _promise_day(raw: str, today: date, most_days: int) -> date:
    due_on = parse_day(raw, "promise_due")
    if due_on is None:
        raise DomainError("Indica entro che giorno il contribuente pagherà.", field="promise_due")
    if due_on < today:
        raise DomainError("Il giorno promesso non può essere già passato.", field="promise_due")
    if due_on > today + timedelta(days=most_days):
        last = today + timedelta(days=most_days)
        raise DomainError(
            f"Il Comune accetta promesse entro {most_days} giorni: al più tardi il {last:%d/%m/%Y}.",
            field="promise_due",
        )
    return due_on


@dataclass(frozen=True)
class OpenPromise:
    id: uuid.UUID
    amount_cents: int
    paid_cents: int
    made_on: date


@dataclass(frozen=True)
class Applied:
    """What a payment did to an open promise: its new paid total, and whether that keeps it."""

    id: uuid.UUID
    paid_cents: int
    kept: bool


def apply_payment(promises: Sequence[OpenPromise], amount_cents: int, paid_on: date) -> list[Applied]:
    """A payment counts towards the open promises made on or before the day it was paid, oldest
    first, each up to its amount; a promise reaching its amount is kept."""
    left, applied = amount_cents, []
    for promise in sorted(promises, key=lambda p: (p.made_on, p.id)):
        if left <= 0 or promise.made_on > paid_on:
            continue
        share = min(left, promise.amount_cents - promise.paid_cents)
        if share <= 0:
            continue
        left -= share
        paid = promise.paid_cents + share
        applied.append(Applied(promise.id, paid, paid >= promise.amount_cents))
    return applied


def awaiting_promise(decision: OutcomeDecision, promised: bool) -> OutcomeDecision:
    """A debtor with a promise still open stays waiting for it after a call that changes nothing
    (a conversation, no answer recorded as worked): the status the queue and the board count
    promises by is not overwritten; an outcome with its own consequence (a callback, a dispute,
    hardship, a new promise) decides as ever."""
    if promised and decision.status is Status.LAVORATO:
        return replace(decision, status=Status.PROMESSA)
    return decision
