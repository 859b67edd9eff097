"""The main menu in Chromium: the rules and settings open from one item («Regole e impostazioni», a
native <details>) that the keyboard opens, walks and leaves (Escape gives the focus back to it,
tabbing past its last link closes it), and the menu stays one line at 1280 px."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from gateway.app import Gateway
from services.platform import Platform
from tests.browser.signed_in import signed_in
from tests.gateway.helpers import make_tenant
from tests.oidc_provider import OpenIdProvider


@pytest.mark.asyncio
async def test_the_settings_menu_opens_walks_and_closes_by_keyboard(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    comune = await make_tenant(platform, "menu")
    # The firm's platform administrator: the longest menu (every item of every role).
    context, page = await signed_in(chromium, platform, oidc_provider, comune.id, "platform_admin")
    await page.set_viewport_size({"width": 1280, "height": 720})
    await page.goto(f"{oidc_provider.gateway_base}/t/{comune.slug}/reporting/")
    await expect(page.get_by_role("link", name="Cruscotto supervisori")).to_be_visible()
    menu = page.locator("details.nav-menu")
    opener = menu.locator("summary")
    settings = page.get_by_role("link", name="Impostazioni pagoPA")
    await expect(settings).to_be_hidden()
    await opener.focus()
    await page.keyboard.press("Enter")
    await expect(settings).to_be_visible()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Regole di chiamata")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(settings).to_be_hidden()
    await expect(opener).to_be_focused()
    # Opened again and left by tabbing past its last link: closed.
    await page.keyboard.press("Enter")
    links = menu.locator("a")
    for _ in range(await links.count()):
        await page.keyboard.press("Tab")
    await expect(links.last).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(settings).to_be_hidden()
    # One line: every item of the menu on the same row.
    tops = await page.eval_on_selector_all(
        "nav[aria-label='Menu principale'] .nav-item",
        "items => items.map(i => i.getBoundingClientRect().top)",
    )
    assert len(set(tops)) == 1, tops
    await context.close()
