"""The queue's order after callbacks and broken promises: a weighted score of the amount owed, the
nearness of the limitation date, the fewest attempts and the best phone; weights per Comune."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

import pytest
import sqlalchemy as sa

from services.contact import repository_conduct, repository_lease, repository_queue
from services.contact.domain import ROME
from services.contact.domain_conduct import ConductRules
from services.contact.repository_conduct import CallLimits
from services.kernel.identity import Identity
from services.platform import Platform
from tests.contact.helpers import contact_fact, contacts_registered, deliver, seed
from tests.support import position_fact

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=ROME)


def limits() -> CallLimits:
    start = datetime(2000, 1, 1, tzinfo=ROME)
    return CallLimits(MONDAY, start, start, 10**6, 10**6)


async def order(platform: Platform, tenant: Identity, weights: dict[str, int]) -> list[str]:
    """The Comune's weights saved (every debtor's score refreshed, as the rules page does), then
    who the queue offers, one lease after another, rolled back."""
    taken = []
    db = platform.databases["contact"]
    async with db.unit_of_work(tenant.tenant_id) as uow:
        rules = replace(ConductRules(), weights=weights)
        await repository_conduct.save_rules(uow, tenant.tenant_id, rules, "sup")
        await repository_queue.refresh_scores(uow, tenant.tenant_id, None, MONDAY.date())
        await uow.commit()
    async with db.unit_of_work(tenant.tenant_id) as uow:
        while (
            got := await repository_lease.take_next(uow, tenant.tenant_id, f"op-{len(taken)}", limits())
        ) is not None:
            taken.append(str(got))
        # rolled back: the leases go with it
    return taken


@pytest.mark.asyncio
async def test_the_nearest_limitation_and_the_fewest_attempts_count_as_the_comune_weighs_them(
    platform: Platform, tenant: Identity
) -> None:
    recent, old, tried = (str(uuid.uuid4()) for _ in range(3))
    await seed(
        platform,
        tenant.tenant_id,
        position_fact(500_000, debtor_id=recent, credit=("IMU", 2024, "R")),
        # €800 from 2021: its limitation falls on 31/12/2026, a month away.
        position_fact(80_000, debtor_id=old, credit=("TARI", 2021, "O")),
        position_fact(500_000, debtor_id=tried, credit=("IMU", 2024, "T")),
    )
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        await uow.execute(
            sa.text("UPDATE contact.debtors SET attempts = 3 WHERE tenant_id = :t AND id = :d"),
            {"t": tenant.tenant_id, "d": uuid.UUID(tried)},
        )  # the score follows at the next refresh (`order` saves the weights and refreshes)
        await uow.commit()
    defaults = {"amount": 4, "limitation": 3, "attempts": 2, "grade": 1}
    got = await order(platform, tenant, defaults)
    assert got == [old, recent, tried], ({old: "old", recent: "recent", tried: "tried"}, got)
    by_amount = {"amount": 10, "limitation": 0, "attempts": 1, "grade": 0}
    assert await order(platform, tenant, by_amount) == [recent, tried, old]


@pytest.mark.asyncio
async def test_a_reliable_phone_counts_and_follows_the_contacts(platform: Platform, tenant: Identity) -> None:
    weak, strong = str(uuid.uuid4()), str(uuid.uuid4())
    await seed(
        platform,
        tenant.tenant_id,
        position_fact(50_000, debtor_id=weak, credit=("IMU", 2024, "W")),
        position_fact(50_000, debtor_id=strong, credit=("IMU", 2024, "S")),
    )
    phone = contact_fact(strong, "+393471234567", confidence=95)
    await deliver(
        platform,
        contacts_registered(tenant.tenant_id, phone, contact_fact(weak, "+393479999999", confidence=20)),
    )
    only_grade = {"amount": 0, "limitation": 0, "attempts": 0, "grade": 10}
    assert (await order(platform, tenant, only_grade))[:2] == [strong, weak]
