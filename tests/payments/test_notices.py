"""pagoPA notices: issued once per position and amount, numbered without reuse, PDF with a QR code
that decodes to exactly its payload."""

from __future__ import annotations

from typing import Any

import pypdfium2
import pytest
import zxingcpp

from services.contracts import NoticeIssued
from services.kernel.identity import Identity
from services.payments.domain_notices import is_valid_notice_number, printed
from services.payments.seed import seed_creditors
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import fact, scalar, seed
from tests.support import make_identity


def api(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("api",), user_id="api-key-7")


async def with_creditor(platform: Platform, who: Identity) -> None:
    await seed_creditors(platform.databases["payments"], {"comune-demo-a": who.tenant_id})


async def issue(platform: Platform, who: Identity, ids: list[str]) -> tuple[int, dict[str, Any]]:
    async with service_client(platform, "payments", api(who)) as http:
        response = await http.post("/api/v1/payments/notices", json={"position_ids": ids})
    return response.status_code, response.json()


def page_of(pdf: bytes) -> tuple[str, list[str]]:
    """The text of the first page and the QR codes read from it rendered at 200 dpi."""
    document = pypdfium2.PdfDocument(pdf)
    page = document[0]
    text = page.get_textpage().get_text_range()
    image = page.render(scale=200 / 72).to_pil()
    return text, [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


@pytest.mark.asyncio
async def test_notices_are_issued_once_with_a_pdf_whose_qr_decodes_to_its_payload(
    platform: Platform, tenant: Identity
) -> None:
    await with_creditor(platform, tenant)
    a, b = fact(12_345), fact(67_890)
    await seed(platform, tenant.tenant_id, a, b)
    status, answer = await issue(platform, tenant, [a.position_id, b.position_id])
    assert status == 201, answer
    options = answer["options"]
    assert [o["amount_cents"] for o in options] == [12_345, 67_890]
    assert all(is_valid_notice_number(o["nav"]) and o["iuv"] == o["nav"][1:] for o in options)
    assert options[0]["nav"][1:3] == "01" and options[0]["nav"] != options[1]["nav"]
    assert {o["creditor_fiscal_code"] for o in options} == {"80012340016"}
    again = await issue(platform, tenant, [a.position_id])
    assert again[1]["options"][0]["nav"] == options[0]["nav"]  # still payable: the same notice
    events = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT count(*) FROM payments.outbox WHERE tenant_id = :t AND routing_key = :k",
        t=tenant.tenant_id,
        k=NoticeIssued.routing_key(),
    )
    assert events == 2
    async with service_client(platform, "payments", api(tenant)) as http:
        for option in options:
            response = await http.get(option["pdf_url"])
            assert response.headers["content-type"] == "application/pdf"
            text, codes = page_of(response.content)
            assert codes == [f"PAGOPA|002|{option['nav']}|80012340016|{option['amount_cents']}"]
            assert printed(option["nav"]) in text
            assert ("€ 123,45" if option["amount_cents"] == 12_345 else "€ 678,90") in text
            assert "Comune di Demo A" in text


@pytest.mark.asyncio
async def test_notice_numbers_are_never_reused(platform: Platform, tenant: Identity) -> None:
    await with_creditor(platform, tenant)
    positions = [fact(1_000 + n) for n in range(5)]
    await seed(platform, tenant.tenant_id, *positions)
    navs = []
    for position in positions:
        navs.append((await issue(platform, tenant, [position.position_id]))[1]["options"][0]["nav"])
    assert len(set(navs)) == 5 and navs == sorted(navs, key=lambda nav: nav[3:16])


@pytest.mark.asyncio
async def test_no_notice_for_a_settled_position_and_nothing_recorded(
    platform: Platform, tenant: Identity
) -> None:
    await with_creditor(platform, tenant)
    open_one, settled = fact(5_000), fact(2_000)
    await seed(platform, tenant.tenant_id, open_one, settled)
    async with service_client(platform, "payments", api(tenant)) as http:
        paid = await http.post(
            f"/api/v1/payments/positions/{settled.position_id}/payments",
            json={"reason": "Bonifico in tesoreria", "amount_cents": 2_000, "paid_on": "2026-11-02"},
        )
        assert paid.status_code == 201
    status, answer = await issue(platform, tenant, [open_one.position_id, settled.position_id])
    assert status == 409 and "già saldata" in answer["error"]
    count = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT count(*) FROM payments.payment_options WHERE tenant_id = :t",
        t=tenant.tenant_id,
    )
    assert count == 0


@pytest.mark.asyncio
async def test_without_creditor_data_or_for_another_comune_nothing_is_issued(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    position = fact(3_000)
    await seed(platform, tenant.tenant_id, position)
    status, answer = await issue(platform, tenant, [position.position_id])
    assert status == 409 and "dati pagoPA" in answer["error"]
    await with_creditor(platform, other_tenant)
    status, answer = await issue(platform, other_tenant, [position.position_id])
    assert status == 404
    async with service_client(platform, "payments", api(other_tenant)) as http:
        assert (await http.get("/api/v1/payments/notices/301000000000000000/pdf")).status_code == 404
        assert (await http.get("/api/v1/payments/notices/not-a-nav/pdf")).status_code == 404


@pytest.mark.asyncio
async def test_the_position_page_issues_its_notices(platform: Platform, tenant: Identity) -> None:
    await with_creditor(platform, tenant)
    f = fact(25_000)
    await seed(platform, tenant.tenant_id, f)
    page_url = f"/t/{tenant.tenant_slug}/payments/positions/{f.position_id}"
    async with service_client(platform, "payments", tenant) as http:
        before = await http.get(page_url)
        assert "Emetti l&#39;avviso per il residuo" in before.text or "Emetti l'avviso" in before.text
        issued = await http.post(f"{page_url}/notices", data={"csrf_token": "t"})
        assert issued.status_code == 303
        after = await http.get(issued.headers["location"])
    assert "Avvisi pagoPA pronti" in after.text and "Da pagare" in after.text
    count = "SELECT count(*) FROM payments.payment_options WHERE tenant_id = :t"
    assert await scalar(platform, tenant.tenant_id, count, t=tenant.tenant_id) == 1
    # The office reconciles by IUV (the flows and the treasury name it): shown beside the notice number.
    iuv = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT iuv FROM payments.payment_options WHERE tenant_id = :t",
        t=tenant.tenant_id,
    )
    assert f"IUV {iuv}" in after.text
