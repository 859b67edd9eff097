"""A browser signed in through the test OpenID provider as a new member of one Comune."""

from __future__ import annotations

import uuid

from playwright.async_api import Browser, BrowserContext, Page

from services.platform import Platform
from tests.browser.serving import invite
from tests.browser.test_login import login_at_provider
from tests.oidc_provider import OpenIdProvider


async def signed_in(
    chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider, comune_id: uuid.UUID, role: str
) -> tuple[BrowserContext, Page]:
    """A fresh browser context whose page is signed in as a person invited with `role`."""
    account = oidc_provider.take("staff")
    await invite(platform, (comune_id,), account.email, role)
    context = await chromium.new_context()
    page = await context.new_page()
    await page.goto(f"{oidc_provider.gateway_base}/login")
    await page.get_by_role("link", name="Accesso personale").click()
    await login_at_provider(page, account)
    return context, page
