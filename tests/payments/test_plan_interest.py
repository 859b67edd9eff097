"""A plan's interest is owed on top of its positions' amount (L. 160/2019 c.797): what a payment on
the plan pays of an installment's interest (first, as c.c. art. 1194 imputes it) is kept apart
from what it pays of the debt. Every installment can be paid, by receipt or by hand; the position's
«Pagato» and residual count the debt only; the payment keeps its interest share."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import position, seed
from tests.payments.test_notices import api, issue, with_creditor
from tests.payments.test_reconciliation import RECEIPTS, receipts_csv, upload
from tests.payments.test_refunds_plans import euro, installments, pay_by_hand, plan_of
from tests.support import position_fact


async def interest_shares(platform: Platform, who: Identity, position_id: str) -> list[tuple[int, int]]:
    sql = (
        "SELECT amount_cents, interest_cents FROM payments.payments WHERE tenant_id = :t AND position_id = :p"
        " ORDER BY recorded_at, id"
    )
    async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
        rows = await uow.execute(sa.text(sql), {"t": who.tenant_id, "p": uuid.UUID(position_id)})
        return [(r.amount_cents, r.interest_cents) for r in rows]


async def plan_notices(platform: Platform, who: Identity, plan_id: str) -> list[dict[str, Any]]:
    async with service_client(platform, "payments", api(who)) as http:
        answer = await http.post("/api/v1/payments/notices", json={"plan_id": plan_id})
    assert answer.status_code == 201, answer.text
    return [o for o in answer.json()["options"] if o["installment"] is not None]


@pytest.mark.asyncio
async def test_every_installment_is_paid_by_its_receipt_and_the_interest_is_kept_apart(
    platform: Platform, tenant: Identity
) -> None:
    position_id, plan_id = await plan_of(platform, tenant, 120_000)
    schedule = await installments(platform, tenant, plan_id)
    interest = sum(i.due for i in schedule) - 120_000
    assert interest > 0  # the legal rate of the plan's days
    options = await plan_notices(platform, tenant, plan_id)
    rows = [(o["iuv"], euro(o["amount_cents"]), f"R-{o['installment']}") for o in options]
    status, answer = await upload(platform, tenant, RECEIPTS, receipts_csv(*rows))
    assert status == 200 and answer["matched"] == 5, answer
    row = await position(platform, tenant.tenant_id, position_id)
    assert row is not None and row.paid_cents == 120_000  # the debt, not its interest
    assert [i.paid_cents for i in await installments(platform, tenant, plan_id)] == [i.due for i in schedule]
    shares = await interest_shares(platform, tenant, position_id)
    assert sum(a for a, _ in shares) == 120_000 + interest and sum(i for _, i in shares) == interest
    async with service_client(platform, "payments", tenant) as http:
        page = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{position_id}")).text
    assert 'data-testid="position-state">Pagata<' in page and page.count("di cui interessi del piano") == 5


@pytest.mark.asyncio
async def test_the_last_installment_is_paid_by_hand_and_the_position_is_settled(
    platform: Platform, tenant: Identity
) -> None:
    position_id, plan_id = await plan_of(platform, tenant, 120_000)
    schedule = await installments(platform, tenant, plan_id)
    for one in schedule:
        await pay_by_hand(platform, tenant, position_id, one.due)
    row = await position(platform, tenant.tenant_id, position_id)
    assert row is not None and row.paid_cents == 120_000
    assert [i.paid_cents for i in await installments(platform, tenant, plan_id)] == [i.due for i in schedule]
    shares = await interest_shares(platform, tenant, position_id)
    assert [i for _, i in shares] == [
        one.due - p for one, p in zip(schedule, _principal(schedule), strict=True)
    ]


def _principal(schedule: list[Any]) -> list[int]:
    return [i.principal for i in schedule]


@pytest.mark.asyncio
async def test_a_notice_issued_before_the_plan_stops_being_payable_once_an_installment_is_paid(
    platform: Platform, tenant: Identity
) -> None:
    """It asked for the whole debt; once an installment is paid it asks for more than is owed: it is
    replaced, and a receipt on it waits in the review queue (before, the import failed whole on the
    position's check)."""
    await with_creditor(platform, tenant)
    p = position_fact(120_000, debtor_id=str(uuid.uuid4()), credit=("IMU", 2023, "W"))
    await seed(platform, tenant.tenant_id, p)
    before = (await issue(platform, tenant, [p.position_id]))[1]["options"][0]
    async with service_client(platform, "payments", api(tenant)) as http:
        made = await http.post(
            "/api/v1/payments/plans", json={"position_ids": [p.position_id], "installments": 5}
        )
    options = await plan_notices(platform, tenant, made.json()["plan_id"])
    first = options[0]
    status, _ = await upload(
        platform, tenant, RECEIPTS, receipts_csv((first["iuv"], euro(first["amount_cents"]), "I-1"))
    )
    assert status == 200
    status, answer = await upload(
        platform, tenant, RECEIPTS, receipts_csv((before["iuv"], euro(before["amount_cents"]), "B-1"))
    )
    assert status == 200 and answer["matched"] == 0, answer
    row = await position(platform, tenant.tenant_id, p.position_id)
    assert row is not None and row.paid_cents < 120_000  # only the installment's debt part
    async with service_client(platform, "payments", api(tenant)) as http:
        waiting = (await http.get("/api/v1/payments/reconciliation/review")).json()["items"]
    assert [(i["iuv"], i["kind"]) for i in waiting] == [(before["iuv"], "unpayable")]
