"""Use cases of the legal interest rate table (art. 1284 c.c.): national, added to by the firm's
platform administrator only, from today on. Simulations and plans read it through
`repository_legal_rates.rate_table`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, Forbidden
from services.kernel.identity import Identity
from services.payments import repository_legal_rates
from services.payments.domain_legal_rates import read_new_rate

EDITOR_ROLE = "platform_admin"


async def add_rate(uow: UnitOfWork, ident: Identity, fields: Mapping[str, str], today: date) -> None:
    """Record the legal rate the form gives (`read_new_rate`: today or later, a day with no rate
    yet), with who added it and when. Nothing is recorded when it is refused."""
    if not ident.has_role(EDITOR_ROLE):
        raise Forbidden("Solo l'amministratore della piattaforma modifica il tasso legale.")
    known = [day for day, _ in await repository_legal_rates.rate_table(uow)]
    new = read_new_rate(fields, today, known)
    if not await repository_legal_rates.insert_rate(uow, new, ident.user_id, ident.display_name):
        raise Conflict(f"Esiste già un tasso dal {new.valid_from.strftime('%d/%m/%Y')}.")


async def rate_history(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every rate, oldest first, with its decree and who added it when."""
    return [
        {
            "valid_from": r.valid_from.isoformat(),
            "rate": str(r.rate),
            "decree": r.decree,
            "created_by": r.created_by,
            "created_by_name": r.created_by_name or r.created_by,
            "created_at": r.created_at.isoformat(),
        }
        for r in await repository_legal_rates.rate_history(uow)
    ]
