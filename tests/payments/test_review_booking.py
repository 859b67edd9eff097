"""A receipt the reconciliation left for review, booked on its position by whoever checks it
(`handlers_review`): the position's balance, the notice replaced for what is left, the payment tied
to its receipt (a later flow reports it, a revocation takes it back), the item resolved, the
event published; refused in Italian for what is not the debtor's payment of what is due."""

from __future__ import annotations

from typing import Any

import pytest

from services.contracts import PaymentReceived, PaymentsReceived
from services.kernel.identity import Identity
from services.payments import consumers
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import fact, scalar, seed
from tests.payments.test_charges import sent
from tests.payments.test_notices import api
from tests.payments.test_office_decisions import answered, deliver
from tests.payments.test_reconciliation import FDR, RECEIPTS, flow_xml, noticed, paid, receipts_csv, upload


async def items(platform: Platform, who: Identity) -> dict[str, Any]:
    """The open review items by IUV."""
    async with service_client(platform, "payments", who) as http:
        found = (await http.get("/api/v1/payments/reconciliation/review")).json()["items"]
    return {i["iuv"]: i for i in found}


async def one(platform: Platform, who: Identity, sql: str, **params: object) -> Any:
    return await scalar(platform, who.tenant_id, sql, t=who.tenant_id, **params)


@pytest.mark.asyncio
async def test_a_partial_payment_is_booked_on_its_position_from_the_review_queue(
    platform: Platform, tenant: Identity
) -> None:
    positions, iuvs = await noticed(platform, tenant, 10_000, 10_000)
    csv = receipts_csv((iuvs[0], "40,00", "P-1"), (iuvs[1], "150,00", "O-1"))
    status, answer = await upload(platform, tenant, RECEIPTS, csv)
    assert status == 200 and (answer["partial"], answer["over"]) == (1, 1), answer
    waiting = await items(platform, tenant)
    base = f"/t/{tenant.tenant_slug}/payments/reconciliation"
    async with service_client(platform, "payments", tenant) as http:
        page = (await http.get(base)).text
        # Paid more than due: a refund, not a payment to book; the button is not offered either.
        over = await http.post(
            f"{base}/review/{waiting[iuvs[1]]['id']}/resolve",
            data={"note": "Da rimborsare", "azione": "registra"},
            headers={"HX-Request": "true"},
        )
        blank = await http.post(
            f"{base}/review/{waiting[iuvs[0]]['id']}/resolve",
            data={"note": "   ", "azione": "registra"},
            headers={"HX-Request": "true"},
        )
        booked = await http.post(
            f"{base}/review/{waiting[iuvs[0]]['id']}/resolve",
            data={"note": "Bonifico parziale del contribuente", "azione": "registra"},
            headers={"HX-Request": "true"},
        )
        again = await http.post(
            f"/api/v1/payments/reconciliation/review/{waiting[iuvs[0]]['id']}/book", json={"note": "Ancora"}
        )
    assert page.count('value="registra"') == 1
    # A note of blanks: refused at that item's note, the queue still there with every item.
    assert blank.status_code == 400 and 'id="queue"' in blank.text
    assert (
        f'id="note-{waiting[iuvs[0]]["id"]}-errore"' in blank.text
        and "nota di almeno 3 caratteri" in blank.text
    )
    assert blank.text.count('value="registra"') == 1 and iuvs[1] in blank.text
    assert over.status_code == 400 and "solo un pagamento inferiore" in over.text
    assert booked.status_code == 200, booked.text
    assert "Registrato sulla posizione (€ 40,00): Bonifico parziale del contribuente" in booked.text
    assert again.status_code == 404
    assert [await paid(platform, tenant, p) for p in positions] == [4_000, 0]
    # The notice of € 100.00 no longer stands; the payment is the receipt's, on its day.
    statuses = "SELECT status FROM payments.payment_options WHERE tenant_id = :t AND iuv = :i"
    assert await one(platform, tenant, statuses, i=iuvs[0]) == "replaced"
    payment = (
        "SELECT r.iuv || ' ' || p.source || ' ' || p.state || ' ' || p.amount_cents FROM payments.payments p"
        " JOIN payments.receipts r ON r.id = p.receipt_id WHERE p.tenant_id = :t"
    )
    assert await one(platform, tenant, payment) == f"{iuvs[0]} receipt PAID 4000"
    applied = "SELECT applied FROM payments.receipts WHERE tenant_id = :t AND iuv = :i"
    assert await one(platform, tenant, applied, i=iuvs[0]) is True
    # Announced as the receipt's payment, with its IUV (the portal and the debtor's file show it).
    [event] = await sent(platform, tenant, PaymentsReceived.routing_key())
    [fact] = event.payload["payments"]
    assert (fact["iuv"], fact["receipt_ref"], fact["amount_cents"], fact["source"]) == (
        iuvs[0],
        "P-1",
        4_000,
        "receipt",
    )
    assert await sent(platform, tenant, PaymentReceived.routing_key()) == []
    logged = "SELECT count(*) FROM payments.access_log WHERE tenant_id = :t AND action = 'book_review'"
    assert await one(platform, tenant, logged) == 1
    # The flow reports it as any receipt's payment, once; a revocation takes it back.
    status, answer = await upload(platform, tenant, FDR, flow_xml([(iuvs[0], "P-1", 4_000, 0)]))
    assert status == 200, answer
    assert await paid(platform, tenant, positions[0]) == 4_000
    reported = "SELECT state FROM payments.payments WHERE tenant_id = :t"
    assert await one(platform, tenant, reported) == "REPORTED"
    status, answer = await upload(platform, tenant, FDR, flow_xml([(iuvs[0], "P-1", 4_000, 3)]))
    assert status == 200 and answer["revoked"] == 1, answer
    assert await paid(platform, tenant, positions[0]) == 0


