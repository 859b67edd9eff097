"""Use cases of the supervisors' live board."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from services.contact import (
    domain_conduct,
    domain_lists,
    repository,
    repository_board,
    repository_lists,
    repository_promises,
    repository_scripts,
)
from services.contact.domain import Outcome
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity

SUPERVISORS = ("supervisor", "platform_admin")


async def board(uow: UnitOfWork, ident: Identity, now: datetime) -> dict[str, Any]:
    """Today in this Comune: work per operator, euro promised and collected, leases held now, the
    queue's depth, each operator's work list. Reading it is recorded (it names the debtors being
    worked)."""
    day_start = domain_conduct.day_bounds(now)[0]
    today = day_start.date()
    rows = await repository_board.work_today(uow, ident.tenant_id, day_start)
    totals = {
        key: sum(getattr(r, key) for r in rows)
        for key in ("calls", "conversations", "promises", "promised_cents", "kept")
    }
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "view_board", None)
    leases = await repository_board.leases(uow, ident.tenant_id, now)
    reserved = await repository_board.reserved_callbacks(uow, ident.tenant_id)
    collected, given_back = await repository_board.collected_since(uow, ident.tenant_id, today)
    return {
        "operators": rows,
        "totals": totals,
        "outcomes": _by_outcome(await repository_board.outcomes_today(uow, ident.tenant_id, day_start)),
        # The Comune's own names of the outcomes, where it gave any.
        "labels": await repository_scripts.labels_of(uow, ident.tenant_id),
        "roster": await _roster(uow, ident, leases or reserved, now),
        "reserved": reserved,
        "collected_cents": collected,
        "given_back_cents": given_back,
        "leases": leases,
        "queue": await repository_promises.queue_summary(uow, ident.tenant_id, now, today),
        "quality": await repository_board.quality(uow, ident.tenant_id),
        "lists": {
            s.operator: domain_lists.describe(s.work_list)
            for s in await repository_lists.lists_in(uow, ident.tenant_id)
        },
    }


def _by_outcome(rows: list[Any]) -> dict[str, Any]:
    """Today's calls by outcome: the outcomes that occurred (in the card's order), each operator's
    counts and the Comune's."""
    order = [o.value for o in Outcome]
    seen = sorted({r.outcome for r in rows}, key=order.index)
    per: dict[str, dict[str, int]] = {}
    for r in rows:
        per.setdefault(r.operator, {})[r.outcome] = int(r.calls)
    total = {o: sum(r.calls for r in rows if r.outcome == o) for o in seen}
    return {"columns": seen, "operators": per, "total": total}


async def _roster(uow: UnitOfWork, ident: Identity, leases: list[Any], now: datetime) -> dict[str, str]:
    """Whom «Affida a» offers; read only when a card is held or a callback kept for someone (the
    board refreshes every 20 s)."""
    if not leases:
        return {}
    return await repository_board.roster(uow, ident.tenant_id, now - timedelta(days=ROSTER_DAYS))


# The operators a card can be handed to: those who worked the Comune in these days, have a work
# list or hold a card (`repository_board.roster`).
ROSTER_DAYS = 30


async def reassign_lease(
    uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID, operator: object, now: datetime
) -> tuple[str, str]:
    """A supervisor hands a card held now to another operator (one gone home with a callback
    promised to the debtor, or an operator who speaks the debtor's language); audited. The
    debtor's name and the new holder's, for the board to confirm it."""
    chosen = str(operator or "").strip()
    known = await repository_board.roster(uow, ident.tenant_id, now - timedelta(days=ROSTER_DAYS))
    if chosen not in known:
        raise DomainError("Scegli a quale operatore del Comune affidare la scheda.", field="operatore")
    held = await repository_board.holder(uow, ident.tenant_id, debtor_id, now)
    if held is None:
        raise NotFound("Nessun operatore ha in lavorazione questo debitore.")
    if held.assigned_to == chosen:
        raise DomainError(f"{known[chosen]} ha già in lavorazione questo debitore.", field="operatore")
    await repository_board.reassign(uow, ident.tenant_id, debtor_id, now, (chosen, known[chosen]))
    detail = f"da {held.assigned_name or 'un operatore'} a {known[chosen]}"
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "reassign_lease", debtor_id, detail)
    return str(held.name or ""), known[chosen]


ANYONE = "chiunque"


async def hand_callback(
    uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID, operator: object, now: datetime
) -> tuple[str, str | None]:
    """A supervisor hands a callback kept for one operator (gone home, on leave) to another one or
    to anyone (`ANYONE`); audited. The debtor's name and the new operator's (None: anyone)."""
    chosen = str(operator or "").strip()
    known = await repository_board.roster(uow, ident.tenant_id, now - timedelta(days=ROSTER_DAYS))
    if chosen != ANYONE and chosen not in known:
        raise DomainError("Scegli a quale operatore del Comune affidare il richiamo.", field="operatore")
    to = None if chosen == ANYONE else chosen
    handed = await repository_board.hand_callback(uow, ident.tenant_id, debtor_id, to)
    if handed is None:
        raise NotFound("Nessun richiamo è riservato a un operatore per questo debitore.")
    if handed.was_for == to:
        raise DomainError(f"Il richiamo è già riservato a {known[chosen]}.", field="operatore")
    before = known.get(handed.was_for, "un operatore") if handed.was_for else ANYONE
    detail = f"da {before} a {known[to] if to else ANYONE}"
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "hand_callback", debtor_id, detail)
    return str(handed.name or ""), known[to] if to else None


async def release_lease(uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID) -> str:
    """A supervisor gives a held debtor back to the queue (an operator gone home); audited. The
    debtor's name, for the board to confirm it."""
    released = await repository_board.release(uow, ident.tenant_id, debtor_id)
    if released is None:
        raise NotFound("Nessun operatore ha in lavorazione questo debitore.")
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "release_lease", debtor_id)
    return str(released.name)


REVIEW_DAYS = 30


async def review_sample(uow: UnitOfWork, ident: Identity, operator: str, now: datetime) -> dict[str, Any]:
    """A random sample of the operator's calls of the last 30 days not reviewed yet (the notes name
    debtors: the reading is recorded), with the operator's scores so far."""
    since = now - timedelta(days=REVIEW_DAYS)
    calls = await repository_board.sample_calls(uow, ident.tenant_id, operator, since)
    name = (await repository_board.roster(uow, ident.tenant_id, since)).get(operator, "un operatore")
    await repository.access.record(
        uow, ident.tenant_id, ident.user_id, "quality_sample", None, f"chiamate di {name}"
    )
    return {
        "operator": operator,
        "name": name,
        "calls": calls,
        "quality": (await repository_board.quality(uow, ident.tenant_id)).get(operator),
    }


async def review_call(
    uow: UnitOfWork, ident: Identity, contact_id: uuid.UUID, score: object, comment: object
) -> str:
    """A supervisor's score (1 to 5) and comment on one call; the call's operator."""
    raw = str(score or "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 5:
        raise DomainError("Dai un punteggio da 1 a 5.", field="score")
    text = str(comment or "").strip()
    if len(text) > 1000:
        raise DomainError("Il commento può avere al massimo 1000 caratteri.", field="comment")
    call = await repository_board.review_call(uow, ident.tenant_id, contact_id, int(raw), text, ident.user_id)
    if call is None:
        raise NotFound("Chiamata non trovata.")
    detail = f"punteggio {raw} su 5 a una chiamata di {call.operator_name or 'un operatore'}"
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "quality_review", None, detail)
    operator: str = call.operator
    return operator
