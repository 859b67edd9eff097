"""A plan's interest is owed on top of the debt (payments' `domain_interest`): what a payment paid of
it is not collected against the carico, so a plan paid to its end leaves a residual of zero, not
below; the aggio's base keeps the whole amount the Comune received."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa

from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting import domain_relazione as rel
from services.reporting import repository as reporting
from services.reporting import repository_aggio, repository_relazione
from tests.reporting.helpers import deliver_envelope, fact, paid, registered
from tests.reporting.test_ledger import refunded, revoked


@pytest.mark.asyncio
async def test_the_interest_paid_is_not_collected_against_the_debt(
    platform: Platform, tenant: Identity
) -> None:
    a = fact(10_000, "TARI", 2024, act_number="PLAN")
    await deliver_envelope(platform, registered(a).envelope(tenant.tenant_id, "test"))
    first = replace(paid(a, 5_100), paid_on="2026-03-31", interest_cents=100)
    last = replace(paid(a, 5_050), paid_on="2026-04-30", interest_cents=50)
    for event in (first, last):
        await deliver_envelope(platform, event.envelope(tenant.tenant_id, "test"))
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        summary = await reporting.summary(uow, tenant.tenant_id)
        collected = await uow.execute(
            sa.text("SELECT collected_cents FROM reporting.positions WHERE tenant_id = :t"),
            {"t": tenant.tenant_id},
        )
        assert collected.scalar_one() == 10_000
        scope = rel.Scope("final", date(2026, 1, 1), date(2026, 12, 1), date(2026, 12, 1))
        [history] = [
            h async for part in repository_relazione.histories(uow, tenant.tenant_id, scope) for h in part
        ]
        bases = await repository_aggio.bases(uow, tenant.tenant_id, date(2026, 3, 1), date(2026, 4, 30))
    assert summary.totals.collected_cents == 10_000
    assert (history.collected_cents, history.residual_cents) == (10_000, 0)
    assert sum(b.collected_cents for b in bases.values()) == 10_150  # the money received
    # Paid off: settled on the day of the payment that paid it off (no service announces it).
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        settled = await uow.execute(
            sa.text("SELECT settled_on FROM reporting.positions WHERE tenant_id = :t"),
            {"t": tenant.tenant_id},
        )
        assert settled.scalar_one() == date(2026, 4, 30)
    # The whole first payment refunded: the debt it paid comes back, not its interest on top.
    await deliver_envelope(platform, refunded(first, 5_100).envelope(tenant.tenant_id, "test"))  # type: ignore[arg-type]
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        back = await reporting.summary(uow, tenant.tenant_id)
        [again] = [
            h async for part in repository_relazione.histories(uow, tenant.tenant_id, scope) for h in part
        ]
    assert back.totals.collected_cents == 5_000 and (again.collected_cents, again.residual_cents) == (
        5_000,
        5_000,
    )
    # A revocation takes back what the payment paid of the debt.
    undone = revoked(replace(last, iuv="", receipt_ref="", flow_id=""))  # type: ignore[arg-type]
    await deliver_envelope(platform, undone.envelope(tenant.tenant_id, "test"))
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        after = await reporting.summary(uow, tenant.tenant_id)
    assert after.totals.collected_cents == 0