@pytest.mark.asyncio
async def test_booking_asks_for_a_note_and_never_books_more_than_is_due(
    platform: Platform, tenant: Identity
) -> None:
    positions, iuvs = await noticed(platform, tenant, 10_000)
    await upload(platform, tenant, RECEIPTS, receipts_csv((iuvs[0], "60,00", "P-2")))
    item = (await items(platform, tenant))[iuvs[0]]
    book = f"/api/v1/payments/reconciliation/review/{item['id']}/book"
    # Meanwhile € 50.00 arrived by hand: € 60.00 would be more than is still due.
    async with service_client(platform, "payments", api(tenant)) as http:
        manual = await http.post(
            f"/api/v1/payments/positions/{positions[0]}/payments",
            json={"amount_cents": 5_000, "paid_on": "2026-11-02", "reason": "Bonifico in tesoreria"},
        )
    assert manual.status_code == 201, manual.text
    async with service_client(platform, "payments", tenant) as http:
        no_note = await http.post(book, json={"note": " "})
        too_much = await http.post(book, json={"note": "Registro il parziale"})
    assert no_note.status_code == 400 and "nota di almeno 3 caratteri" in no_note.text
    assert too_much.status_code == 400 and "residuo" in too_much.text.lower()
    assert await paid(platform, tenant, positions[0]) == 5_000
    assert iuvs[0] in await items(platform, tenant)  # still open, nothing half done


@pytest.mark.asyncio
async def test_a_receipt_for_a_replaced_notice_is_booked_and_its_revocation_leaves_the_notice_replaced(
    platform: Platform, tenant: Identity
) -> None:
    positions, iuvs = await noticed(platform, tenant, 50_000)
    # The office corrects the amount to € 620.00: the notice of € 500.00 is replaced; the taxpayer
    # had it printed and pays it anyway.
    await deliver(platform, consumers.balances, answered(tenant, "corrected", positions, 62_000))
    statuses = "SELECT status FROM payments.payment_options WHERE tenant_id = :t AND iuv = :i"
    assert await one(platform, tenant, statuses, i=iuvs[0]) == "replaced"
    # The position page says why no notice is in force (and not so of one never issued).
    fresh = fact(30_000)
    await seed(platform, tenant.tenant_id, fresh)
    async with service_client(platform, "payments", tenant) as http:
        page = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{positions[0]}")).text
        never = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{fresh.position_id}")).text
    assert "quelli emessi sono stati sostituiti perché l'importo è cambiato" in page
    assert "Nessun avviso emesso finora" in never and "sostituiti" not in never
    status, answer = await upload(platform, tenant, RECEIPTS, receipts_csv((iuvs[0], "500,00", "S-1")))
    assert status == 200 and (answer["duplicates"], answer["unmatched"]) == (1, 0), answer
    item = (await items(platform, tenant))[iuvs[0]]
    assert item["kind"] == "unpayable" and item["position_id"] == positions[0], item
    assert "sostituito da un avviso nuovo" in item["detail"] and "sconosciuto" not in item["detail"]
    async with service_client(platform, "payments", tenant) as http:
        booked = await http.post(
            f"/api/v1/payments/reconciliation/review/{item['id']}/book",
            json={"note": "Pagato il vecchio avviso stampato"},
        )
    assert booked.status_code == 200, booked.text
    assert await paid(platform, tenant, positions[0]) == 50_000
    # A revocation takes the money back; the old notice stays replaced, never payable again.
    status, answer = await upload(platform, tenant, FDR, flow_xml([(iuvs[0], "S-1", 50_000, 3)]))
    assert status == 200 and answer["revoked"] == 1, answer
    assert await paid(platform, tenant, positions[0]) == 0
    assert await one(platform, tenant, statuses, i=iuvs[0]) == "replaced"
