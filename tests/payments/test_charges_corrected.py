"""The c.803 charges of a plan after the Ufficio tributi corrects the amount of one of its
positions (L. 160/2019, art. 1 c. 803: a share of what is due): computed again on what stands, the
notice for the old figure replaced by one for the new, what pagoPA GPD held of it withdrawn; charges
already paid stay as paid. Against the real database and the local GPD server."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from services.contracts import ChargesRecomputed
from services.kernel.identity import Identity
from services.payments import handlers_answers
from services.payments.domain_answers import Decision, charges_after_correction
from services.payments.domain_lapse import ROME
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.gpd_server import GpdServer
from tests.payments.test_charges import charged_plan, charging, column, lapsed, sent
from tests.payments.test_gpd_api import ORG, call, comune, gpd, noticed, plan_with_options
from tests.payments.test_gpd_invalidation import deliver, handed
from tests.payments.test_plan_life import run

__all__ = ["gpd"]

CHARGES = (
    "SELECT amount_cents, status, nav FROM payments.payment_options"
    " WHERE tenant_id = :t AND kind = 'charges' ORDER BY issued_at, status"
)


async def correct(platform: Platform, who: Identity, position_id: str, cents: int) -> None:
    decided = Decision(correct=uuid.UUID(position_id), new_cents=cents)
    at = datetime.now(ROME)
    await run(platform, who, lambda uow: handlers_answers.office_decided(uow, who.tenant_id, decided, at))


async def charges_rows(platform: Platform, who: Identity) -> list[Any]:
    async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
        return list((await uow.execute(sa.text(CHARGES), {"t": who.tenant_id})).all())


def test_the_charges_stand_on_what_the_corrections_leave_at_the_plans_rate() -> None:
    day = datetime(2026, 3, 1).date()
    early, late = day, datetime(2025, 12, 1).date()  # a notice of the same day; one of 90 days before
    assert charges_after_correction(100_000, 40_000, early, day) == 1_800  # 3% of € 600.00
    assert charges_after_correction(100_000, 40_000, late, day) == 3_600  # 6%
    assert charges_after_correction(2_000_000, 0, early, day) == 30_000  # the cap stays
    assert charges_after_correction(2_000_000, 1_500_000, early, day) == 15_000
    assert charges_after_correction(100_000, 100_000, early, day) == 0


@pytest.mark.asyncio
async def test_a_correction_after_a_lapse_recomputes_the_charges_and_replaces_their_notice(
    platform: Platform, tenant: Identity
) -> None:
    plan_id, position_id, options = await charged_plan(platform, tenant)
    [first] = [o for o in options if o["kind"] == "charges"]
    await lapsed(platform, tenant, plan_id)
    await correct(platform, tenant, position_id, 60_000)
    plan = "SELECT corrected_cents, charges_cents FROM payments.plans WHERE id = :p"
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        assert tuple((await uow.execute(sa.text(plan), {"p": plan_id})).one()) == (40_000, 1_800)
    old, new = await charges_rows(platform, tenant)
    assert (old.amount_cents, old.status, old.nav) == (3_000, "replaced", first["nav"])
    assert (new.amount_cents, new.status) == (1_800, "payable") and new.nav != first["nav"]
    [event] = await sent(platform, tenant, ChargesRecomputed.routing_key())
    recomputed = ChargesRecomputed.from_envelope(event)
    assert (recomputed.plan_id, recomputed.charges_before_cents, recomputed.charges_cents) == (
        str(plan_id),
        3_000,
        1_800,
    )
    assert recomputed.corrected_cents == 40_000 and recomputed.nav == new.nav
    async with service_client(platform, "payments", tenant) as http:
        page = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{position_id}")).text
    # The lapsed plan is no longer on the page; its charges notice is, for the new figure only.
    assert "Oneri di riscossione (L. 160/2019 c. 803)</td>" in page and "€ 18,00" in page
    assert first["nav"] not in page.replace(" ", "") and new.nav in page.replace(" ", "")
    # A second correction of the same position counts from the first.
    await correct(platform, tenant, position_id, 50_000)
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        assert tuple((await uow.execute(sa.text(plan), {"p": plan_id})).one()) == (50_000, 1_500)
    assert [(r.amount_cents, r.status) for r in await charges_rows(platform, tenant)] == [
        (3_000, "replaced"),
        (1_800, "replaced"),
        (1_500, "payable"),
    ]


@pytest.mark.asyncio
async def test_charges_already_paid_stay_as_paid_and_no_new_notice_is_issued(
    platform: Platform, tenant: Identity
) -> None:
    plan_id, position_id, _ = await charged_plan(platform, tenant)
    paid = "UPDATE payments.payment_options SET status = 'paid' WHERE tenant_id = :t AND kind = 'charges'"
    await run(platform, tenant, lambda uow: uow.execute(sa.text(paid), {"t": tenant.tenant_id}))
    await lapsed(platform, tenant, plan_id)
    await correct(platform, tenant, position_id, 60_000)
    plan = "SELECT corrected_cents, charges_cents FROM payments.plans WHERE id = :p"
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        assert tuple((await uow.execute(sa.text(plan), {"p": plan_id})).one()) == (40_000, 3_000)
    assert [(r.amount_cents, r.status) for r in await charges_rows(platform, tenant)] == [(3_000, "paid")]
    assert await sent(platform, tenant, ChargesRecomputed.routing_key()) == []


@pytest.mark.asyncio
async def test_a_correction_without_charges_records_what_it_took_off_and_says_nothing_of_charges(
    platform: Platform, tenant: Identity
) -> None:
    await comune(platform, tenant)
    plan_id, position_id = await plan_with_options(platform, tenant)
    await correct(platform, tenant, position_id, 30_000)
    plan = "SELECT corrected_cents, charges_cents FROM payments.plans WHERE id = :p"
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        assert tuple((await uow.execute(sa.text(plan), {"p": plan_id})).one()) == (20_000, 0)
    assert await sent(platform, tenant, ChargesRecomputed.routing_key()) == []
    assert await charges_rows(platform, tenant) == []


@pytest.mark.asyncio
async def test_the_replaced_charges_notice_is_withdrawn_from_gpd(
    platform: Platform, tenant: Identity, gpd: GpdServer
) -> None:
    await comune(platform, tenant, gpd.url)
    await charging(platform, tenant, seeded=True)
    (position_id,) = await noticed(platform, tenant, 50_000)
    body = {"position_ids": [position_id], "installments": 3}
    status, answer = await call(platform, tenant, "POST", "/api/v1/payments/plans", json=body)
    assert status == 201, answer
    plan_id = answer["plan_id"]
    status, answer = await call(
        platform, tenant, "POST", "/api/v1/payments/notices", json={"plan_id": plan_id}
    )
    assert status == 201, answer
    [charges] = await charges_rows(platform, tenant)
    assert charges.amount_cents == 1_500  # 3% of € 500.00
    status, answer = await call(
        platform, tenant, "POST", "/api/v1/payments/gpd/publish", json={"plan_id": plan_id}
    )
    assert status == 201, answer
    option_id = await column(
        platform, tenant, "SELECT id FROM payments.payment_options WHERE tenant_id = :t AND kind = 'charges'"
    )
    iupd = f"{ORG}-{option_id}"
    assert gpd.positions[(ORG, iupd)]["status"] == "VALID"
    await lapsed(platform, tenant, uuid.UUID(plan_id))
    await correct(platform, tenant, position_id, 30_000)
    [event] = await sent(platform, tenant, ChargesRecomputed.routing_key())
    assert event.payload["charges_cents"] == 900
    await deliver(platform, event)
    assert gpd.positions[(ORG, iupd)]["status"] == "INVALID"
    note = "oneri di riscossione ricalcolati dopo una correzione dell'importo: sostituiti da un nuovo avviso"
    assert (await handed(platform, tenant))[iupd] == ("invalidated", note)
    assert gpd.positions[(ORG, f"{ORG}-{plan_id}")]["status"] == "VALID"  # the plan's own: not this event's


@pytest.mark.asyncio
async def test_the_position_page_says_on_what_the_charges_of_its_plan_stand(
    platform: Platform, tenant: Identity
) -> None:
    # The reporting service refuses to correct a position while its plan is active; a correction
    # that crossed the plan's making arrives all the same, and the page says what it did.
    _, position_id, _ = await charged_plan(platform, tenant)
    await correct(platform, tenant, position_id, 60_000)
    async with service_client(platform, "payments", tenant) as http:
        page = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{position_id}")).text
    assert "(L. 160/2019, art. 1 c. 803): € 18,00" in page
    assert "Ricalcolati su € 600,00 dopo le decisioni dell'Ufficio tributi (€ 400,00 in meno)." in page
