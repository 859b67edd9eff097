"""In a real browser: the confirmation atop the next card («Esito registrato per …») goes away when
the operator's next outcome is refused; it stood above the refusal as if that had been recorded."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from gateway.app import Gateway
from services.contact.domain import ROME
from services.platform import Platform
from tests.browser.signed_in import signed_in
from tests.contact.helpers import fact, seed
from tests.gateway.helpers import make_tenant
from tests.oidc_provider import OpenIdProvider
from tests.support import contact_clock

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=ROME)


async def card_of_a_debtor(
    platform: Platform, chromium: Browser, oidc_provider: OpenIdProvider, slug: str
) -> tuple[BrowserContext, Page, str]:
    """An operator signed in to a new Comune of one debtor: the browser and the card's address."""
    comune = await make_tenant(platform, slug)
    debtor = str(uuid.uuid4())
    await seed(platform, comune.id, fact(debtor, 40_000))
    context, page = await signed_in(chromium, platform, oidc_provider, comune.id, "operator")
    return context, page, f"{oidc_provider.gateway_base}/t/{comune.slug}/contact/debtors/{debtor}"


@pytest.mark.asyncio
async def test_a_refused_outcome_takes_the_previous_confirmation_away(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    context, page, card = await card_of_a_debtor(platform, chromium, oidc_provider, "conferma")
    with contact_clock(platform, MONDAY):
        await page.goto(f"{card}?registrato=precedente")
        done = page.get_by_text("Ecco il prossimo.")
        await expect(done).to_be_visible()
        await page.get_by_label("Esito").select_option("gia_pagato")
        await page.get_by_role("button", name="Registra esito", exact=True).click()
        await expect(page.get_by_label("Nota")).to_have_attribute("aria-invalid", "true")
        await expect(done).to_have_count(0)
    await context.close()


@pytest.mark.asyncio
async def test_a_promise_without_amount_and_day_marks_both_fields(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    """Two fields refused at once: each gets its message and is marked, the first takes the focus."""
    context, page, card = await card_of_a_debtor(platform, chromium, oidc_provider, "promessa")
    with contact_clock(platform, MONDAY):
        await page.goto(card)
        await page.get_by_label("Esito").select_option("promessa_pagamento")
        await page.get_by_role("button", name="Registra esito", exact=True).click()
        amount, day = page.get_by_label("Importo promesso (€)"), page.get_by_label("Pagherà entro il")
        await expect(amount).to_have_attribute("aria-invalid", "true")
        await expect(day).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#promise_due-errore")).to_have_text(
            "Indica entro che giorno il contribuente pagherà."
        )
        await expect(amount).to_be_focused()
    await context.close()
