"""Queries of the conduct rules: a Comune's calling rules, a debtor's conversations, the debtors
who asked not to be phoned."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.contact.domain import CONVERSATIONS, ROME
from services.contact.domain_conduct import DEFAULT_WEIGHTS, ConductRules
from services.contact.models import call_scripts, conduct_rules, contacts, debtors, outcome_labels
from services.kernel.db import UnitOfWork, constants


@dataclass(frozen=True)
class CallLimits:
    """What keeps a debtor out of the queue at `now` (the service's clock, which also judges
    callbacks and leases): at least `daily_cap` conversations since `day_start`, or `weekly_cap`
    since `week_start`, or a request not to be phoned."""

    now: datetime
    day_start: datetime
    week_start: datetime
    daily_cap: int
    weekly_cap: int


def _windows_json(rules: ConductRules) -> dict[str, list[str]]:
    return {str(day): [f"{a:%H:%M}", f"{b:%H:%M}"] for day, (a, b) in sorted(rules.windows.items())}


def _rules(row: Any) -> ConductRules:
    windows = {
        int(day): (time.fromisoformat(a), time.fromisoformat(b)) for day, (a, b) in row.windows.items()
    }
    patron = (row.patron_month, row.patron_day) if row.patron_month else None
    weights = {**DEFAULT_WEIGHTS, **{k: int(v) for k, v in row.queue_weights.items() if k in DEFAULT_WEIGHTS}}
    return ConductRules(
        windows,
        patron,
        row.patron_saint,
        row.daily_cap,
        row.weekly_cap,
        row.promise_days,
        row.sip_template,
        weights,
    )


@dataclass(frozen=True)
class Setup:
    """A Comune's settings of the console, read together: its calling rules, its own call scripts'
    steps by revenue type, its own names of the outcomes."""

    rules: ConductRules
    scripts: dict[str, tuple[str, ...]]
    labels: dict[str, str]


def _setup_statement() -> Any:
    """One statement for the three (they are read on every request of the console)."""
    tenant = sa.bindparam("tenant_id", type_=sa.Uuid)
    cs, ol = call_scripts, outcome_labels
    scripts = (
        sa.select(sa.func.json_object_agg(cs.c.revenue_type, cs.c.steps, type_=sa.JSON))
        .where(cs.c.tenant_id == tenant)
        .scalar_subquery()
    )
    labels = (
        sa.select(sa.func.json_object_agg(ol.c.outcome, ol.c.label, type_=sa.JSON))
        .where(ol.c.tenant_id == tenant)
        .scalar_subquery()
    )
    one = sa.select(sa.literal(1).label("one")).subquery("one")
    return sa.select(scripts.label("own_scripts"), labels.label("own_labels"), *conduct_rules.c).select_from(
        one.outerjoin(conduct_rules, conduct_rules.c.tenant_id == tenant)
    )


SETUP = _setup_statement()


async def setup_of(uow: UnitOfWork, tenant_id: uuid.UUID) -> Setup:
    """The Comune's settings, read once per transaction (`uow.memo`; the writers drop them)."""
    key = ("contact.setup", tenant_id)
    if key not in uow.memo:
        remember_setup(uow, tenant_id, (await uow.execute(SETUP, {"tenant_id": tenant_id})).one())
    setup: Setup = uow.memo[key]
    return setup


def remember_setup(uow: UnitOfWork, tenant_id: uuid.UUID, row: Any) -> None:
    """Keep for the transaction the settings a row of `SETUP` read (alone, or with the card's reads)."""
    uow.memo[("contact.setup", tenant_id)] = Setup(
        ConductRules() if row.tenant_id is None else _rules(row),
        {kind: tuple(steps) for kind, steps in (row.own_scripts or {}).items()},
        dict(row.own_labels or {}),
    )


def forget_setup(uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
    """The settings were just written in this transaction: read them again when next asked."""
    uow.memo.pop(("contact.setup", tenant_id), None)


async def rules_of(uow: UnitOfWork, tenant_id: uuid.UUID) -> ConductRules:
    """The Comune's calling rules; the UNIREC defaults when it has set none."""
    return (await setup_of(uow, tenant_id)).rules


async def save_rules(uow: UnitOfWork, tenant_id: uuid.UUID, rules: ConductRules, by: str) -> None:
    values = {
        "windows": _windows_json(rules),
        "patron_month": rules.patron_day[0] if rules.patron_day else None,
        "patron_day": rules.patron_day[1] if rules.patron_day else None,
        "patron_saint": rules.patron_saint,
        "daily_cap": rules.daily_cap,
        "weekly_cap": rules.weekly_cap,
        "promise_days": rules.promise_days,
        "sip_template": rules.sip_template,
        "queue_weights": dict(rules.weights),
        "updated_by": by,
    }
    stmt = pg_insert(conduct_rules).values(tenant_id=tenant_id, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[conduct_rules.c.tenant_id], set_={**values, "updated_at": sa.func.now()}
    )
    await uow.execute(stmt)
    forget_setup(uow, tenant_id)


async def conversations_since(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, since: datetime
) -> list[datetime]:
    """When the debtor's conversations (calls the taxpayer answered) since `since` were recorded."""
    params = {"tenant": tenant_id, "debtor": debtor_id, "since": since}
    return list((await uow.execute(CONVERSATIONS_SINCE, params)).scalars())


CONVERSATIONS_SINCE = sa.select(contacts.c.recorded_at).where(
    contacts.c.tenant_id == sa.bindparam("tenant", type_=sa.Uuid),
    contacts.c.debtor_id == sa.bindparam("debtor", type_=sa.Uuid),
    contacts.c.recorded_at >= sa.bindparam("since", type_=sa.DateTime(timezone=True)),
    contacts.c.outcome.in_(constants(CONVERSATIONS)),
)


def _conversations(since: Any) -> Any:
    c = contacts
    return (
        sa.select(sa.func.count())
        .where(
            c.c.tenant_id == debtors.c.tenant_id,
            c.c.debtor_id == debtors.c.id,
            c.c.recorded_at >= since,
            c.c.outcome.in_(constants(CONVERSATIONS)),
        )
        .scalar_subquery()
    )


def day_params(now: datetime) -> dict[str, Any]:
    """The parameters of the queue's statements that follow the day: `now` and the day in Rome
    (`today`: the limitation's, `enforceable`)."""
    return {"now": now, "today": now.astimezone(ROME).date()}


def enforceable(today: Any) -> Any:
    """The condition of a debtor owing something not yet time-barred on `today` (`barred_on`
    after it); a debtor whose every due position is barred is for the relazione di scarico, not
    for the phone (`domain.time_barred`)."""
    return sa.or_(debtors.c.barred_on.is_(None), debtors.c.barred_on > today)


def callable_at() -> Any:
    """The queue's condition of a debtor the conduct rules let be phoned now, with the limits as
    parameters (`day_start`, `week_start`, `daily_cap`, `weekly_cap`: a `CallLimits`)."""
    return sa.and_(
        sa.not_(debtors.c.do_not_call),
        _conversations(sa.bindparam("day_start", type_=sa.DateTime(timezone=True)))
        < sa.bindparam("daily_cap", type_=sa.Integer),
        _conversations(sa.bindparam("week_start", type_=sa.DateTime(timezone=True)))
        < sa.bindparam("weekly_cap", type_=sa.Integer),
    )


async def set_do_not_call(uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID) -> None:
    d = debtors
    await uow.execute(
        sa.update(d).where(d.c.tenant_id == tenant_id, d.c.id == debtor_id).values(do_not_call=True)
    )
