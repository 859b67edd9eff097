"""The taxpayers of a Comune an operator's search names (`domain_search`): by fiscal code, by any
phone number or e-mail address recorded for them (active or not: the caller may use an old one),
by act number, by the code (NAV) or IUV of a notice issued to them, or by words each beginning a
word of the name; at most `limit`, by name. The notices are kept from `payments.notice_issued`."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.contact.domain_search import Query, like_prefix
from services.contact.models import debtor_contacts, debtor_notices, debtor_positions, debtors
from services.kernel.db import UnitOfWork


async def search(uow: UnitOfWork, tenant_id: uuid.UUID, query: Query, limit: int) -> list[Any]:
    d, dc, dp = debtors, debtor_contacts, debtor_positions
    # Every word the start of a word of the name, in any order («luca russo» finds RUSSO LUCA).
    words = [like_prefix(w) for w in query.text.split()[:4]]
    named = [sa.or_(d.c.name.ilike(w, escape="\\"), d.c.name.ilike("% " + w, escape="\\")) for w in words]
    acts = sa.select(dp.c.debtor_id).where(dp.c.tenant_id == tenant_id, dp.c.act_number == query.text)
    found: list[Any] = [sa.and_(*named), d.c.id.in_(acts)]
    if "@" in query.text:  # who writes: an e-mail or PEC address recorded for them
        lowered = sa.func.lower(dc.c.value) == query.text.lower()
        found.append(d.c.id.in_(sa.select(dc.c.debtor_id).where(dc.c.tenant_id == tenant_id, lowered)))
    if query.fiscal_code:
        found.append(d.c.fiscal_code == query.fiscal_code)
    if query.notice:
        n = debtor_notices.c
        coded = sa.select(n.debtor_id).where(
            n.tenant_id == tenant_id, sa.or_(n.nav == query.notice, n.iuv == query.notice)
        )
        found.append(d.c.id.in_(coded))
    by_phone: Any = sa.literal(False)
    if query.phone:
        phoned = sa.select(dc.c.debtor_id).where(dc.c.tenant_id == tenant_id, dc.c.value == query.phone)
        by_phone = d.c.id.in_(phoned)
        found.append(by_phone)
    stmt = (
        sa.select(
            d.c.id,
            d.c.name,
            d.c.fiscal_code,
            d.c.total_due_cents,
            d.c.positions_count,
            d.c.status,
            by_phone.label("by_phone"),
        )
        .where(d.c.tenant_id == tenant_id, sa.or_(*found))
        .order_by(d.c.name, d.c.fiscal_code, d.c.id)
        .limit(limit)
    )
    return list((await uow.execute(stmt)).all())


async def save_notice(
    uow: UnitOfWork, tenant_id: uuid.UUID, iuv: str, nav: str, debtor_id: uuid.UUID
) -> None:
    """Keep a notice issued to the debtor (once: a replayed event changes nothing)."""
    values = {"tenant_id": tenant_id, "iuv": iuv, "nav": nav, "debtor_id": debtor_id}
    await uow.execute(pg_insert(debtor_notices).values(values).on_conflict_do_nothing())
