"""The supervisors' board refreshes itself every 20 seconds (HTMX polling): in Chromium, with the
page's clock driven by Playwright, a keyboard user's focus stays on the control they were on
(WCAG 2.4.3), «Sospendi l'aggiornamento» stops the refreshes until pressed again (WCAG 2.2.2),
and «Affida» hands a held card to another operator, the choice kept across a refresh."""

from __future__ import annotations

from dataclasses import replace

import pytest
from playwright.async_api import Browser, Page, expect

from gateway.app import Gateway
from services.contact.consumers import queue_builder
from services.platform import Platform
from tests.browser.serving import invite
from tests.browser.test_office_answer import relay_envelope, signed_in
from tests.contact.test_conduct_web import record, take
from tests.gateway.helpers import make_tenant
from tests.oidc_provider import OpenIdProvider
from tests.support import make_identity, position_fact, registered


async def refreshes(page: Page, seconds: int) -> int:
    """How many times the board asked for itself while the page's clock ran `seconds`."""
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/contact/board") else None)
    await page.clock.run_for(seconds * 1000)
    await page.wait_for_load_state("networkidle")
    return len(asked)


async def replaced(page: Page) -> None:
    """Run the page's clock until a refresh has replaced the board marked `data-before`."""
    for _ in range(120):
        await page.clock.run_for(500)
        if not await page.locator("#board[data-before]").count():
            return
    raise AssertionError("the board was not refreshed")


@pytest.mark.asyncio
async def test_the_board_keeps_the_focus_pauses_and_hands_a_card_over(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    boss = oidc_provider.take("staff")
    comune = await make_tenant(platform, "tabellone")
    await invite(platform, (comune.id,), boss.email, role="supervisor")
    people = ((90_000, "BIANCHI LUCIA"), (70_000, "VERDI PAOLA"), (50_000, "ROSSI MARIO"))
    facts = [position_fact(c, name=n) for c, n in people]
    await relay_envelope(platform, registered(comune.id, *facts), ("contact", queue_builder))
    anna, bruno, carla = (
        replace(
            make_identity(comune.id, comune.slug, user_id=f"op-{n.lower()}"), display_name=f"{n} Operatrice"
        )
        for n in ("Anna", "Bruno", "Carla")
    )
    for worker, fact in ((bruno, facts[0]), (carla, facts[1])):  # they worked the Comune today
        await take(platform, worker)
        await record(platform, worker, fact.debtor_id, outcome="occupato")
    await take(platform, anna)  # Anna holds a card and goes home

    context, page = await signed_in(chromium, oidc_provider, boss)
    await page.clock.install()
    await page.goto(f"{oidc_provider.gateway_base}/t/{comune.slug}/contact/board")
    hand = page.get_by_role("button", name="Affida", exact=False)
    await hand.focus()
    assert await refreshes(page, 21) == 1
    await expect(page.get_by_role("button", name="Affida", exact=False)).to_be_focused()
    pause = page.get_by_role("button", name="Sospendi l'aggiornamento")
    await pause.click()
    await expect(page.get_by_role("button", name="Riprendi l'aggiornamento")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert await refreshes(page, 45) == 0
    await page.get_by_role("button", name="Riprendi l'aggiornamento").click()
    assert await refreshes(page, 21) == 1
    # The card Anna holds goes to Carla (the second choice): a refresh meanwhile keeps the choice.
    choice = page.get_by_label("Affida la scheda di", exact=False)
    await page.evaluate("document.getElementById('board').dataset.before = 'yes'")
    await choice.select_option(label="Carla Operatrice")
    await replaced(page)
    await expect(page.get_by_label("Affida la scheda di", exact=False)).to_have_value("op-carla")
    await page.get_by_role("button", name="Affida", exact=False).click()
    await expect(page.get_by_test_id("reassigned")).to_contain_text("è ora affidata a Carla Operatrice")
    await expect(page.get_by_test_id("reassigned")).to_be_focused()  # not the top of the page
    # The next refresh keeps the confirmation, and the focus on it (the server sends it only once).
    await page.evaluate("document.getElementById('board').dataset.before = 'yes'")
    await replaced(page)
    await expect(page.get_by_test_id("reassigned")).to_have_count(1)
    await expect(page.get_by_test_id("reassigned")).to_be_focused()
    await context.close()
