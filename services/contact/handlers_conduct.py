"""Use cases of a Comune's calling rules (the conduct rules of collection calls)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from services.contact import domain_conduct, repository, repository_conduct, repository_queue
from services.contact.domain_conduct import ConductRules
from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity

EDITORS = ("supervisor", "comune_admin", "platform_admin")


def form_values(rules: ConductRules) -> dict[str, str]:
    """The rules as the page's form shows them."""
    values = {
        "daily_cap": str(rules.daily_cap),
        "weekly_cap": str(rules.weekly_cap),
        "promise_days": str(rules.promise_days),
        "sip_template": rules.sip_template,
        **{f"weight_{name}": str(value) for name, value in rules.weights.items()},
        "patron_day": f"{rules.patron_day[1]:02d}/{rules.patron_day[0]:02d}" if rules.patron_day else "",
        "patron_saint": rules.patron_saint,
    }
    for day in range(6):
        window = rules.windows.get(day)
        values[f"from_{day}"] = f"{window[0]:%H:%M}" if window else ""
        values[f"to_{day}"] = f"{window[1]:%H:%M}" if window else ""
    return values


async def rules_page(uow: UnitOfWork, ident: Identity, today: date) -> dict[str, Any]:
    """The Comune's rules, with the national holidays of this year and the next."""
    rules = await repository_conduct.rules_of(uow, ident.tenant_id)
    return {
        "values": form_values(rules),
        "hours": domain_conduct.hours_text(rules),
        "rules_text": domain_conduct.rules_text(rules),
        "holidays": domain_conduct.holidays_of((today.year, today.year + 1)),
    }


async def save_rules(uow: UnitOfWork, ident: Identity, values: Mapping[str, Any]) -> ConductRules:
    """Check (never looser than the UNIREC code) and keep the Comune's rules; the change is
    recorded in the access log with the new hours."""
    rules = domain_conduct.check_rules(values)
    await repository_conduct.save_rules(uow, ident.tenant_id, rules, ident.user_id)
    await repository_queue.refresh_scores(uow, ident.tenant_id, None)  # new weights, every debtor
    detail = domain_conduct.rules_text(rules)
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "conduct_rules", None, detail)
    return rules
