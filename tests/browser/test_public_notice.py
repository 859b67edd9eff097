"""In a real browser: the link of the e-mail that reached the test SMTP server opens the taxpayer's
public page with the notice, whose PDF downloads; an altered and an expired link are refused in
Italian."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from gateway.app import Gateway
from services.kernel.identity import Identity
from services.payments.domain_links import LinkGrant, sign
from services.payments.domain_notices import printed
from services.platform import Platform
from tests.oidc_provider import OpenIdProvider
from tests.payments.delivery_helpers import comune, debtor_with_positions, link_in, post
from tests.smtp_server import Inbox


@pytest.mark.asyncio
async def test_the_emailed_link_opens_the_notice_page_and_its_pdf_in_chromium(
    served: Gateway,
    chromium: Browser,
    platform: Platform,
    oidc_provider: OpenIdProvider,
    tenant: Identity,
    smtp: Inbox,
    tmp_path: Path,
) -> None:
    await comune(platform, tenant)
    to = f"browser-{uuid.uuid4().hex[:8]}@example.it"
    debtor, [position] = await debtor_with_positions(platform, tenant, 27_350, email=to)
    status, answer = await post(
        platform, tenant, "/api/v1/payments/notices/send", {"position_ids": [position]}
    )
    assert status == 201, answer
    [message] = await smtp.wait_for(to)
    # The link as e-mailed, on the address this test's gateway listens on.
    path = "/" + link_in(message).split("://", 1)[1].split("/", 1)[1]
    base = oidc_provider.gateway_base
    context = await chromium.new_context(accept_downloads=True)
    page = await context.new_page()
    response = await page.goto(base + path)
    assert response is not None and response.status == 200
    await expect(page.get_by_role("heading", name="Avvisi di pagamento pagoPA")).to_be_visible()
    await expect(page.get_by_test_id("creditor")).to_have_text("Comune di Consegna")
    notices = page.get_by_test_id("notices")
    await expect(notices).to_contain_text("€ 273,50")
    link = page.get_by_role("link", name=re.compile(r"Scarica l'avviso 3\d{3}( \d{4}){3} \d{2} \(PDF\)"))
    nav_printed = (await link.inner_text()).removeprefix("Scarica l'avviso ").removesuffix(" (PDF)")
    await expect(notices).to_contain_text(nav_printed)
    async with page.expect_download() as downloading:
        await link.click()
    download = await downloading.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    assert printed(saved.name.removeprefix("avviso-").removesuffix(".pdf")) == nav_printed
    assert "RSSMRA" not in await page.content() and "VERDI" not in await page.content()

    token = path.rsplit("/", 1)[1]
    altered = token[:-3] + ("x" if token[-3] != "x" else "y") + token[-2:]
    response = await page.goto(f"{base}/avvisi/{altered}")
    assert response is not None and response.status == 400
    await expect(page.get_by_role("heading", name="Collegamento non valido")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("non è valido")

    past = datetime.now(UTC) - timedelta(seconds=5)
    expired = sign(
        LinkGrant(tenant.tenant_id, uuid.UUID(debtor), (uuid.UUID(position),), None, past),
        platform.settings.secret_key,
    )
    response = await page.goto(f"{base}/avvisi/{expired}")
    assert response is not None and response.status == 410
    await expect(page.get_by_role("heading", name="Collegamento scaduto")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("Questo collegamento è scaduto")
    await context.close()
