"""Use cases of the supervisors' live board."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.contact import domain_conduct, repository, repository_board, repository_promises
from services.kernel.db import UnitOfWork
from services.kernel.errors import NotFound
from services.kernel.identity import Identity

SUPERVISORS = ("supervisor", "platform_admin")


async def board(uow: UnitOfWork, ident: Identity, now: datetime) -> dict[str, Any]:
    """Today in this Comune: work per operator, euro promised and collected, leases held now, the
    queue's depth. Reading it is recorded (it names the debtors being worked)."""
    day_start = domain_conduct.day_bounds(now)[0]
    today = day_start.date()
    rows = await repository_board.work_today(uow, ident.tenant_id, day_start)
    totals = {
        key: sum(getattr(r, key) for r in rows)
        for key in ("calls", "conversations", "promises", "promised_cents", "kept")
    }
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "view_board", None)
    return {
        "operators": rows,
        "totals": totals,
        "collected_cents": await repository_board.collected_since(uow, ident.tenant_id, today),
        "leases": await repository_board.leases(uow, ident.tenant_id, now),
        "queue": await repository_promises.queue_summary(uow, ident.tenant_id, now, today),
    }


async def release_lease(uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID) -> None:
    """A supervisor gives a held debtor back to the queue (an operator gone home); audited."""
    released = await repository_board.release(uow, ident.tenant_id, debtor_id)
    if released is None:
        raise NotFound("Nessun operatore ha in lavorazione questo debitore.")
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "release_lease", debtor_id)
