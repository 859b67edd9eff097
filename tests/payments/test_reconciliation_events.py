"""A reconciliation import tells the other services in `PaymentsReceived` chunks; the contact
queue and the reporting totals take each payment in them as a single payment."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from services.contracts import PaymentsReceived, PaymentsReported
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting import repository as reporting
from tests.contact.helpers import debtor
from tests.contact.helpers import deliver as deliver_to_contact
from tests.payments.helpers import seed
from tests.payments.test_notices import issue, with_creditor
from tests.payments.test_reconciliation import FDR, RECEIPTS, flow_xml, receipts_csv, upload
from tests.reporting.helpers import deliver_envelope as deliver_to_reporting
from tests.support import position_fact, registered


async def outbox_chunks(platform: Platform, who: Identity) -> list[Envelope]:
    sql = "SELECT body FROM payments.outbox WHERE tenant_id = :t AND routing_key = :k ORDER BY id"
    async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
        rows = await uow.execute(sa.text(sql), {"t": who.tenant_id, "k": PaymentsReceived.routing_key()})
        return [Envelope.decode(bytes(r.body)) for r in rows]


@pytest.mark.asyncio
async def test_the_payments_of_a_flow_reach_contact_and_reporting(
    platform: Platform, tenant: Identity
) -> None:
    await with_creditor(platform, tenant)
    debtor_id = str(uuid.uuid4())
    a, b = (position_fact(cents, debtor_id=debtor_id) for cents in (6_000, 4_000))
    await seed(platform, tenant.tenant_id, a, b)
    for deliver in (deliver_to_contact, deliver_to_reporting):
        await deliver(platform, registered(tenant.tenant_id, a, b))
    options = (await issue(platform, tenant, [a.position_id, b.position_id]))[1]["options"]
    lines = [(o["iuv"], f"R{n}", o["amount_cents"], 0) for n, o in enumerate(options)]
    assert (await upload(platform, tenant, FDR, flow_xml(lines)))[1]["matched"] == 2
    [chunk] = await outbox_chunks(platform, tenant)
    event = PaymentsReceived.from_envelope(chunk)
    assert {(f.position_id, f.amount_cents, f.settled, f.source) for f in event.payments} == {
        (a.position_id, 6_000, True, "flow"),
        (b.position_id, 4_000, True, "flow"),
    }
    await deliver_to_contact(platform, chunk)
    await deliver_to_reporting(platform, chunk)
    await deliver_to_reporting(platform, chunk)  # the same message again changes nothing
    row = await debtor(platform, tenant.tenant_id, debtor_id)
    assert row is not None and row.total_due_cents == 0
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        summary = await reporting.summary(uow, tenant.tenant_id)
    assert (summary.payments, summary.totals.collected_cents) == (2, 10_000)


@pytest.mark.asyncio
async def test_a_flow_names_itself_on_the_payments_known_from_their_receipts(
    platform: Platform, tenant: Identity
) -> None:
    """Receipts first, the flow later: `PaymentsReported` tells reporting, whose payments then name
    the flow (the portal, the debtor's file, the relazione's flows annex)."""
    await with_creditor(platform, tenant)
    a = position_fact(6_000, debtor_id=str(uuid.uuid4()))
    await seed(platform, tenant.tenant_id, a)
    await deliver_to_reporting(platform, registered(tenant.tenant_id, a))
    [option] = (await issue(platform, tenant, [a.position_id]))[1]["options"]
    status, _ = await upload(platform, tenant, RECEIPTS, receipts_csv((option["iuv"], "60,00", "R-1")))
    assert status == 200
    for chunk in await outbox_chunks(platform, tenant):
        await deliver_to_reporting(platform, chunk)
    flow = "2026-11-28ABI03069-REPORTED"
    status, answer = await upload(platform, tenant, FDR, flow_xml([(option["iuv"], "R-1", 6_000, 0)], flow))
    assert status == 200, answer
    sql = "SELECT body FROM payments.outbox WHERE tenant_id = :t AND routing_key = :k"
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        rows = await uow.execute(sa.text(sql), {"t": tenant.tenant_id, "k": PaymentsReported.routing_key()})
        [reported] = [Envelope.decode(bytes(r.body)) for r in rows]
    event = PaymentsReported.from_envelope(reported)
    assert event.flow_id == flow and [f.position_id for f in event.payments] == [a.position_id]
    await deliver_to_reporting(platform, reported)
    async with platform.databases["reporting"].unit_of_work(tenant.tenant_id) as uow:
        found = await uow.execute(
            sa.text("SELECT flow_id FROM reporting.payments WHERE tenant_id = :t"), {"t": tenant.tenant_id}
        )
        assert list(found.scalars()) == [flow]
