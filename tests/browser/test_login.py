"""In a real browser: SPID-style login through the provider's pages, tenant switching, and logout at
the gateway and at the provider."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from gateway import repository_audit as audit
from gateway.app import SESSION_COOKIE, Gateway
from services.platform import Platform
from tests.browser.serving import invite
from tests.gateway.helpers import make_person, make_tenant
from tests.oidc_provider import Account, OpenIdProvider


async def login_at_provider(page: Page, account: Account) -> None:
    await expect(page.get_by_role("heading", name="Accesso al provider di test")).to_be_visible()
    await page.get_by_label("Utente").fill(account.login)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Accedi").click()
    await page.get_by_role("button", name="Autorizza").click()


@pytest.mark.asyncio
async def test_spid_login_lands_on_the_comune_dashboard_and_logout_ends_both_sessions(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("spid")
    tenant = await make_tenant(platform)
    await make_person(platform, {tenant.id: "comune_admin"}, fiscal_number=account.fiscal_code)
    context = await chromium.new_context()
    page = await context.new_page()
    await page.goto(f"{oidc_provider.gateway_base}/login")
    await page.get_by_role("link", name="Entra con SPID").click()
    await login_at_provider(page, account)
    await expect(page).to_have_url(re.compile(rf"/t/{tenant.slug}/reporting/"))
    await expect(page.get_by_test_id("tenant-name")).to_have_text(tenant.name)
    cookie = next(c for c in await context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    await page.get_by_role("button", name="Esci").first.click()
    await expect(page.get_by_role("heading", name="Uscita dal provider di test")).to_be_visible()
    await page.get_by_role("button", name="Esci").click()
    await expect(page).to_have_url(f"{oidc_provider.gateway_base}/login")
    assert await served.sessions_store.load(cookie["value"]) is None
    async with httpx.AsyncClient(
        base_url=oidc_provider.gateway_base, cookies={SESSION_COOKIE: cookie["value"]}
    ) as c:
        assert (await c.get(f"/t/{tenant.slug}/reporting/")).headers["location"] == "/login"
    # The provider's session ended too: logging in again asks for the credentials.
    await page.get_by_role("link", name="Entra con SPID").click()
    await expect(page.get_by_role("heading", name="Accesso al provider di test")).to_be_visible()
    await context.close()


@pytest.mark.asyncio
async def test_an_operator_with_two_comuni_switches_between_them(
    served: Gateway, chromium: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("staff")
    a, b = await make_tenant(platform, "alfa"), await make_tenant(platform, "beta")
    await invite(platform, (a.id, b.id), account.email)
    context = await chromium.new_context()
    page = await context.new_page()
    await page.goto(f"{oidc_provider.gateway_base}/login")
    await page.get_by_role("link", name="Accesso personale").click()
    await login_at_provider(page, account)
    await expect(page.get_by_test_id("tenant-list")).to_be_visible()
    await page.get_by_role("link", name=a.name, exact=True).click()
    await expect(page.get_by_test_id("tenant-name")).to_have_text(a.name)
    await page.get_by_role("navigation", name="Cambia Comune").get_by_role("link", name=b.name).click()
    await expect(page.get_by_test_id("tenant-name")).to_have_text(b.name)
    assert f"/t/{b.slug}/" in page.url
    async with platform.databases["gateway"].unit_of_work(b.id) as uow:
        entries = await audit.tenant_entries(uow, b.id)
    assert [e.action for e in entries] == ["tenant_switch", "membership_added"]  # newest first
    assert entries[0].detail == {"from": str(a.id)}
    assert entries[1].detail["via"] == "invitation"
    await context.close()
