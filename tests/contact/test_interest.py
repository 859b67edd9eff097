"""A plan's interest is owed on top of the debt: what a payment paid of it does not lower what the
debtor owes in the queue (their whole payment still counts towards a promise), and a refund takes
back the debt paid, no more."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.contact import handlers, repository_board
from services.contact.repository_reversals import TakenBack
from services.kernel.identity import Identity
from services.platform import Platform
from tests.contact.helpers import debtor, seed
from tests.support import position_fact


@pytest.mark.asyncio
async def test_the_interest_paid_does_not_pay_the_debt(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    f = position_fact(10_000, debtor_id=d, credit=("TARI", 2024, "I"))
    await seed(platform, tenant.tenant_id, f)
    payment_id = uuid.uuid4()
    ids = (payment_id, uuid.UUID(d), uuid.UUID(f.position_id))
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        await handlers.register_payment(
            uow, tenant.tenant_id, ids, 5_100, date(2026, 3, 31), interest_cents=100
        )
        await uow.commit()
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.total_due_cents == 5_000
    refund = TakenBack(
        "refund", uuid.uuid4(), payment_id, uuid.UUID(d), uuid.UUID(f.position_id), 5_100, date(2026, 4, 2)
    )
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        await handlers.take_back_payment(uow, tenant.tenant_id, refund)
        await uow.commit()
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.total_due_cents == 10_000  # not 10,100: the interest was never the debt
    # The board's takings and what was given back, apart (not a negative «incassati»).
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        assert await repository_board.collected_since(uow, tenant.tenant_id, date(2026, 3, 31)) == (
            5_000,
            5_000,
        )
