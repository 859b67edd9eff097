"""The Ufficio tributi's decisions in payments (`CaseAnswered` delivered to the `payments.balances`
and `payments.gpd` consumers through their inboxes, as the worker does): a cancelled position is no
longer due, its notice no longer payable, nothing may be issued, planned or paid on it, and what
was published of it on pagoPA GPD is invalidated; a corrected position is due for its new amount."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from services.contracts import CaseAnswered
from services.kernel.bus import IncomingMessage
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.kernel.messaging import Consumer, inbox_handler
from services.payments import consumers, repository_jobs
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.gpd_server import GpdServer
from tests.payments.helpers import position, scalar
from tests.payments.test_gpd_api import ORG, call, comune, gpd, noticed

__all__ = ["gpd"]


def answered(who: Identity, answer: str, position_ids: list[str], corrected_cents: int = 0) -> Envelope:
    event = CaseAnswered(
        answer_id=str(uuid.uuid4()),
        case_id=str(uuid.uuid4()),
        debtor_id=str(uuid.uuid4()),
        kind="dispute",
        answer=answer,
        note="Provvedimento dell'ufficio",
        corrected_cents=corrected_cents,
        answered_by="Anna Bianchi",
        answered_at="2026-11-24T09:00:00+01:00",
        position_ids=tuple(position_ids),
    )
    return event.envelope(who.tenant_id, "test")


async def deliver(platform: Platform, consumer: Consumer, envelope: Envelope) -> None:
    handle = inbox_handler(platform.databases["payments"], consumer)
    await handle(IncomingMessage(envelope.routing_key, envelope.encode(), str(envelope.message_id)))


async def option_statuses(platform: Platform, who: Identity, position_id: str) -> list[tuple[int, str]]:
    sql = (
        "SELECT amount_cents, status FROM payments.payment_options "
        "WHERE tenant_id = :t AND position_id = :p ORDER BY issued_at"
    )
    async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
        rows = await uow.execute(sa.text(sql), {"t": who.tenant_id, "p": uuid.UUID(position_id)})
        return [(r.amount_cents, r.status) for r in rows]


@pytest.mark.asyncio
async def test_a_cancelled_position_is_no_longer_due_payable_plannable_or_payable_by_hand(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    await comune(platform, tenant)
    gone, kept = await noticed(platform, tenant, 50_000, 20_000)
    decision = answered(tenant, "cancelled", [gone])
    await deliver(platform, consumers.balances, decision)
    await deliver(platform, consumers.balances, decision)  # redelivered: handled once
    cancelled = await position(platform, tenant.tenant_id, gone)
    assert cancelled is not None and cancelled.state == "cancelled" and cancelled.decided_at is not None
    assert cancelled.amount_cents == 50_000  # the amount assigned stays on record
    assert await option_statuses(platform, tenant, gone) == [(50_000, "unpayable")]
    assert await option_statuses(platform, tenant, kept) == [(20_000, "payable")]
    status, shown = await call(platform, tenant, "GET", f"/api/v1/payments/positions/{gone}")
    assert status == 200 and shown["state"] == "cancelled" and shown["residual_cents"] == 0
    refusals = [
        ("/api/v1/payments/notices", {"position_ids": [gone]}),
        ("/api/v1/payments/plans", {"position_ids": [gone], "installments": 3}),
        (
            f"/api/v1/payments/positions/{gone}/payments",
            {"amount_cents": 10_000, "paid_on": "2026-11-20", "reason": "Bonifico"},
        ),
    ]
    for url, body in refusals:
        status, answer = await call(platform, tenant, "POST", url, json=body)
        assert status == 409 and "annullata dall'Ufficio tributi (sgravio)" in answer["error"], (url, answer)
    async with service_client(platform, "payments", tenant) as http:
        page = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{gone}")).text
    assert "Annullata dall'Ufficio tributi (sgravio): non più dovuta" in page
    assert "Registra pagamento" not in page
    # Its notice is listed as no longer payable, with nothing to print: a copy would be paid.
    nav = await scalar(
        platform, tenant.tenant_id, "SELECT nav FROM payments.payment_options WHERE position_id = :p", p=gone
    )
    assert "Non più pagabile</td>\n    <td>—</td>" in page and f"notices/{nav}/pdf" not in page
    async with service_client(platform, "payments", tenant) as http:
        stale = await http.get(f"/t/{tenant.tenant_slug}/payments/notices/{nav}/pdf")
    assert stale.status_code == 409 and "non è più pagabile: la posizione è stata annullata" in stale.text
    async with service_client(platform, "payments", tenant) as http:
        listed_page = (await http.get(f"/t/{tenant.tenant_slug}/payments/")).text
        open_page = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{kept}")).text
    assert (
        listed_page.count("Annullata (sgravio)") == 1 and "Da pagare" in listed_page
    )  # the list says so too
    assert "Registra pagamento" in open_page
    status, answer = await call(
        platform, tenant, "POST", "/api/v1/payments/notices", json={"position_ids": [kept]}
    )
    assert status == 201, answer
    status, listed = await call(platform, tenant, "GET", "/api/v1/payments/positions?status=open")
    assert status == 200 and [p["id"] for p in listed["positions"]] == [kept]
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        mailing = await repository_jobs.positions_for_mailing(uow, tenant.tenant_id, ["RSSMRA80A01H501U"], 10)
    assert [str(r.id) for r in mailing] == [kept]  # a bulk mailing leaves the cancelled one out
    # Another Comune's event names a position it does not have: nothing changes here.
    await deliver(platform, consumers.balances, answered(other_tenant, "cancelled", [kept]))
    still = await position(platform, tenant.tenant_id, kept)
    assert still is not None and still.state == "open"


@pytest.mark.asyncio
async def test_a_corrected_position_is_due_for_its_new_amount_with_a_new_notice(
    platform: Platform, tenant: Identity
) -> None:
    await comune(platform, tenant)
    (corrected,) = await noticed(platform, tenant, 50_000)
    decision = answered(tenant, "corrected", [corrected], 32_000)
    await deliver(platform, consumers.balances, decision)
    await deliver(platform, consumers.balances, decision)
    row = await position(platform, tenant.tenant_id, corrected)
    assert row is not None and (row.state, row.amount_cents, row.original_cents) == ("open", 32_000, 50_000)
    assert await option_statuses(platform, tenant, corrected) == [(50_000, "replaced")]
    status, answer = await call(
        platform, tenant, "POST", "/api/v1/payments/notices", json={"position_ids": [corrected]}
    )
    assert status == 201 and [n["amount_cents"] for n in answer["options"]] == [32_000], answer
    # A second correction keeps the amount first assigned as the original.
    await deliver(platform, consumers.balances, answered(tenant, "corrected", [corrected], 30_000))
    row = await position(platform, tenant.tenant_id, corrected)
    assert row is not None and (row.amount_cents, row.original_cents) == (30_000, 50_000)


@pytest.mark.asyncio
async def test_what_was_published_on_gpd_of_a_cancelled_position_is_invalidated(
    platform: Platform, tenant: Identity, gpd: GpdServer
) -> None:
    await comune(platform, tenant, gpd.url)
    (gone,) = await noticed(platform, tenant, 50_000)
    body = {"position_ids": [gone]}
    assert (await call(platform, tenant, "POST", "/api/v1/payments/gpd/publish", json=body))[0] == 201
    decision = answered(tenant, "cancelled", [gone])
    await deliver(platform, consumers.gpd, decision)
    await deliver(platform, consumers.gpd, decision)
    iupd = f"{ORG}-{gone}"
    assert gpd.positions[(ORG, iupd)]["status"] == "INVALID"
    assert [r for r in gpd.requests if r[1].endswith("/invalidate")] == [
        ("POST", f"/organizations/{ORG}/debtpositions/{iupd}/invalidate")
    ]
