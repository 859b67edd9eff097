"""«Somme da restituire»: the positions holding the debtors' money that they are not owed (all that
was paid on a position the office cancelled; beyond its amount, which corrections never make), listed for
the Comune's administrator with a link to each position's refunds; refunded, they leave the list."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.kernel.identity import Identity
from services.payments import consumers
from services.payments.domain_refunds import money_not_owed
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import fact, seed
from tests.payments.test_office_decisions import answered, deliver
from tests.payments.test_reconciliation import RECEIPTS, noticed, receipts_csv, upload
from tests.payments.test_refunds import as_role, paid, refunds_url


def test_money_not_owed_by_state_and_plan() -> None:
    assert money_not_owed(10_000, 10_000, "cancelled", False) == 10_000
    assert money_not_owed(10_000, 4_000, "cancelled", True) == 4_000  # a cancelled plan position too
    assert money_not_owed(10_000, 0, "cancelled", False) == 0
    assert money_not_owed(8_000, 10_000, "open", False) == 2_000
    assert money_not_owed(10_000, 10_000, "open", False) == 0
    assert money_not_owed(10_000, 10_338, "open", True) == 0  # the plan's interest on top


@pytest.mark.asyncio
async def test_the_comune_sees_what_to_give_back_and_a_refund_takes_it_off(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    cancelled, cut, partly, foreign = fact(10_000), fact(10_000), fact(10_000), fact(30_000)
    await seed(platform, tenant.tenant_id, cancelled, cut, partly)
    # `cut`: € 20.00 paid, then cancelled; `partly`: € 40.00 paid, still due, not listed.
    await seed(platform, other_tenant.tenant_id, foreign)
    paid_cancelled = await paid(platform, tenant, cancelled.position_id, 10_000, "2026-10-05")
    await paid(platform, tenant, cut.position_id, 2_000, "2026-10-06")
    await paid(platform, tenant, partly.position_id, 4_000, "2026-10-07")
    await paid(platform, other_tenant, foreign.position_id, 30_000, "2026-10-07")
    await deliver(platform, consumers.balances, answered(tenant, "cancelled", [cancelled.position_id]))
    await deliver(platform, consumers.balances, answered(tenant, "cancelled", [cut.position_id]))
    await deliver(platform, consumers.balances, answered(other_tenant, "cancelled", [foreign.position_id]))
    admin = as_role(tenant, "comune_admin")
    url = f"/t/{tenant.tenant_slug}/payments/rimborsi"
    async with service_client(platform, "payments", admin) as client:
        shown = await client.get(url)
        assert shown.status_code == 200, shown.text
        assert "<strong>2</strong> posizioni, in tutto <strong>€ 120,00</strong>" in shown.text
        assert shown.text.index(refunds_url(tenant, cancelled.position_id)) < shown.text.index(
            refunds_url(tenant, cut.position_id)
        )  # the largest first
        assert shown.text.count("Annullata (sgravio)") == 2
        assert partly.position_id not in shown.text and foreign.position_id not in shown.text
        # The reconciliation is the firm's page: named, not linked, for the Comune's staff.
        assert "/payments/reconciliation" not in shown.text and "a cura della società" in shown.text
        refund = {
            "amount": "100,00",
            "refunded_on": "20/10/2026",
            "reason": "Posizione annullata dall'ufficio",
            "conferma": "1",
        }
        done = await client.post(
            f"/t/{tenant.tenant_slug}/payments/payments/{paid_cancelled}/rimborsi", data=refund
        )
        assert done.status_code == 303, done.text
        after = await client.get(url)
    assert "<strong>1</strong> posizione, in tutto <strong>€ 20,00</strong>" in after.text
    assert cancelled.position_id not in after.text
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        logged = await uow.execute(
            sa.text(
                "SELECT count(*) FROM payments.access_log WHERE tenant_id = :t AND action = 'list_money_not_owed'"
            ),
            {"t": tenant.tenant_id},
        )
        assert logged.scalar() == 2
    async with service_client(platform, "payments", as_role(other_tenant, "comune_admin")) as client:
        theirs = await client.get(f"/t/{other_tenant.tenant_slug}/payments/rimborsi")
    assert "<strong>1</strong> posizione, in tutto <strong>€ 300,00</strong>" in theirs.text


@pytest.mark.asyncio
async def test_receipts_no_debt_owes_are_listed_to_give_back(platform: Platform, tenant: Identity) -> None:
    """Paid twice, or more than the notice: the money waits in the review queue and the list of
    what to give back says how much (the whole second payment, the excess of the other)."""
    _, iuvs = await noticed(platform, tenant, 10_000, 10_000)
    csv = receipts_csv((iuvs[0], "100,00", "D-1"), (iuvs[1], "150,00", "O-1"))
    assert (await upload(platform, tenant, RECEIPTS, csv))[0] == 200
    again = receipts_csv((iuvs[0], "100,00", "D-2"))
    assert (await upload(platform, tenant, RECEIPTS, again))[0] == 200
    async with service_client(platform, "payments", as_role(tenant, "comune_admin")) as client:
        shown = await client.get(f"/t/{tenant.tenant_slug}/payments/rimborsi")
    assert shown.status_code == 200
    table = shown.text.split('data-testid="receipts-not-owed"', 1)[1].split("</table>", 1)[0]
    rows = {iuv: table.split(iuv, 1)[1].split("</tr>", 1)[0] for iuv in iuvs}
    assert "<strong>€ 100,00</strong>" in rows[iuvs[0]] and "D-2" in rows[iuvs[0]]
    assert "<strong>€ 50,00</strong>" in rows[iuvs[1]] and "€ 150,00" in rows[iuvs[1]]
    assert "Da verificare: <strong>€ 150,00</strong>" in shown.text
