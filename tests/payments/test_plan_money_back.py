"""Money that paid a plan from outside its notices (the receipt of a notice issued before the plan)
and goes back: refunded by the Comune or revoked in a flow, it comes off the installments it paid."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import scalar, seed
from tests.payments.test_notices import api, issue, with_creditor
from tests.payments.test_reconciliation import FDR, RECEIPTS, flow_xml, paid, receipts_csv, upload
from tests.support import make_identity, position_fact

INSTALLMENTS = (
    "SELECT string_agg(CASE WHEN paid_cents >= principal_cents + interest_cents THEN 'pagata'"
    " WHEN paid_cents > 0 THEN 'in parte' ELSE 'da pagare' END, ',' ORDER BY number)"
    " FROM payments.plan_installments WHERE tenant_id = :t AND plan_id = :p"
)
OWED = (
    "SELECT sum(principal_cents + interest_cents - paid_cents) FROM payments.plan_installments"
    " WHERE tenant_id = :t AND plan_id = :p"
)
# The plan's interest, owed or spared by an early settlement.
INTEREST = (
    "SELECT sum(interest_cents + spared_interest_cents) FROM payments.plan_installments"
    " WHERE tenant_id = :t AND plan_id = :p"
)
OPTIONS = (
    "SELECT string_agg(status, ',' ORDER BY installment NULLS FIRST) FROM payments.payment_options"
    " WHERE tenant_id = :t AND plan_id = :p"
)


async def _plan_after_notice(
    platform: Platform, tenant: Identity, *amounts: int
) -> tuple[list[Any], str, str]:
    """Positions of one debtor, a notice of the first issued alone, then a plan of five installments
    over all of them with its notices: (positions, the first one's notice IUV, the plan's id)."""
    await with_creditor(platform, tenant)
    debtor = str(uuid.uuid4())
    facts = [
        position_fact(a, debtor_id=debtor, credit=("TARI", 2024, f"M{n}")) for n, a in enumerate(amounts)
    ]
    await seed(platform, tenant.tenant_id, *facts)
    iuv = (await issue(platform, tenant, [facts[0].position_id]))[1]["options"][0]["iuv"]
    async with service_client(platform, "payments", api(tenant)) as http:
        made = await http.post(
            "/api/v1/payments/plans", json={"position_ids": [f.position_id for f in facts], "installments": 5}
        )
        assert made.status_code == 201, made.text
        plan_id = made.json()["plan_id"]
        sent = await http.post("/api/v1/payments/notices", json={"plan_id": plan_id})
        assert sent.status_code in (200, 201), sent.text
    return facts, iuv, plan_id


async def _state(platform: Platform, tenant: Identity, plan_id: str, sql: str) -> Any:
    return await scalar(platform, tenant.tenant_id, sql, t=tenant.tenant_id, p=uuid.UUID(plan_id))


async def _refund_all(platform: Platform, tenant: Identity, position_id: str, amount: str) -> None:
    """The Comune admin refunds the position's one payment (`amount`, all of it) today."""
    payment = "SELECT id FROM payments.payments WHERE tenant_id = :t AND position_id = :p"
    payment_id = await scalar(
        platform, tenant.tenant_id, payment, t=tenant.tenant_id, p=uuid.UUID(position_id)
    )
    admin = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("comune_admin",))
    async with service_client(platform, "payments", admin) as http:
        refunded = await http.post(
            f"/t/{tenant.tenant_slug}/payments/payments/{payment_id}/rimborsi",
            data={
                "amount": amount,
                "refunded_on": date.today().strftime("%d/%m/%Y"),
                "reason": "Errore",
                "conferma": "1",
            },
        )
    assert refunded.status_code == 303, refunded.text


@pytest.mark.asyncio
async def test_a_refund_of_a_notice_paid_before_the_plan_reopens_the_installments_it_paid(
    platform: Platform, tenant: Identity
) -> None:
    facts, iuv, plan_id = await _plan_after_notice(platform, tenant, 60_000, 60_000)
    status, answer = await upload(platform, tenant, RECEIPTS, receipts_csv((iuv, "600,00", "MB-1")))
    assert status == 200 and answer["matched"] == 1, answer
    assert (
        await _state(platform, tenant, plan_id, INSTALLMENTS) == "pagata,pagata,in parte,da pagare,da pagare"
    )
    owed = await _state(platform, tenant, plan_id, OWED)
    await _refund_all(platform, tenant, facts[0].position_id, "600,00")
    assert await paid(platform, tenant, facts[0].position_id) == 0
    # What went back is owed again on the plan, from its last installments paid.
    assert (
        await _state(platform, tenant, plan_id, INSTALLMENTS)
        == "da pagare,da pagare,da pagare,da pagare,da pagare"
    )
    assert await _state(platform, tenant, plan_id, OWED) == owed + 60_000


