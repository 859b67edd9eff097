"""The relazione's «Prescritta» counts the payments reporting knows (`kernel.limitation`): a 2020 act,
time-barred from 1 January 2026 when nothing interrupts it, paid in part on 10 November 2025 runs
until 10 November 2030; a revoked payment never happened; an interim relazione counts the payments
up to its end, whatever its period."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting import domain_relazione as rel
from services.reporting import repository_relazione
from tests.reporting.helpers import deliver_envelope, fact, paid, registered
from tests.reporting.test_ledger import revoked

ASSIGNED = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)


async def _histories(platform: Platform, who: Identity, scope: rel.Scope) -> dict[str, rel.History]:
    async with platform.databases["reporting"].unit_of_work(who.tenant_id) as uow:
        found = [h async for part in repository_relazione.histories(uow, who.tenant_id, scope) for h in part]
    return {h.act_number: h for h in found}


@pytest.mark.asyncio
async def test_a_payment_while_the_term_runs_keeps_the_position_out_of_prescritta(
    platform: Platform, tenant: Identity
) -> None:
    kept, barred, undone = (
        fact(40_000, "TARI", 2020, act_number=name) for name in ("KEPT", "BARRED", "UNDONE")
    )
    # Served on 1 February 2022 (the act's day in the Comune's file): barred from 2 February 2027.
    served = fact(40_000, "TARI", 2020, act_number="SERVED", act_on="2022-02-01")
    envelope = registered(kept, barred, undone, served).envelope(tenant.tenant_id, "test")
    await deliver_envelope(platform, replace(envelope, occurred_at=ASSIGNED))
    part, gone = (
        replace(paid(kept, 5_000), paid_on="2025-11-10"),
        replace(paid(undone, 5_000), paid_on="2025-11-10"),
    )
    for event in (part, gone):
        await deliver_envelope(platform, event.envelope(tenant.tenant_id, "test"))
    revocation = revoked(gone)  # type: ignore[arg-type]
    await deliver_envelope(platform, revocation.envelope(tenant.tenant_id, "test"))
    final = rel.Scope("final", date(2025, 1, 1), date(2026, 12, 1), date(2026, 12, 1))
    found = await _histories(platform, tenant, final)
    assert found["KEPT"].paid_days == (date(2025, 11, 10),) and found["KEPT"].barred_on == date(2030, 11, 11)
    assert rel.reason(found["KEPT"], final.as_of) is rel.Reason.NOT_WORKED
    assert rel.reason(found["BARRED"], final.as_of) is rel.Reason.TIME_BARRED
    assert found["SERVED"].barred_on == date(2027, 2, 2)
    assert rel.reason(found["SERVED"], final.as_of) is rel.Reason.NOT_WORKED
    assert (
        found["UNDONE"].paid_days == () and rel.reason(found["UNDONE"], final.as_of) is rel.Reason.TIME_BARRED
    )
    # An interim of 2026 alone counts the 2025 payment for the limitation, not as collected.
    interim = rel.Scope("interim", date(2026, 1, 1), date(2026, 6, 30), date(2026, 6, 30))
    found = await _histories(platform, tenant, interim)
    assert found["KEPT"].collected_cents == 0 and found["KEPT"].barred_on == date(2030, 11, 11)
    assert rel.reason(found["KEPT"], interim.as_of) is rel.Reason.NOT_WORKED
