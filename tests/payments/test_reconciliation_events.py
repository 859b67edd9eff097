"""A reconciliation import tells the other services in `PaymentsReceived` chunks; the contact
queue and the reporting totals take each payment in them as a single payment."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from services.contracts import PaymentsReceived
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting import repository as reporting
from tests.contact.helpers import debtor
from tests.contact.helpers import deliver as deliver_to_contact
from tests.payments.helpers import seed
from tests.payments.test_notices import issue, with_creditor
from tests.payments.test_reconciliation import FDR, flow_xml, upload
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
