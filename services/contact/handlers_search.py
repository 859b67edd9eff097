"""Use case: an operator finds a taxpayer who phones in or writes (`domain_search`); the names
shown are personal data, so the search is recorded in the access log with what was typed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from services.contact import domain_search, repository, repository_search
from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity

SHOWN = 20


@dataclass(frozen=True)
class Found:
    query: domain_search.Query
    debtors: list[Any]
    more: bool


async def search(uow: UnitOfWork, ident: Identity, raw: str | None) -> Found:
    query = domain_search.read_query(raw)
    rows = await repository_search.search(uow, ident.tenant_id, query, SHOWN + 1)
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "search_debtors", None, query.text)
    return Found(query, rows[:SHOWN], len(rows) > SHOWN)


async def notice_issued(
    uow: UnitOfWork, tenant_id: uuid.UUID, iuv: str, nav: str, debtor_id: uuid.UUID
) -> None:
    """A notice was issued to the debtor: the search finds them by its code from now on."""
    await repository_search.save_notice(uow, tenant_id, iuv, nav, debtor_id)
