"""The queue's order after callbacks and broken promises: a weighted score of the amount owed, the
nearness of the limitation date, the fewest attempts and the best phone; weights per Comune."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

import pytest
import sqlalchemy as sa

from services.contact import (
    handlers,
    repository_conduct,
    repository_lease,
    repository_promises,
    repository_queue,
)
from services.contact.domain import ROME
from services.contact.domain_conduct import ConductRules
from services.contact.domain_lists import WorkList
from services.contact.repository_conduct import CallLimits
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import contact_fact, contacts_registered, deliver, seed
from tests.support import make_identity, position_fact

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


async def _set(platform: Platform, tenant: Identity, sql: str, **params: object) -> None:
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        await uow.execute(sa.text(sql), {"t": tenant.tenant_id, **params})
        await uow.commit()


@pytest.mark.asyncio
async def test_the_queue_page_lists_the_debtors_in_the_order_the_lease_gives_them(
    platform: Platform, tenant: Identity
) -> None:
    names = ("small", "big", "mine", "anyone", "promised", "lapsed", "later", "barred", "own", "held", "soon")
    ids = {name: str(uuid.uuid4()) for name in names}
    amounts = {"small": 10_000, "big": 900_000, "barred": 990_000}
    await seed(
        platform,
        tenant.tenant_id,
        *(
            # «barred»: an act of 2020, time-barred since 31/12/2025; the others recent.
            position_fact(
                amounts.get(n, 50_000), debtor_id=ids[n], credit=("IMU", 2020 if n == "barred" else 2024, n)
            )
            for n in names
        ),
    )
    due, later = datetime(2026, 11, 30, 9, 0, tzinfo=ROME), datetime(2026, 12, 2, 9, 0, tzinfo=ROME)
    callback = "UPDATE contact.debtors SET status = 'da_richiamare', callback_at = :at, callback_for = :op WHERE tenant_id = :t AND id = :d"
    await _set(platform, tenant, callback, at=due, op="op-me", d=uuid.UUID(ids["mine"]))
    await _set(
        platform, tenant, callback, at=due.replace(hour=8, minute=45), op=None, d=uuid.UUID(ids["anyone"])
    )
    await _set(platform, tenant, callback, at=later, op="op-me", d=uuid.UUID(ids["later"]))
    # Not due yet, anyone's, earlier than «later»: the callbacks to come go by their hour.
    await _set(platform, tenant, callback, at=later.replace(day=1, hour=8), op=None, d=uuid.UUID(ids["soon"]))
    held = (
        "UPDATE contact.debtors SET status = 'in_lavorazione', assigned_to = :op, assigned_name = :name,"
        " locked_until = :at WHERE tenant_id = :t AND id = :d"
    )
    until = MONDAY.replace(hour=10, minute=20)
    await _set(platform, tenant, held, op="op-me", name="Io", at=until, d=uuid.UUID(ids["own"]))
    await _set(platform, tenant, held, op="op-x", name="Marco Ricci", at=until, d=uuid.UUID(ids["held"]))
    await _set(
        platform,
        tenant,
        "UPDATE contact.debtors SET status = 'in_lavorazione', assigned_to = 'op-gone', locked_until = :at"
        " WHERE tenant_id = :t AND id = :d",
        at=due,
        d=uuid.UUID(ids["lapsed"]),
    )
    await _set(
        platform,
        tenant,
        "INSERT INTO contact.promises (id, tenant_id, debtor_id, contact_id, operator, amount_cents, due_on,"
        " status, made_at) VALUES (gen_random_uuid(), :t, :d, gen_random_uuid(), 'op-x', 5000, '2026-11-20',"
        " 'open', '2026-11-10T10:00:00+01:00')",
        d=uuid.UUID(ids["promised"]),
    )
    db = platform.databases["contact"]
    async with db.unit_of_work(tenant.tenant_id) as uow:
        await repository_queue.refresh_scores(uow, tenant.tenant_id, None, MONDAY.date())
        await uow.commit()
    async with db.unit_of_work(tenant.tenant_id) as uow:
        me = ("op-me", None)
        rows = await repository_queue.queue_page(uow, tenant.tenant_id, None, me, MONDAY, 50, 0)
        listed = [str(r.id) for r in rows]
        by_id = {v: k for k, v in ids.items()}
        expected = [
            *("own", "mine", "anyone", "promised", "lapsed", "big", "small"),
            *("held", "soon", "later", "barred"),
        ]
        assert [by_id[i] for i in listed] == expected
        # One status: its debtors in the same order; a second page follows the first.
        rows = await repository_queue.queue_page(uow, tenant.tenant_id, "da_richiamare", me, MONDAY, 2, 2)
        assert [by_id[str(r.id)] for r in rows] == ["soon", "later"]
        # With a work list of TARI only, the IMU pool is not the operator's: callbacks, promises
        # and the card they hold still are, as the lease gives them.
        tari = ("op-me", WorkList(revenue_types=("TARI",)))
        rows = await repository_queue.queue_page(uow, tenant.tenant_id, None, tari, MONDAY, 50, 0)
        assert [by_id[str(r.id)] for r in rows] == ["own", "mine", "anyone", "promised", "soon", "later"]
        # The leases one after another (the viewer's first) give the page's leasable head.
        leased = []
        for operator in ("op-me", *(f"op-{n}" for n in range(10))):
            got = await repository_lease.take_next(uow, tenant.tenant_id, operator, limits())
            if got is None:
                break
            leased.append(by_id[str(got)])
        assert leased == expected[:7]
    # The page says who holds a colleague's card.
    viewer = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("operator",), user_id="op-me")
    async with service_client(platform, "contact", viewer) as client:
        page = await client.get(f"/t/{tenant.tenant_slug}/contact/")
    assert 'data-testid="held">da Marco Ricci</span>' in page.text


@pytest.mark.asyncio
async def test_the_home_counts_the_callbacks_the_operator_would_be_given(
    platform: Platform, tenant: Identity
) -> None:
    names = ("mine", "anyone", "colleague_now", "colleague_late")
    ids = {name: str(uuid.uuid4()) for name in names}
    await seed(
        platform,
        tenant.tenant_id,
        *(position_fact(50_000, debtor_id=ids[n], credit=("IMU", 2024, n)) for n in names),
    )
    callback = "UPDATE contact.debtors SET status = 'da_richiamare', callback_at = :at, callback_for = :op WHERE tenant_id = :t AND id = :d"
    for name, at, op in (
        ("mine", MONDAY.replace(hour=9), "op-me"),
        ("anyone", MONDAY.replace(hour=9), None),
        # Kept for a colleague: theirs for half an hour, then anyone's.
        ("colleague_now", MONDAY.replace(hour=9, minute=45), "op-other"),
        ("colleague_late", MONDAY.replace(hour=9), "op-other"),
    ):
        await _set(platform, tenant, callback, at=at, op=op, d=uuid.UUID(ids[name]))
    me = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("operator",), user_id="op-me")
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        home = await handlers.queue_summary(uow, me, MONDAY)
        board = await repository_promises.queue_summary(uow, tenant.tenant_id, MONDAY, MONDAY.date())
    # Mine, anyone's and the colleague's past the grace; the board counts all four.
    assert (home["callbacks_due"], board["callbacks_due"]) == (3, 4)
