"""In a real browser: a rendiconto refused for a month its contract does not cover says why beside
the month and leaves the list of rendiconti in place, and the next request works (the refusal used
to replace the list, and the form lost its target)."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.async_api import Browser, expect

from gateway.app import Gateway
from services.platform import Platform
from services.reporting import domain_aggio, repository_aggio
from tests.browser.signed_in import signed_in
from tests.gateway.helpers import make_tenant
from tests.oidc_provider import OpenIdProvider


@pytest.mark.asyncio
async def test_a_refused_month_leaves_the_list_and_the_next_one_is_made(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    comune = await make_tenant(platform, "rendiconti")
    contract = domain_aggio.flat(1_000, date(2026, 10, 1), "Rep. 7/2026")
    async with platform.databases["reporting"].unit_of_work(comune.id) as uow:
        await repository_aggio.put_version(uow, comune.id, None, contract, "Comune di prova", "test")
        await uow.commit()
    context, page = await signed_in(chromium, platform, oidc_provider, comune.id, "platform_admin")
    await page.goto(f"{oidc_provider.gateway_base}/t/{comune.slug}/reporting/aggio")
    listed = page.get_by_test_id("rendiconti")
    await expect(listed).to_contain_text("Rendiconti generati")
    await page.locator("#month").fill("2026-09")
    await page.get_by_test_id("generate-rendiconto").click()
    await expect(page.locator("#rendiconto-result")).to_contain_text("non copre settembre 2026")
    await expect(listed).to_contain_text("Rendiconti generati")  # still there
    await page.locator("#month").fill("2026-10")
    await page.get_by_test_id("generate-rendiconto").click()
    await expect(listed).to_contain_text("ottobre 2026")
    # The refusal gives way to what was made, and the keyboard goes on from there.
    made = page.get_by_test_id("rendiconto-generated")
    await expect(made).to_have_text(
        "Rendiconto di ottobre 2026 generato (versione 1): non inviato, l'Ufficio tributi non ha indirizzi e-mail."
    )
    await expect(made).to_be_focused()
    await expect(page.locator("#rendiconto-result")).not_to_contain_text("non copre")
    # The same month again, nothing changed: asked first; «Genera comunque» makes version 2.
    await page.get_by_test_id("generate-rendiconto").click()
    unchanged = page.get_by_test_id("rendiconto-unchanged")
    await expect(unchanged).to_contain_text("ha già una versione con queste cifre (la 1,")
    await expect(unchanged).to_be_focused()
    await unchanged.get_by_role("button", name="Genera comunque una nuova versione").click()
    await expect(page.get_by_test_id("rendiconto-generated")).to_contain_text("(versione 2)")
    await context.close()
