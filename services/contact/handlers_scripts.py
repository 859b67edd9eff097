"""Use cases of the call scripts: the supervisors' page, and the script on the debtor's card."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.contact import domain_scripts, repository, repository_scripts
from services.contact.domain import OUTCOME_LABELS, Outcome
from services.contracts import REVENUE_TYPES
from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity

EDITORS = ("supervisor", "platform_admin")


async def scripts_page(uow: UnitOfWork, ident: Identity) -> dict[str, Any]:
    """Each revenue type's steps (the Comune's own or the defaults), with the fixed ones."""
    own = await repository_scripts.scripts_of(uow, ident.tenant_id)
    kinds = (domain_scripts.ANY_REVENUE, *REVENUE_TYPES)
    named = await repository_scripts.labels_of(uow, ident.tenant_id)
    return {
        "defaults_labels": OUTCOME_LABELS,
        "own_labels": named,
        "opening": domain_scripts.opening(_third_party(named)),
        "privacy": domain_scripts.PRIVACY,
        "scripts": [(kind, own.get(kind), "\n".join(own.get(kind) or ())) for kind in kinds],
        "defaults": domain_scripts.DEFAULT_STEPS,
    }


async def labels(uow: UnitOfWork, ident: Identity) -> dict[str, str]:
    """The outcomes' names in this Comune: its own, else the defaults (in the defaults' order)."""
    own = await repository_scripts.labels_of(uow, ident.tenant_id)
    return {outcome: own.get(outcome, label) for outcome, label in OUTCOME_LABELS.items()}


async def save_labels(uow: UnitOfWork, ident: Identity, values: dict[str, str]) -> None:
    """Keep the Comune's names of the outcomes; the change is recorded in the access log."""
    chosen = domain_scripts.check_labels(values, OUTCOME_LABELS)
    await repository_scripts.save_labels(uow, ident.tenant_id, chosen, ident.user_id)
    await repository.access.record(
        uow, ident.tenant_id, ident.user_id, "outcome_labels", None, f"{len(chosen)} nomi"
    )


async def save_script(uow: UnitOfWork, ident: Identity, revenue_type: str, raw: str) -> str:
    """Keep a revenue type's own steps, or drop them (no steps: back to the steps for all or the
    defaults); the change is recorded in the access log."""
    kind, steps = domain_scripts.check_steps(revenue_type, raw)
    if steps:
        await repository_scripts.save_script(uow, ident.tenant_id, kind, steps, ident.user_id)
    else:
        await repository_scripts.drop_script(uow, ident.tenant_id, kind)
    done = ("1 passo" if len(steps) == 1 else f"{len(steps)} passi") if steps else "passi propri tolti"
    which = "tutte le entrate" if kind == domain_scripts.ANY_REVENUE else kind
    await repository.access.record(
        uow, ident.tenant_id, ident.user_id, "call_script", None, f"{which}: {done}"
    )
    return kind


async def card_script(uow: UnitOfWork, ident: Identity, revenue_types: Sequence[str]) -> dict[str, Any]:
    """The script on a debtor's card: the fixed opening, the Comune's steps for the debtor's revenue
    types, the privacy notice."""
    own = await repository_scripts.scripts_of(uow, ident.tenant_id)
    named = await repository_scripts.labels_of(uow, ident.tenant_id)
    return {
        "opening": domain_scripts.opening(_third_party(named)),
        "middle": domain_scripts.script_for(revenue_types, own),
        "privacy": domain_scripts.PRIVACY,
    }


def _third_party(named: dict[str, str]) -> str:
    """The Comune's name of the third-party outcome (the fixed step tells the operator to record it)."""
    key = Outcome.TERZO_RISPONDE.value
    return named.get(key) or OUTCOME_LABELS.get(key, domain_scripts.THIRD_PARTY_DEFAULT)
