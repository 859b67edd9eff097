"""Use cases of the operators' work lists: the supervisors' editor and page, the operator's own list."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.contact import domain_lists, repository, repository_lists
from services.contact.domain_lists import WorkList
from services.contact.repository_lists import StoredList
from services.contracts import REVENUE_TYPES
from services.kernel.db import UnitOfWork
from services.kernel.errors import NotFound
from services.kernel.identity import Identity

EDITORS = ("supervisor", "platform_admin")
# Whoever takes debtors from the queue sees their own list.
CALLERS = ("operator", "supervisor", "platform_admin")


async def editor(
    uow: UnitOfWork, ident: Identity, operator: str, vouched: tuple[str, str] | None
) -> dict[str, Any]:
    """What the editor of one operator's list shows: the list (if any), its fields, its words. The
    operator is one the gateway vouched for (`vouched`: their name and the signed token), or one
    who has a list already (its stored name); anyone else is nobody of this Comune: 404."""
    stored = await repository_lists.list_of(uow, ident.tenant_id, operator)
    if vouched is None and stored is None:
        raise NotFound(
            "Operatore non trovato in questo Comune: apri la sua lista dalla pagina delle persone."
        )
    name, subject = vouched if vouched is not None else ((stored.operator_name if stored else "") or "", "")
    return {**editor_context(operator, name, stored), "subject": subject}


def editor_context(operator: str, name: str, stored: StoredList | None) -> dict[str, Any]:
    work_list = stored.work_list if stored else None
    return {
        "operator": operator,
        "operator_name": name,
        "stored": stored,
        "described": domain_lists.describe(work_list) if work_list else None,
        "values": domain_lists.form_values(work_list),
        "chosen": set(work_list.revenue_types) if work_list else set(),
        "revenue_types": REVENUE_TYPES,
        "errors": {},
    }


async def save(
    uow: UnitOfWork, ident: Identity, operator: tuple[str, str], kinds: Iterable[str], raw: dict[str, str]
) -> WorkList:
    """Check and set the (id, name) operator's list; recorded in the access log with its words."""
    work_list = domain_lists.check_list(
        kinds,
        raw.get("anno_da", ""),
        raw.get("anno_a", ""),
        raw.get("importo_min", ""),
        raw.get("importo_max", ""),
    )
    operator_id, name = operator
    by = (ident.user_id, ident.display_name)
    await repository_lists.save_list(uow, ident.tenant_id, (operator_id, name or None), work_list, by)
    detail = f"{name or 'un operatore'}: {domain_lists.describe(work_list)}"
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "work_list", None, detail)
    return work_list


async def remove(uow: UnitOfWork, ident: Identity, operator: str) -> None:
    """Take the operator's list away (they get the whole pool again); recorded in the access log."""
    removed = await repository_lists.remove_list(uow, ident.tenant_id, operator)
    if removed is None:
        raise NotFound("L'operatore non ha una lista di lavoro.")
    detail = f"{removed.operator_name or 'un operatore'}: {domain_lists.describe(removed.work_list)}"
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "work_list_removed", None, detail)


async def comune_lists(uow: UnitOfWork, ident: Identity) -> list[tuple[StoredList, str]]:
    """Every list of the Comune with its words."""
    stored = await repository_lists.lists_in(uow, ident.tenant_id)
    return [(s, domain_lists.describe(s.work_list)) for s in stored]


async def described_by_operator(uow: UnitOfWork, ident: Identity) -> dict[str, str]:
    """Each operator's list in words, by operator id (the supervisors' board)."""
    return {s.operator: words for s, words in await comune_lists(uow, ident)}


async def own_list(uow: UnitOfWork, ident: Identity) -> str | None:
    """The signed-in operator's list in words (None: they work the whole queue)."""
    stored = await repository_lists.list_of(uow, ident.tenant_id, ident.user_id)
    return domain_lists.describe(stored.work_list) if stored else None
