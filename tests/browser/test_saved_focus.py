"""In a real browser: a save whose form HTMX replaces lands the keyboard on the message that says
it was saved (it fell back to the page's top: the calling rules, the office's addresses, a
relazione di scarico asked for)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from gateway.app import Gateway
from services.platform import Platform
from tests.browser.signed_in import signed_in
from tests.gateway.helpers import make_tenant
from tests.oidc_provider import OpenIdProvider


@pytest.mark.asyncio
async def test_the_saved_message_takes_the_focus(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    comune = await make_tenant(platform, "salvataggi")
    base = f"{oidc_provider.gateway_base}/t/{comune.slug}"
    context, page = await signed_in(chromium, platform, oidc_provider, comune.id, "supervisor")
    await page.goto(f"{base}/contact/conduct")
    await page.get_by_role("button", name="Salva le regole").click()
    saved = page.get_by_role("status").filter(has_text="Regole salvate:")
    await expect(saved).to_contain_text("lun–ven 8:30–21:00")
    await expect(saved).to_be_focused()
    await context.close()
    context, page = await signed_in(chromium, platform, oidc_provider, comune.id, "comune_admin")
    await page.goto(f"{base}/reporting/aggio")
    await page.get_by_label("Indirizzi e-mail che ricevono rendiconti e riepiloghi").fill(
        "tributi@comune.example.it, TRIBUTI@comune.example.it"
    )
    await page.get_by_role("button", name="Salva gli indirizzi").click()
    addresses = page.get_by_role("status").filter(has_text="Indirizzi salvati.")
    await expect(addresses).to_be_focused()
    await expect(page.get_by_label("Indirizzi e-mail che ricevono rendiconti e riepiloghi")).to_have_value(
        "tributi@comune.example.it"
    )
    # A relazione di scarico asked for: the keyboard goes on from «richiesta, in preparazione».
    await page.goto(f"{base}/reporting/reports")
    await page.get_by_role("button", name="Genera relazione di scarico").click()
    await expect(page.get_by_test_id("report-queued")).to_be_focused()
    await context.close()
