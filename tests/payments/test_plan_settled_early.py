"""A plan settled early spares the interest of the installments it closes: paid with its single
notice (the debt alone), or its debt paid off otherwise, each installment not yet paid is closed at
its principal and what was already paid of its interest; the rest of its interest is shown as not
owed, never as paid. When that money goes back, the installments are owed again with their
interest."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import position
from tests.payments.test_notices import api
from tests.payments.test_plan_interest import interest_shares, plan_notices
from tests.payments.test_reconciliation import FDR, RECEIPTS, flow_xml, receipts_csv, upload
from tests.payments.test_refunds_plans import euro, pay_by_hand, plan_of, plan_rows, refund


async def schedule(platform: Platform, who: Identity, plan_id: str) -> list[Any]:
    sql = (
        "SELECT number, principal_cents, interest_cents, spared_interest_cents, paid_cents "
        "FROM payments.plan_installments WHERE tenant_id = :t AND plan_id = :p ORDER BY number"
    )
    async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
        return list((await uow.execute(sa.text(sql), {"t": who.tenant_id, "p": uuid.UUID(plan_id)})).all())


async def position_page(platform: Platform, who: Identity, position_id: str) -> str:
    async with service_client(platform, "payments", who) as http:
        page = await http.get(f"/t/{who.tenant_slug}/payments/positions/{position_id}")
    assert page.status_code == 200
    return page.text


async def plan_sender(platform: Platform, who: Identity, plan_id: str) -> str:
    """The «send the plan's notices» fragment the debtor card embeds."""
    async with service_client(platform, "payments", who) as http:
        fragment = await http.get(f"/t/{who.tenant_slug}/payments/plans/{plan_id}/send")
    assert fragment.status_code == 200
    return fragment.text


@pytest.mark.asyncio
async def test_the_single_notice_closes_every_installment_without_its_interest(
    platform: Platform, tenant: Identity
) -> None:
    position_id, plan_id = await plan_of(platform, tenant, 120_000)
    before = await schedule(platform, tenant, plan_id)
    interest = sum(i.interest_cents for i in before)
    assert interest > 0
    async with service_client(platform, "payments", api(tenant)) as http:
        single = (await http.post("/api/v1/payments/notices", json={"plan_id": plan_id})).json()["options"][0]
    assert single["installment"] is None and single["amount_cents"] == 120_000
    status, answer = await upload(
        platform, tenant, RECEIPTS, receipts_csv((single["iuv"], euro(120_000), "S-1"))
    )
    assert status == 200 and answer["matched"] == 1, answer
    after = await schedule(platform, tenant, plan_id)
    assert [(i.paid_cents, i.interest_cents) for i in after] == [(i.principal_cents, 0) for i in before]
    assert [i.spared_interest_cents for i in after] == [i.interest_cents for i in before]
    assert sum(i.paid_cents for i in after) == 120_000  # what was paid, not principal + interest
    page = await position_page(platform, tenant, position_id)
    assert "Piano saldato in anticipo" in page and euro(interest) in page
    # Nothing is left to send: no form offers the plan's notices (sending them was refused, 409).
    assert "Invia gli avvisi del piano" not in page
    assert 'data-testid="plan-settled"' in await plan_sender(platform, tenant, plan_id)
    rows = await plan_rows(platform, tenant, position_id)
    assert all("Saldata in anticipo: interessi non dovuti" in row for row in rows), rows
    assert all("Pagata" not in row for row in rows), rows
    # The money never arrived (revoked by the flow): owed again, interest included.
    status, revoked = await upload(platform, tenant, FDR, flow_xml([(single["iuv"], "S-1", 120_000, 3)]))
    assert status == 200 and revoked["revoked"] == 1, revoked
    again = await schedule(platform, tenant, plan_id)
    assert [(i.paid_cents, i.interest_cents, i.spared_interest_cents) for i in again] == [
        (0, i.interest_cents, 0) for i in before
    ]
    reopened = await position_page(platform, tenant, position_id)
    assert "Piano saldato in anticipo" not in reopened and "Invia gli avvisi del piano" in reopened
    assert 'data-testid="plan-settled"' not in await plan_sender(platform, tenant, plan_id)


@pytest.mark.asyncio
async def test_the_debt_paid_off_by_hand_keeps_the_interest_paid_and_spares_the_rest(
    platform: Platform, tenant: Identity
) -> None:
    position_id, plan_id = await plan_of(platform, tenant, 120_000)
    first = (await plan_notices(platform, tenant, plan_id))[0]
    await upload(platform, tenant, RECEIPTS, receipts_csv((first["iuv"], euro(first["amount_cents"]), "I-1")))
    before = await schedule(platform, tenant, plan_id)
    assert before[0].paid_cents == before[0].principal_cents + before[0].interest_cents > 0
    rest = 120_000 - before[0].principal_cents
    await pay_by_hand(platform, tenant, position_id, rest)
    after = await schedule(platform, tenant, plan_id)
    assert after[0] == before[0]  # paid on its notice, interest included
    assert [(i.paid_cents, i.interest_cents) for i in after[1:]] == [
        (i.principal_cents, 0) for i in before[1:]
    ]
    assert sum(i.spared_interest_cents for i in after) == sum(i.interest_cents for i in before[1:])
    # The hand payment paid the debt only: no interest share.
    assert [share for _, share in await interest_shares(platform, tenant, position_id)] == [
        before[0].interest_cents,
        0,
    ]
    rows = await plan_rows(platform, tenant, position_id)
    assert "Pagata" in rows[0] and all("Saldata in anticipo" in row for row in rows[1:]), rows


@pytest.mark.asyncio
async def test_a_partial_refund_of_the_settling_payment_keeps_principal_and_position_agreed(
    platform: Platform, tenant: Identity
) -> None:
    """The debt paid off by hand (no interest in it), then 100 euro refunded: the last installment
    is owed 100 again, what stays paid in it is principal (the position counts it so), and the
    page no longer says the plan is settled. Restoring its interest would have turned 0,16 of
    the principal paid into interest (found by a walk: the plan's principal then fell short)."""
    position_id, plan_id = await plan_of(platform, tenant, 120_000)
    payment_id = await pay_by_hand(platform, tenant, position_id, 120_000)
    await refund(platform, tenant, payment_id, 10_000)
    after = await schedule(platform, tenant, plan_id)
    last = after[-1]
    assert last.paid_cents == last.principal_cents - 10_000 and last.interest_cents == 0
    assert last.spared_interest_cents > 0
    row = await position(platform, tenant.tenant_id, position_id)
    assert row is not None and row.paid_cents == 110_000
    assert sum(min(i.paid_cents, i.principal_cents) for i in after) == 110_000
    page = await position_page(platform, tenant, position_id)
    assert "poi in parte restituito" in page and "Piano saldato in anticipo" not in page