@pytest.mark.asyncio
async def test_a_revoked_notice_paid_before_the_plan_reopens_the_installments_it_paid(
    platform: Platform, tenant: Identity
) -> None:
    facts, iuv, plan_id = await _plan_after_notice(platform, tenant, 60_000, 60_000)
    await upload(platform, tenant, RECEIPTS, receipts_csv((iuv, "600,00", "MB-2")))
    assert (
        await _state(platform, tenant, plan_id, INSTALLMENTS) == "pagata,pagata,in parte,da pagare,da pagare"
    )
    status, answer = await upload(platform, tenant, FDR, flow_xml([(iuv, "MB-2", 60_000, 3)]))
    assert status == 200 and answer["revoked"] == 1, answer
    assert await paid(platform, tenant, facts[0].position_id) == 0
    assert (
        await _state(platform, tenant, plan_id, INSTALLMENTS)
        == "da pagare,da pagare,da pagare,da pagare,da pagare"
    )
    # The notices of the installments it had paid give way to new ones.
    options = await _state(platform, tenant, plan_id, OPTIONS)
    assert options.split(",")[1:3] == ["replaced", "replaced"], options


@pytest.mark.asyncio
async def test_a_revoked_notice_that_settled_the_plan_makes_it_owed_again(
    platform: Platform, tenant: Identity
) -> None:
    """The whole debt paid with the notice issued before the plan settled it (no installment owed);
    the payment revoked, what it paid is owed on the plan again and that notice can be paid again."""
    facts, iuv, plan_id = await _plan_after_notice(platform, tenant, 120_000)
    operator = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("operator",))
    async with service_client(platform, "payments", operator) as http:
        page = await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{facts[0].position_id}")
    # Beside the plan's own single notice, the page says what the one issued before it does.
    assert "emesso prima del piano: resta pagabile e, se pagato, salda il piano" in page.text
    interest = await _state(platform, tenant, plan_id, INTEREST)
    assert interest > 0
    await upload(platform, tenant, RECEIPTS, receipts_csv((iuv, "1200,00", "MB-3")))
    assert await _state(platform, tenant, plan_id, OWED) == 0
    status, answer = await upload(platform, tenant, FDR, flow_xml([(iuv, "MB-3", 120_000, 3)]))
    assert status == 200 and answer["revoked"] == 1, answer
    assert await paid(platform, tenant, facts[0].position_id) == 0
    # Owed again, and the interest the settlement had spared with it.
    assert await _state(platform, tenant, plan_id, OWED) == 120_000 + interest
    option = "SELECT status FROM payments.payment_options WHERE tenant_id = :t AND iuv = :i"
    assert await scalar(platform, tenant.tenant_id, option, t=tenant.tenant_id, i=iuv) == "payable"


@pytest.mark.asyncio
async def test_a_refunded_notice_that_settled_the_plan_makes_it_owed_again_with_notices(
    platform: Platform, tenant: Identity
) -> None:
    """Refunded whole, the payment that settled the plan leaves it owed again (before, the position
    owed with every notice of the plan no longer payable and none to issue), and the plan's notices
    are issued anew for the installments due."""
    facts, iuv, plan_id = await _plan_after_notice(platform, tenant, 64_490)
    interest = await _state(platform, tenant, plan_id, INTEREST)
    await upload(platform, tenant, RECEIPTS, receipts_csv((iuv, "644,90", "MB-4")))
    assert await _state(platform, tenant, plan_id, OWED) == 0
    await _refund_all(platform, tenant, facts[0].position_id, "644,90")
    assert await _state(platform, tenant, plan_id, OWED) == 64_490 + interest
    async with service_client(platform, "payments", api(tenant)) as http:
        issued = await http.post("/api/v1/payments/notices", json={"plan_id": plan_id})
    assert issued.status_code in (200, 201), issued.text
    options = issued.json()["options"]
    assert sum(o["amount_cents"] for o in options if o.get("installment")) >= 64_490, options
