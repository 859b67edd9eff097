"""The queue's order after due callbacks and broken promises: a weighted score, and the debtor's
figures it reads (the oldest act's year, the attempts, the best phone's reliability)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from services.contact.domain_conduct import DEFAULT_WEIGHTS, ROME
from services.contact.models import conduct_rules, debtor_contacts, debtors
from services.kernel.db import UnitOfWork

# Limitation: five years from the end of the oldest act's year (domain.md); the score grows as the
# date nears, over the five years before it, and stays at its top once it has passed.
LIMITATION_YEARS = 5
# €100,000 owed (and more) is the top of the amount's score, which grows with its logarithm.
AMOUNT_TOP_CENTS = 10_000_000


def queue_score(weights: Mapping[str, int], today: date) -> Any:
    """The score of a debtor (higher first): each part from 0 to 1, times its weight."""
    d = debtors
    amount = sa.func.least(
        sa.func.ln(1 + sa.cast(d.c.total_due_cents, sa.Float)) / sa.func.ln(1 + AMOUNT_TOP_CENTS), 1.0
    )
    limitation_day = sa.func.make_date(d.c.oldest_year + LIMITATION_YEARS, 12, 31)
    days_left = sa.cast(limitation_day - sa.literal(today, sa.Date), sa.Float)
    limitation = sa.case(
        (d.c.oldest_year.is_(None), 0.0),
        else_=sa.func.greatest(0.0, sa.func.least(1.0, 1.0 - days_left / (365.0 * LIMITATION_YEARS))),
    )
    attempts = 1.0 / (1.0 + sa.cast(d.c.attempts, sa.Float))
    grade = sa.cast(sa.func.coalesce(d.c.best_confidence, 0), sa.Float) / 100.0
    parts = {"amount": amount, "limitation": limitation, "attempts": attempts, "grade": grade}
    return sum((float(weights.get(name, 0)) * part for name, part in parts.items()), sa.literal(0.0))


async def refresh_scores(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: Sequence[uuid.UUID] | None, today: date | None = None
) -> None:
    """Keep `queue_score` with the Comune's weights (all its debtors when `debtor_ids` is None);
    `today` defaults to the day in Rome (the score's limitation part moves a little each day, and
    the contact daily run refreshes every debtor)."""
    if debtor_ids is not None and not debtor_ids:
        return
    r = conduct_rules
    stored = (await uow.execute(sa.select(r.c.queue_weights).where(r.c.tenant_id == tenant_id))).scalar()
    weights = {**DEFAULT_WEIGHTS, **{k: int(v) for k, v in (stored or {}).items() if k in DEFAULT_WEIGHTS}}
    day = today or datetime.now(ROME).date()
    stmt = sa.update(debtors).where(debtors.c.tenant_id == tenant_id)
    if debtor_ids is not None:
        stmt = stmt.where(debtors.c.id.in_(list(debtor_ids)))
    await uow.execute(stmt.values(queue_score=queue_score(weights, day)))


async def refresh_best_phone(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_ids: Sequence[uuid.UUID]) -> None:
    """The reliability of each debtor's best active phone (None: no phone)."""
    if not debtor_ids:
        return
    dc = debtor_contacts
    best = (
        sa.select(sa.func.max(sa.func.coalesce(dc.c.confidence, 0)))
        .where(
            dc.c.tenant_id == debtors.c.tenant_id,
            dc.c.debtor_id == debtors.c.id,
            dc.c.kind == "phone",
            dc.c.active,
        )
        .scalar_subquery()
    )
    stmt = (
        sa.update(debtors)
        .where(debtors.c.tenant_id == tenant_id, debtors.c.id.in_(list(debtor_ids)))
        .values(best_confidence=best)
    )
    await uow.execute(stmt)
    await refresh_scores(uow, tenant_id, debtor_ids)
