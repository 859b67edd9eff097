"""Use cases of a Comune's own installment rules (L. 160/2019 c.797)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from services.payments import repository_plan_rules
from services.payments.domain_plans import RuleSet, bands_json, check_regulation, read_bands


async def rules_for(uow: UnitOfWork, tenant_id: uuid.UUID, revenue_type: str, day: date) -> RuleSet:
    """The rules in force on `day`: the Comune's own, or the c.796 defaults."""
    row = await repository_plan_rules.rules_in_force(uow, tenant_id, revenue_type, day)
    if row is None:
        return RuleSet()
    return RuleSet(read_bands(row.bands), row.min_installment_cents, row.interest_rate)


async def save_rules(
    uow: UnitOfWork, ident: Identity, revenue_type: str, valid_from: date, rules: RuleSet, today: date
) -> None:
    """A new version of the Comune's rules for a revenue type, from `valid_from` (today or later:
    the rules a plan was made under are never rewritten)."""
    if revenue_type == "CDS":
        raise DomainError(
            "Le rate delle sanzioni del Codice della strada sono fissate dall'art. 202-bis: "
            "il regolamento del Comune non le modifica.",
            field="revenue_type",
        )
    if valid_from < today:
        raise DomainError("Le regole valgono da oggi o da una data futura.", field="valid_from")
    check_regulation(rules)
    values = {
        "revenue_type": revenue_type,
        "valid_from": valid_from,
        "bands": bands_json(rules.bands),
        "min_installment_cents": rules.min_installment_cents,
        "interest_rate": rules.interest_rate,
        "created_by": ident.user_id,
        "created_by_name": ident.display_name or None,
    }
    await repository_plan_rules.insert_rules(uow, ident.tenant_id, values)


async def rules_history(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every version of the Comune's rules, oldest first per revenue type."""
    return [
        {
            "revenue_type": r.revenue_type,
            "valid_from": r.valid_from.isoformat(),
            "bands": r.bands,
            "min_installment_cents": r.min_installment_cents,
            "interest_rate": None if r.interest_rate is None else str(r.interest_rate),
            "created_by": r.created_by,
            "created_by_name": r.created_by_name or r.created_by,
        }
        for r in await repository_plan_rules.rules_history(uow, tenant_id)
    ]
