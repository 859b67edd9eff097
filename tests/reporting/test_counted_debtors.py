"""One rule counts the debtors everywhere (`repository.counted_positions`): a debtor counts only
through a position the office did not cancel. The dashboard's «Debitori lavorati», the portal's
«Lavorati» and «Raggiunti» and the digest's «Contribuenti raggiunti» agree, and a debtor whose only
position was cancelled (sgravio) is counted by none of them."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from services.contracts import DisputeOpened, OutcomeRecorded
from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting import handlers_cases, handlers_portal
from services.reporting import repository as repo
from services.reporting import repository_digests as digests
from services.reporting.domain_digest import Period, figure_rows
from tests.conftest import service_client
from tests.reporting.helpers import deliver, fact, registered
from tests.reporting.test_cases import OPENED, to_cases, viewer

CALLED = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
WEEK = Period(CALLED.date().replace(day=23), CALLED.date().replace(day=29))


def answered(debtor_id: str) -> OutcomeRecorded:
    return OutcomeRecorded(str(uuid.uuid4()), debtor_id, "contattato", "Olga Russo", CALLED.isoformat())


async def cancel(platform: Platform, who: Identity, debtor_id: str, position_id: str) -> None:
    """The debtor disputes; the office answers with a sgravio of `position_id`."""
    case = str(uuid.uuid4())
    await to_cases(platform, who.tenant_id, DisputeOpened(case, debtor_id, "Non dovuto", "op-1", OPENED))
    async with platform.databases["reporting"].unit_of_work(who.tenant_id) as uow:
        typed = handlers_cases.Typed("cancelled", "Atto annullato in autotutela", "", (position_id,))
        await handlers_cases.answer(uow, viewer(who, "comune_admin"), uuid.UUID(case), typed)
        await uow.commit()


async def counts(platform: Platform, who: Identity) -> dict[str, int]:
    async with platform.databases["reporting"].unit_of_work(who.tenant_id) as uow:
        summary = await repo.summary(uow, who.tenant_id)
        portal = (await handlers_portal.portal(uow, who.tenant_id, CALLED.date())).total
        digest = dict(figure_rows(await digests.figures(uow, who.tenant_id, WEEK)))
    async with service_client(platform, "reporting", viewer(who)) as http:
        page = (await http.get(f"/t/{who.tenant_slug}/reporting/")).text
    shown = re.search(r'data-testid="debtors-contacted">(\d+)<', page)
    assert shown is not None
    return {
        "dashboard": summary.debtors_contacted,
        "dashboard page": int(shown.group(1)),
        "portal worked": portal.stage("worked").debtors,
        "portal reached": portal.stage("reached").debtors,
        "digest reached": int(digest["Contribuenti raggiunti"]),
    }


@pytest.mark.asyncio
async def test_a_debtor_whose_only_position_was_cancelled_is_counted_nowhere(
    platform: Platform, tenant: Identity
) -> None:
    kept = fact(10_000, debtor_name="ROSSI MARIO")
    gone = fact(25_093, debtor_name="BIANCHI ANNA")
    # A debtor with two positions, one cancelled, still counts through the other.
    half = fact(15_000, debtor_name="VERDI LUCA")
    half_gone = fact(5_000, debtor_id=half.debtor_id, debtor_name="VERDI LUCA")
    debtors = (kept.debtor_id, gone.debtor_id, half.debtor_id)
    await deliver(platform, tenant.tenant_id, registered(kept, gone, half, half_gone))
    await deliver(platform, tenant.tenant_id, *(answered(d) for d in debtors))
    first = await counts(platform, tenant)
    assert first == dict.fromkeys(first, 3)

    await cancel(platform, tenant, gone.debtor_id, gone.position_id)
    await cancel(platform, tenant, half.debtor_id, half_gone.position_id)
    after = await counts(platform, tenant)
    assert after == dict.fromkeys(after, 2)
