"""An active plan after the Ufficio tributi corrects the amount of its position (`CaseAnswered`
delivered to the `payments.balances` consumer through its inbox, as the worker does): the paid
installments stay, the rest is spread again over the same dates, the notices for the old figures
are replaced by new ones, `PlanReamounted` is published and the `payments.gpd` consumer withdraws
the plan's old publication from pagoPA (the local GPD server)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from services.contracts import ChargesRecomputed, PlanReamounted
from services.kernel.identity import Identity
from services.payments import consumers
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.gpd_server import GpdServer
from tests.payments.helpers import position, seed
from tests.payments.test_charges import charging, sent
from tests.payments.test_gpd_api import ORG, call, comune, gpd, noticed
from tests.payments.test_office_decisions import answered, deliver
from tests.payments.test_reconciliation import RECEIPTS, paid, receipts_csv, upload
from tests.support import make_identity, position_fact

__all__ = ["gpd"]


async def rows(platform: Platform, who: Identity, sql: str, **params: Any) -> list[Any]:
    async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
        return list((await uow.execute(sa.text(sql), {"t": who.tenant_id, **params})).all())


INSTALLMENTS = (
    "SELECT number, due_date, principal_cents, interest_cents, paid_cents FROM payments.plan_installments"
    " WHERE tenant_id = :t AND plan_id = :p ORDER BY number"
)
NAVS = "SELECT installment, nav FROM payments.payment_options WHERE tenant_id = :t AND plan_id = :p AND status = 'payable'"
IUVS = "SELECT installment, iuv FROM payments.payment_options WHERE tenant_id = :t AND plan_id = :p AND status = 'payable'"
PLAN = "SELECT status FROM payments.plans WHERE tenant_id = :t AND id = :p"
OPTIONS = (
    "SELECT installment, amount_cents, status FROM payments.payment_options"
    " WHERE tenant_id = :t AND plan_id = :p ORDER BY issued_at, installment NULLS FIRST"
)


async def published(platform: Platform, who: Identity, plan_id: str) -> None:
    """The plan handed to pagoPA (the local GPD server)."""
    status, answer = await call(
        platform, who, "POST", "/api/v1/payments/gpd/publish", json={"plan_id": plan_id}
    )
    assert status == 201, answer


async def planned(platform: Platform, who: Identity) -> tuple[str, str, list[dict[str, Any]]]:
    """A position of € 1,000.00 in a plan of six installments with its notices, the first two
    installments paid (a payment recorded by hand, as the treasury reported it)."""
    (position_id,) = await noticed(platform, who, 100_000)
    body = {"position_ids": [position_id], "installments": 6}
    status, plan = await call(platform, who, "POST", "/api/v1/payments/plans", json=body)
    assert status == 201, plan
    status, issued = await call(
        platform, who, "POST", "/api/v1/payments/notices", json={"plan_id": plan["plan_id"]}
    )
    assert status == 201, issued
    two = sum(o["amount_cents"] for o in issued["options"] if o["installment"] in (1, 2))
    payment = {"amount_cents": two, "paid_on": "2026-11-02", "reason": "Bonifico in tesoreria"}
    status, _ = await call(
        platform, who, "POST", f"/api/v1/payments/positions/{position_id}/payments", json=payment
    )
    assert status == 201
    return plan["plan_id"], position_id, issued["options"]


@pytest.mark.asyncio
async def test_a_correction_spreads_the_rest_of_an_active_plan_over_the_same_dates(
    platform: Platform, tenant: Identity, gpd: GpdServer
) -> None:
    await comune(platform, tenant, gpd.url)
    plan_id, position_id, issued = await planned(platform, tenant)
    await published(platform, tenant, plan_id)
    before = await rows(platform, tenant, INSTALLMENTS, p=uuid.UUID(plan_id))
    assert [r.number for r in before] == [1, 2, 3, 4, 5, 6] and [r.paid_cents > 0 for r in before] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    decision = answered(tenant, "corrected", [position_id], 60_000)
    await deliver(platform, consumers.balances, decision)
    await deliver(platform, consumers.balances, decision)  # delivered again: handled once
    after = await rows(platform, tenant, INSTALLMENTS, p=uuid.UUID(plan_id))
    assert [r.number for r in after] == [1, 2, 3, 4, 5, 6]
    assert after[:2] == before[:2]
    assert [r.due_date for r in after[2:]] == [r.due_date for r in before[2:]]
    # What is left to spread: the principal less the cut, which is what is still due on the
    # position (€ 600.00 less the principal paid: the interest paid went on no position).
    residual = 100_000 - before[0].principal_cents - before[1].principal_cents - 40_000
    assert sum(r.principal_cents for r in after[2:]) == residual
    assert sum(r.interest_cents for r in after[2:]) < sum(r.interest_cents for r in before[2:])
    options = await rows(platform, tenant, OPTIONS, p=uuid.UUID(plan_id))
    payable = sorted((o.installment or 0, o.amount_cents) for o in options if o.status == "payable")
    assert [n for n, _ in payable] == [0, 3, 4, 5, 6]
    assert [c for n, c in payable if n] == [r.principal_cents + r.interest_cents for r in after[2:]]
    assert {o.installment for o in options if o.status == "replaced"} == {None, 3, 4, 5, 6}
    # An old notice is no longer printed: a copy would be sent or paid by mistake.
    [old] = [o["nav"] for o in issued if o["installment"] == 3]
    async with service_client(platform, "payments", tenant) as http:
        stale = await http.get(f"/t/{tenant.tenant_slug}/payments/notices/{old}/pdf")
    assert stale.status_code == 409 and "è stato sostituito da un avviso nuovo" in stale.text
    [event] = await sent(platform, tenant, PlanReamounted.routing_key())
    reamounted = PlanReamounted.from_envelope(event)
    assert (reamounted.plan_id, reamounted.position_id, reamounted.cut_cents) == (
        plan_id,
        position_id,
        40_000,
    )
    assert (reamounted.residual_principal_cents, reamounted.installments_after) == (residual, 6)
    # What pagoPA held of the plan (its old installments) is withdrawn.
    iupd = f"{ORG}-{plan_id}"
    assert gpd.positions[(ORG, iupd)]["status"] == "VALID"
    await deliver(platform, consumers.gpd, event)
    assert gpd.positions[(ORG, iupd)]["status"] == "INVALID"
    async with service_client(platform, "payments", tenant) as http:
        page = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{position_id}")).text
    assert "decisione dell&#39;Ufficio tributi (correzione o sgravio), rate del piano ricalcolate" in page
    assert "6 rate mensili su € 1.000,00" in page
    assert "rate ricalcolate su € 600,00 dopo le decisioni dell'Ufficio tributi (€ 400,00 in meno)" in page
    async with service_client(platform, "payments", tenant) as http:
        fragment = (await http.get(f"/t/{tenant.tenant_slug}/payments/plans/{plan_id}/send")).text
    assert (
        "rate ricalcolate su € 600,00 dopo le decisioni dell'Ufficio tributi (€ 400,00 in meno)" in fragment
    )


@pytest.mark.asyncio
async def test_a_correction_down_to_what_was_paid_leaves_the_plan_paid(
    platform: Platform, tenant: Identity
) -> None:
    await comune(platform, tenant)
    plan_id, position_id, _ = await planned(platform, tenant)
    # What the position was paid: the installments' principal (their interest is owed on top).
    paid = sum(
        r.principal_cents
        for r in await rows(platform, tenant, INSTALLMENTS, p=uuid.UUID(plan_id))
        if r.paid_cents
    )
    await deliver(platform, consumers.balances, answered(tenant, "corrected", [position_id], paid))
    after = await rows(platform, tenant, INSTALLMENTS, p=uuid.UUID(plan_id))
    assert [r.number for r in after] == [1, 2] and all(
        r.paid_cents >= r.principal_cents + r.interest_cents for r in after
    )
    options = await rows(platform, tenant, OPTIONS, p=uuid.UUID(plan_id))
    assert [o.installment for o in options if o.status == "payable"] == []
    [event] = await sent(platform, tenant, PlanReamounted.routing_key())
    assert event.payload["residual_principal_cents"] == 0 and event.payload["installments_after"] == 2


async def planned_over_two(platform: Platform, who: Identity) -> tuple[str, str, str]:
    """A debtor's two TARI positions (€ 600.00 and € 400.00, each with its notice) in one plan of
    six installments with its notices, nothing paid yet: the plan's and the positions' ids."""
    debtor = str(uuid.uuid4())
    kept, gone = (position_fact(c, debtor_id=debtor, credit=("TARI", 2022, "T")) for c in (60_000, 40_000))
    await seed(platform, who.tenant_id, kept, gone)
    ids = [kept.position_id, gone.position_id]
    status, answer = await call(platform, who, "POST", "/api/v1/payments/notices", json={"position_ids": ids})
    assert status == 201, answer
    status, plan = await call(
        platform, who, "POST", "/api/v1/payments/plans", json={"position_ids": ids, "installments": 6}
    )
    assert status == 201, plan
    status, issued = await call(
        platform, who, "POST", "/api/v1/payments/notices", json={"plan_id": plan["plan_id"]}
    )
    assert status == 201, issued
    return plan["plan_id"], kept.position_id, gone.position_id


@pytest.mark.asyncio
async def test_a_cancelled_position_of_a_plan_leaves_the_plan_on_the_others(
    platform: Platform, tenant: Identity
) -> None:
    await comune(platform, tenant)
    plan_id, kept, gone = await planned_over_two(platform, tenant)
    before = await rows(platform, tenant, INSTALLMENTS, p=uuid.UUID(plan_id))
    assert sum(r.principal_cents for r in before) == 100_000
    async with service_client(platform, "payments", tenant) as http:
        planned_page = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{kept}")).text
    # The page names the plan's other act, linked.
    assert "Il piano comprende gli atti" in planned_page and f"/payments/positions/{gone}" in planned_page
    decision = answered(tenant, "cancelled", [gone])
    await deliver(platform, consumers.balances, decision)
    await deliver(platform, consumers.balances, decision)  # delivered again: handled once
    cancelled = await position(platform, tenant.tenant_id, gone)
    assert cancelled is not None and cancelled.state == "cancelled"
    after = await rows(platform, tenant, INSTALLMENTS, p=uuid.UUID(plan_id))
    # The same six dates, on what the other position leaves.
    assert [r.number for r in after] == [1, 2, 3, 4, 5, 6]
    assert [r.due_date for r in after] == [r.due_date for r in before]
    assert sum(r.principal_cents for r in after) == 60_000
    options = await rows(platform, tenant, OPTIONS, p=uuid.UUID(plan_id))
    payable = sorted((o.installment or 0, o.amount_cents) for o in options if o.status == "payable")
    assert [n for n, _ in payable] == [0, 1, 2, 3, 4, 5, 6]
    assert [c for n, c in payable if n] == [r.principal_cents + r.interest_cents for r in after]
    assert {o.installment for o in options if o.status == "replaced"} == {None, 1, 2, 3, 4, 5, 6}
    [event] = await sent(platform, tenant, PlanReamounted.routing_key())
    reamounted = PlanReamounted.from_envelope(event)
    assert (reamounted.plan_id, reamounted.position_id, reamounted.cut_cents) == (plan_id, gone, 40_000)
    assert (reamounted.residual_principal_cents, reamounted.installments_after) == (60_000, 6)
    # The plan's single payment stands on what the other position leaves, not on both.
    assert [c for n, c in payable if n == 0] == [60_000]
    async with service_client(platform, "payments", tenant) as http:
        page = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{kept}")).text
        left = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{gone}")).text
    assert "rate ricalcolate su € 600,00 dopo le decisioni dell'Ufficio tributi (€ 400,00 in meno)" in page
    assert "Il piano comprende gli atti" not in page  # the other one left it
    # The cancelled position has left the plan: its page offers none of the plan's notices.
    assert "Rate del piano" not in left and "Pagamento unico del piano" not in left
    admin = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("comune_admin",), user_id="u-admin")
    async with service_client(platform, "payments", admin) as http:
        refunds = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{gone}/rimborsi")).text
    assert 'data-testid="residual">€ 0,00<' in refunds
    # Paying the single payment pays the position that stands, never the cancelled one.
    [single] = [
        o.iuv for o in await rows(platform, tenant, IUVS, p=uuid.UUID(plan_id)) if o.installment is None
    ]
    status, answer = await upload(platform, tenant, RECEIPTS, receipts_csv((single, "600,00", "SP-1")))
    assert status == 200 and answer["matched"] == 1, answer
    assert [await paid(platform, tenant, p) for p in (kept, gone)] == [60_000, 0]


@pytest.mark.asyncio
async def test_a_plan_whose_every_position_is_cancelled_is_cancelled(
    platform: Platform, tenant: Identity, gpd: GpdServer
) -> None:
    await comune(platform, tenant, gpd.url)
    plan_id, kept, gone = await planned_over_two(platform, tenant)
    await published(platform, tenant, plan_id)
    await deliver(platform, consumers.balances, answered(tenant, "cancelled", [kept, gone]))
    [status] = [r.status for r in await rows(platform, tenant, PLAN, p=uuid.UUID(plan_id))]
    assert status == "cancelled"
    # The installments stay as agreed; none of the plan's notices may be paid any more.
    assert len(await rows(platform, tenant, INSTALLMENTS, p=uuid.UUID(plan_id))) == 6
    options = await rows(platform, tenant, OPTIONS, p=uuid.UUID(plan_id))
    assert len(options) == 7 and {o.status for o in options} == {"unpayable"}
    [event] = await sent(platform, tenant, PlanReamounted.routing_key())
    assert event.payload["cut_cents"] == 100_000 and event.payload["installments_after"] == 0
    # pagoPA no longer offers the plan's installments.
    iupd = f"{ORG}-{plan_id}"
    assert gpd.positions[(ORG, iupd)]["status"] == "VALID"
    await deliver(platform, consumers.gpd, event)
    assert gpd.positions[(ORG, iupd)]["status"] == "INVALID"
    async with service_client(platform, "payments", tenant) as http:
        page = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{kept}")).text
    assert "Annullata dall'Ufficio tributi (sgravio)" in page and "Rate del piano" not in page
    # Its notices stay listed, as no longer payable.
    assert "Nessun avviso emesso" not in page and page.count("Non più pagabile") >= 7


@pytest.mark.asyncio
async def test_a_cancellation_in_a_plan_computes_its_charges_again_on_what_stands(
    platform: Platform, tenant: Identity
) -> None:
    await comune(platform, tenant)
    await charging(platform, tenant, seeded=True)
    plan_id, _, gone = await planned_over_two(platform, tenant)
    await deliver(platform, consumers.balances, answered(tenant, "cancelled", [gone]))
    [event] = await sent(platform, tenant, ChargesRecomputed.routing_key())
    recomputed = ChargesRecomputed.from_envelope(event)
    # 3% of € 1,000.00, then of the € 600.00 the other position leaves.
    assert (recomputed.plan_id, recomputed.corrected_cents) == (plan_id, 40_000)
    assert (recomputed.charges_before_cents, recomputed.charges_cents) == (3_000, 1_800)


@pytest.mark.asyncio
async def test_the_office_reads_the_position_page_and_its_notices_without_acting_on_them(
    platform: Platform, tenant: Identity
) -> None:
    await comune(platform, tenant)
    plan_id, kept, gone = await planned_over_two(platform, tenant)
    await deliver(platform, consumers.balances, answered(tenant, "cancelled", [gone]))
    office = make_identity(tenant.tenant_id, tenant.tenant_slug, roles=("comune_viewer",), user_id="u-office")
    base = f"/t/{tenant.tenant_slug}/payments"
    async with service_client(platform, "payments", office) as http:
        page = await http.get(f"{base}/positions/{kept}")
        [nav] = [
            o.nav for o in await rows(platform, tenant, NAVS, p=uuid.UUID(plan_id)) if o.installment == 1
        ]
        pdf = await http.get(f"{base}/notices/{nav}/pdf")
        paid = await http.post(f"{base}/positions/{kept}/payments", data={"amount": "1,00"})
    text = page.text
    assert page.status_code == 200 and 'data-testid="read-only"' in text
    assert "rate ricalcolate su € 600,00 dopo le decisioni dell'Ufficio tributi (€ 400,00 in meno)" in text
    assert "/reporting/portale/debitori/" in text and "Ricerca posizioni" not in text
    for form in ("Registra pagamento", "plans/builder", "Emetti gli avvisi", 'name="channel"'):
        assert form not in text, form
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert paid.status_code == 403
    seen = await rows(
        platform,
        tenant,
        "SELECT action FROM payments.access_log WHERE tenant_id = :t AND user_id = 'u-office'",
    )
    assert "view_position" in {r.action for r in seen}
