"""The Ufficio tributi finds the taxpayer at its counter or on the phone by the pagoPA notice they
hold: its code (NAV) as printed, in groups, or its IUV. Reporting keeps each notice from
`payments.notice_issued` (`debtor_notices`), its Comune's only."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
import sqlalchemy as sa

from services.contracts import NoticeIssued, PaymentsReceived, PlanCreated
from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting.models_ledger import debtor_notices
from tests.conftest import service_client
from tests.reporting.helpers import deliver, fact, registered
from tests.reporting.test_ledger import flow_payment
from tests.reporting.test_portal import person, portale

NAV, IUV = "302001234567890123", "02001234567890123"


def notice(debtor_id: str, nav: str = NAV, iuv: str = IUV, position_id: str = "") -> NoticeIssued:
    return NoticeIssued(nav, iuv, position_id or str(uuid.uuid4()), debtor_id, 12_000, "2026-12-31", "Olga")


@pytest.mark.asyncio
async def test_the_office_finds_the_taxpayer_by_the_notice_they_hold(
    platform: Platform, tenant: Identity
) -> None:
    a = fact(12_000, "IMU", 2023, debtor_name="ROSSI MARIO", fiscal_code="RSSMRA80A01H501U")
    b = fact(9_000, "TARI", 2023, debtor_name="BIANCHI ANNA", fiscal_code="BNCNNA70B41F205X")
    await deliver(
        platform, tenant.tenant_id, registered(a, b), notice(a.debtor_id, position_id=a.position_id)
    )
    await deliver(platform, tenant.tenant_id, notice(a.debtor_id))  # sent again: kept once
    # Another Comune's notice with codes this Comune's search must never reach.
    elsewhere = uuid.uuid4()
    await deliver(platform, elsewhere, notice(str(uuid.uuid4()), "302009999999999999", "02009999999999999"))
    viewer = person(tenant, "comune_admin")

    async def found(typed: str) -> str:
        async with service_client(platform, "reporting", viewer) as client:
            answer = await client.get(portale(viewer, "/debitori"), params={"cerca": typed})
        assert answer.status_code == 200, answer.text
        return answer.text

    for typed in ("3020 0123 4567 8901 23", NAV, "02001234567890123", "0200-1234-5678-90123"):
        page = await found(typed)
        assert "ROSSI MARIO" in page and "BIANCHI ANNA" not in page, typed
        assert "<strong>1</strong> debitore" in page
    assert "<strong>0</strong> debitori" in await found("302009999999999999")
    assert "<strong>0</strong> debitori" in await found("302001234567890124")
    hint = await found("rossi")
    assert (
        "Codice fiscale, nome o codice avviso" in hint
        and "il codice dell'avviso pagoPA che ha in mano" in hint
    )
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        kept = (await uow.execute(sa.select(debtor_notices.c.nav))).scalars().all()
    assert kept == [NAV]


@pytest.mark.asyncio
async def test_the_debtors_page_lists_the_notices_issued_and_which_were_paid(
    platform: Platform, tenant: Identity
) -> None:
    a = fact(30_000, "TARI", 2024, debtor_name="VERDI ANNA", fiscal_code="VRDNNA70B41F205X")
    plan_id = str(uuid.uuid4())
    granted = PlanCreated(plan_id, a.debtor_id, (a.position_id,), "TARI", 30_000, 3, "2027-01-31", "Olga")
    plan = NoticeIssued(
        "302000000000000111", "02000000000000111", "", a.debtor_id, 10_000, "2027-01-31", "Olga", plan_id, 1
    )
    single = NoticeIssued(NAV, IUV, a.position_id, a.debtor_id, 30_000, "2026-12-31", "Olga")
    paid = dataclasses.replace(flow_payment(a, 10_000), iuv="02000000000000111", paid_on="2026-12-02")
    await deliver(
        platform,
        tenant.tenant_id,
        registered(a),
        granted,
        plan,
        single,
        PaymentsReceived(batch_id=str(uuid.uuid4()), chunk=1, chunks=1, payments=(paid,)),
    )
    viewer = person(tenant, "comune_viewer")
    async with service_client(platform, "reporting", viewer) as client:
        page = (await client.get(portale(viewer, f"/debitori/{a.debtor_id}"))).text
    table = page.split('data-testid="debtor-notices"', 1)[1].split("</table>", 1)[0]
    rows = table.split("<tbody>", 1)[1].split("</tr>")
    assert (
        "3020 0000 0000 0001 11" in rows[0]
        and f"Piano di rate (TARI, atto {a.act_number}, dal 31/01/2027): rata 1" in rows[0]
    )
    assert "31/01/2027" in rows[0] and "Pagato il 02/12/2026" in rows[0]
    assert "3020 0123 4567 8901 23" in rows[1] and f"TARI 2024 · atto {a.act_number}" in rows[1]
    assert "€ 300,00" in rows[1] and "Nessun pagamento ricevuto" in rows[1]


@pytest.mark.asyncio
async def test_withdrawing_an_act_warns_of_the_notices_issued_on_its_positions(
    platform: Platform, tenant: Identity
) -> None:
    a = fact(30_000, "TARI", 2020, debtor_name="NERI ADA", fiscal_code="NRIADA70B41F205X")
    await deliver(platform, tenant.tenant_id, registered(a))
    admin = person(tenant, "comune_admin")
    page_url = portale(admin, f"/debitori/{a.debtor_id}")
    form = {"kind": "sollecito", "served_on": "2025-06-10", "position_id": a.position_id}
    async with service_client(platform, "reporting", admin) as client:
        assert (await client.post(f"{page_url}/atti", data=form)).status_code == 303
        before = (await client.get(page_url)).text
        await deliver(platform, tenant.tenant_id, notice(a.debtor_id, position_id=a.position_id))
        after = (await client.get(page_url)).text
    assert 'data-testid="withdraw-notices"' not in before
    assert "su queste posizioni risulta un avviso pagoPA emesso" in after
    assert "l&#39;avviso resta pagabile" in after or "l'avviso resta pagabile" in after
