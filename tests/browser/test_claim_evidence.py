"""In a real browser, through the gateway (multipart forms sent by HTMX with the CSRF header): the
operator records «Dice di aver già pagato» with a file that is no receipt (refused at the file field,
which takes the focus), then with the receipt; attaches a second file from the claim's line in the
history; downloads it."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Browser, expect

from gateway.app import Gateway
from services.platform import Platform
from tests.browser.serving import invite
from tests.browser.test_login import login_at_provider
from tests.contact.helpers import fact, seed
from tests.gateway.helpers import make_tenant
from tests.oidc_provider import OpenIdProvider

PDF = b"%PDF-1.4\n% bollettino di prova\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.mark.asyncio
async def test_an_operator_attaches_the_receipt_of_a_claimed_payment(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("staff")
    comune = await make_tenant(platform, "ricevute")
    await invite(platform, (comune.id,), account.email)
    await seed(platform, comune.id, fact(str(uuid.uuid4()), 42_000, name="GALLI ANNA"))
    context = await chromium.new_context()
    page = await context.new_page()
    await page.goto(f"{oidc_provider.gateway_base}/login")
    await page.get_by_role("link", name="Accesso personale").click()
    await login_at_provider(page, account)
    await page.goto(f"{oidc_provider.gateway_base}/t/{comune.slug}/contact/")
    await page.get_by_role("button", name="Prossimo debitore").click()
    await expect(page.get_by_test_id("debtor-name")).to_have_text("GALLI ANNA")
    await page.get_by_label("Esito").select_option("gia_pagato")
    await page.get_by_label("Nota").fill("Dice di aver pagato con bollettino il 3 marzo")
    receipt = page.get_by_label("Ricevuta del pagamento (solo per")
    await receipt.set_input_files(
        files=[{"name": "ricevuta.pdf", "mimeType": "application/pdf", "buffer": b"ciao"}]
    )
    await page.get_by_role("button", name="Registra esito").click()
    await expect(receipt).to_have_attribute("aria-invalid", "true")
    await expect(receipt).to_be_focused()
    described = await receipt.get_attribute("aria-describedby") or ""
    await expect(page.locator(f"#{described.split()[0]}")).to_contain_text(
        "deve essere un PDF, un JPEG o un PNG"
    )
    await receipt.set_input_files(
        files=[{"name": "bollettino.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    await page.get_by_role("button", name="Registra esito").click()
    await expect(page.get_by_text("Esito registrato.")).to_be_visible()
    claim = page.get_by_test_id("claim-evidence")
    await expect(claim.get_by_role("link", name="bollettino.pdf")).to_be_visible()
    # Later, from the claim's line in the history: a second file.
    await claim.get_by_text("Allega ricevuta").click()
    await claim.get_by_label("Ricevuta del pagamento dichiarato").set_input_files(
        files=[{"name": "bonifico.png", "mimeType": "image/png", "buffer": PNG}]
    )
    await claim.get_by_role("button", name="Allega").click()
    await expect(page.get_by_text("Ricevuta allegata alla dichiarazione di pagamento")).to_be_visible()
    link = page.get_by_test_id("claim-evidence").get_by_role("link", name="bonifico.png")
    href = await link.get_attribute("href")
    assert href is not None
    download = await context.request.get(f"{oidc_provider.gateway_base}{href}")
    assert download.status == 200 and await download.body() == PNG
    await context.close()
