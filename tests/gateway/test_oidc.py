"""OpenID Connect login against the real test provider (oidc-provider on node): the happy paths, and
each way a login must be refused."""

from __future__ import annotations

import html
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from gateway import repository
from gateway import repository_audit as audit
from gateway.app import PRELOGIN_COOKIE, SESSION_COOKIE, Gateway
from gateway.oidc import LoginRejected
from gateway.proxy import AsgiUpstream
from gateway.sessions import digest
from services.platform import BUSINESS_SERVICES, Platform
from tests.gateway.helpers import make_person, make_tenant
from tests.gateway.test_gateway import echo_app
from tests.oidc_provider import Account, OpenIdProvider, through_provider


@dataclass
class Browser:
    """A gateway client and a provider client sharing one "browser" (each keeps its cookies)."""

    gw: Gateway
    web: httpx.AsyncClient
    op: httpx.AsyncClient
    base: str

    async def start(self, provider: str) -> str:
        response = await self.web.get(f"/login/oidc/{provider}")
        assert response.status_code == 303, response.text
        return response.headers["location"]

    async def callback_url(self, provider: str, account: Account | None) -> str:
        return await through_provider(self.op, await self.start(provider), account, self.base)

    async def finish(self, callback_url: str) -> httpx.Response:
        return await self.web.get(callback_url.removeprefix(self.base))

    async def login(self, provider: str, account: Account | None) -> httpx.Response:
        return await self.finish(await self.callback_url(provider, account))


def oidc_gateway(platform: Platform, op: OpenIdProvider) -> Gateway:
    settings = replace(platform.settings, dev_login=False, public_base_url=op.gateway_base)
    upstream = AsgiUpstream(echo_app(platform.signer))
    return Gateway(
        settings,
        platform.databases["gateway"],
        platform.signer,
        platform.storage,
        platform.bus,
        dict.fromkeys(BUSINESS_SERVICES, upstream),
        oidc_providers=op.configs(),
    )


@pytest_asyncio.fixture
async def browser(platform: Platform, oidc_provider: OpenIdProvider) -> AsyncIterator[Browser]:
    gw = oidc_gateway(platform, oidc_provider)
    transport = httpx.ASGITransport(
        app=gw, client=(f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}", 1)
    )
    async with (
        httpx.AsyncClient(transport=transport, base_url=oidc_provider.gateway_base) as web,
        httpx.AsyncClient() as op,
    ):
        yield Browser(gw, web, op, oidc_provider.gateway_base)


async def comune_admin_for(platform: Platform, account: Account) -> repository.Tenant:
    tenant = await make_tenant(platform)
    await make_person(platform, {tenant.id: "comune_admin"}, fiscal_number=account.fiscal_code)
    return tenant


async def audit_reasons(platform: Platform) -> list[str]:
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        entries = await audit.all_entries(uow, limit=200)
    return [str(e.detail.get("reason")) for e in entries if e.action == "login_failed"]


async def signed_out(b: Browser) -> bool:
    return await b.gw.read_session(_request_with(b.web.cookies.get(SESSION_COOKIE))) is None


def _request_with(cookie: str | None):  # type: ignore[no-untyped-def]
    from starlette.requests import Request

    headers = [(b"cookie", f"{SESSION_COOKIE}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "headers": headers})


# ------------------------------------------------------------------------------------ happy paths


@pytest.mark.asyncio
async def test_spid_login_matches_the_fiscal_number_and_lands_on_the_comune(
    browser: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("spid")
    tenant = await comune_admin_for(platform, account)
    authorize = await browser.start("spid")
    query = parse_qs(urlsplit(authorize).query)
    # SPID: a signed request object, with client_id, response_type and scope also outside it.
    assert set(query) == {"client_id", "response_type", "scope", "request"}
    callback = await through_provider(browser.op, authorize, account, browser.base)
    response = await browser.finish(callback)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.cookies.get(SESSION_COOKIE)
    assert cookie and "httponly" in response.headers["set-cookie"].lower()
    home = await browser.web.get("/")
    assert home.status_code == 303 and home.headers["location"] == f"/t/{tenant.slug}/"
    page = await browser.web.get(f"/t/{tenant.slug}/reporting/x")
    assert page.status_code == 200 and page.json()["roles"] == ["comune_admin"]
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        row = (
            await uow.execute(
                sa.text("SELECT acr, provider FROM gateway.sessions WHERE id_hash = :h"),
                {"h": digest(cookie)},
            )
        ).one()
        logins = [e for e in await audit.all_entries(uow, limit=50) if e.action == "login"]
    assert (row.acr, row.provider) == ("https://www.spid.gov.it/SpidL2", "spid")
    assert any(e.detail.get("acr") == row.acr and e.ip == browser.web._transport.client[0] for e in logins)  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_staff_login_accepts_an_email_invitation_then_matches_issuer_and_subject(
    browser: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("staff")
    tenant = await make_tenant(platform)
    async with platform.databases["gateway"].unit_of_work(tenant.id) as uow:
        await repository.create_invitation(uow, tenant.id, None, account.email, "operator", None)
        await uow.commit()
    first = await browser.login("staff", account)
    assert first.status_code == 303, first.text
    assert (await browser.web.get(f"/t/{tenant.slug}/contact/x")).json()["roles"] == ["operator"]
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        linked = (
            await uow.execute(
                sa.text(
                    "SELECT u.display_name, u.email FROM gateway.user_identities i "
                    "JOIN gateway.users u ON u.id = i.user_id WHERE i.subject = :s"
                ),
                {"s": account.sub},
            )
        ).one()
        # The address changes at the provider: the person is still found by issuer and subject.
        await uow.execute(
            sa.text("UPDATE gateway.users SET email = NULL WHERE email = :e"), {"e": account.email}
        )
        await uow.commit()
    assert linked.display_name == account.claims["given_name"] + " " + account.claims["family_name"]
    again = await browser.login("staff", None)  # still signed in at the provider
    assert again.status_code == 303 and again.cookies.get(SESSION_COOKIE) != first.cookies.get(SESSION_COOKIE)


@pytest.mark.asyncio
async def test_jwks_publishes_only_public_keys(browser: Browser, oidc_provider: OpenIdProvider) -> None:
    keys = (await browser.web.get("/.well-known/jwks.json")).json()["keys"]
    assert [k["kid"] for k in keys] == [oidc_provider.key.kid]
    assert "d" not in keys[0] and keys[0]["n"] == oidc_provider.key.as_dict()["n"]


@pytest.mark.asyncio
async def test_login_page_lists_the_providers(browser: Browser) -> None:
    page = await browser.web.get("/login")
    assert "Entra con SPID" in page.text and "Accesso personale" in page.text
    assert "/login/dev" not in page.text


# ---------------------------------------------------------------------------------------- refusals


async def assert_refused(b: Browser, response: httpx.Response, platform: Platform, reason: str) -> None:
    assert response.status_code in (401, 403), response.text
    assert SESSION_COOKIE not in response.cookies
    assert await signed_out(b)
    assert (await b.web.get("/")).headers.get("location") == "/login"
    assert reason in await audit_reasons(platform)


@pytest.mark.asyncio
async def test_state_mismatch_is_refused(
    browser: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("spid")
    await comune_admin_for(platform, account)
    callback = await browser.callback_url("spid", account)
    forged = callback.replace("state=", "state=x")
    await assert_refused(browser, await browser.finish(forged), platform, "state_mismatch")


@pytest.mark.asyncio
async def test_a_callback_from_another_browser_is_refused(
    browser: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    """The state is bound to the browser that started the login (login CSRF)."""
    account = oidc_provider.take("spid")
    await comune_admin_for(platform, account)
    callback = await browser.callback_url("spid", account)
    browser.web.cookies.delete(PRELOGIN_COOKIE)
    browser.web.cookies.set(PRELOGIN_COOKIE, "the-attackers-browser")
    await assert_refused(browser, await browser.finish(callback), platform, "state_mismatch")


@pytest.mark.asyncio
async def test_nonce_mismatch_is_refused(
    browser: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("spid")
    await comune_admin_for(platform, account)
    callback = await browser.callback_url("spid", account)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        await uow.execute(
            sa.text("UPDATE gateway.pending_logins SET nonce = 'another-nonce' WHERE state_hash = :h"),
            {"h": digest(state)},
        )
        await uow.commit()
    await assert_refused(browser, await browser.finish(callback), platform, "nonce_mismatch")


@pytest.mark.asyncio
async def test_a_replayed_code_is_refused(
    browser: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("spid")
    await comune_admin_for(platform, account)
    first = await browser.callback_url("spid", account)
    assert (await browser.finish(first)).status_code == 303
    await browser.web.post("/logout", data={"csrf_token": "wrong"})  # refused; the session stays
    browser.web.cookies.delete(SESSION_COOKIE)
    # A fresh login in the same browser (valid state), but with the code already spent.
    second = await browser.callback_url("spid", None)
    old_code = parse_qs(urlsplit(first).query)["code"][0]
    new_code = parse_qs(urlsplit(second).query)["code"][0]
    replay = second.replace(f"code={new_code}", f"code={old_code}")
    response = await browser.finish(replay)
    await assert_refused(browser, response, platform, "token_request_refused:invalid_grant")


async def pending_verifier(platform: Platform, authorize: str, clear: bool = False) -> str:
    """The PKCE verifier the gateway keeps for a started login; `clear` blanks it, as if lost."""
    state_hash = digest(parse_qs(urlsplit(authorize).query)["state"][0])
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        verifier = str(
            (
                await uow.execute(
                    sa.text("SELECT code_verifier FROM gateway.pending_logins WHERE state_hash = :h"),
                    {"h": state_hash},
                )
            ).scalar_one()
        )
        if clear:
            await uow.execute(
                sa.text("UPDATE gateway.pending_logins SET code_verifier = '' WHERE state_hash = :h"),
                {"h": state_hash},
            )
            await uow.commit()
    return verifier


@pytest.mark.asyncio
async def test_a_missing_pkce_verifier_is_refused(
    browser: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("spid")
    await comune_admin_for(platform, account)
    authorize = await browser.start("staff")
    verifier = await pending_verifier(platform, authorize, clear=True)
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == [create_s256_code_challenge(verifier)]
    callback = await through_provider(browser.op, authorize, account, browser.base)
    await assert_refused(
        browser, await browser.finish(callback), platform, "token_request_refused:invalid_grant"
    )


@pytest.mark.asyncio
async def test_the_token_endpoint_refuses_a_code_without_its_verifier(
    browser: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    """The client itself: the same code is refused without the verifier, accepted with it."""
    account = oidc_provider.take("spid")
    await comune_admin_for(platform, account)
    authorize = await browser.start("staff")
    verifier = await pending_verifier(platform, authorize)
    callback = await through_provider(browser.op, authorize, account, browser.base)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    client = browser.gw.oidc_clients["staff"]
    with pytest.raises(LoginRejected, match="invalid_grant"):
        await client.exchange(code, None)
    with pytest.raises(LoginRejected, match="invalid_grant"):
        await client.exchange(code, verifier + "x")


@pytest.mark.asyncio
async def test_acr_below_the_minimum_is_refused(
    browser: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("spid-l1")
    await comune_admin_for(platform, account)
    response = await browser.login("spid", account)
    await assert_refused(browser, response, platform, "acr_too_low")
    assert "livello 2" in response.text


@pytest.mark.asyncio
async def test_a_known_person_without_membership_is_not_authorized(
    browser: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("spid")
    person = await make_person(platform, {}, fiscal_number=account.fiscal_code)
    response = await browser.login("spid", account)
    await assert_refused(browser, response, platform, "no_membership")
    assert response.status_code == 403 and "Accesso non autorizzato" in response.text
    # Whom to ask, and the fiscal code the provider vouched for, to be invited by.
    told = html.unescape(response.text)
    assert f"L'invito va fatto al tuo codice fiscale {account.fiscal_code}" in told
    assert "chiedi all'amministratore del tuo Comune di invitarti" in told
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        links = await uow.execute(
            sa.text("SELECT 1 FROM gateway.user_identities WHERE user_id = :u"), {"u": person.id}
        )
        assert links.first() is None


@pytest.mark.asyncio
async def test_an_unknown_person_is_not_authorized_and_not_recorded(
    browser: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("spid")
    response = await browser.login("spid", account)
    await assert_refused(browser, response, platform, "unknown_user")
    assert "Accesso non autorizzato" in response.text
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        found = await repository.find_user(uow, account.fiscal_code, None)
    assert found is None


@pytest.mark.asyncio
async def test_session_fixation_a_pre_login_session_id_is_worthless_after_login(
    browser: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("spid")
    tenant = await comune_admin_for(platform, account)
    # The attacker plants their own valid session, and a made-up id, in the victim's browser.
    attacker = await make_person(platform, {tenant.id: "comune_viewer"})
    planted = await browser.gw.sessions_store.create(attacker.id)
    browser.web.cookies.set(SESSION_COOKIE, planted.cookie)
    await browser.web.get("/login")
    prelogin = browser.web.cookies.get(PRELOGIN_COOKIE)
    response = await browser.login("spid", account)
    assert response.status_code == 303
    issued = response.cookies.get(SESSION_COOKIE)
    assert issued and issued not in (planted.cookie, prelogin)
    assert await browser.gw.sessions_store.load(planted.cookie) is None
    assert prelogin and await browser.gw.sessions_store.load(prelogin) is None
    for stale in (planted.cookie, prelogin):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=browser.gw),
            base_url=browser.base,
            cookies={SESSION_COOKIE: stale},
        ) as other:
            assert (await other.get(f"/t/{tenant.slug}/reporting/x")).status_code == 303
    assert PRELOGIN_COOKIE not in browser.web.cookies


@pytest.mark.asyncio
async def test_logout_ends_the_session_and_goes_to_the_provider(
    browser: Browser, platform: Platform, oidc_provider: OpenIdProvider
) -> None:
    account = oidc_provider.take("spid")
    tenant = await comune_admin_for(platform, account)
    cookie = (await browser.login("spid", account)).cookies[SESSION_COOKIE]
    session = await browser.gw.sessions_store.load(cookie)
    assert session is not None
    response = await browser.web.post("/logout", data={"csrf_token": session.csrf})
    assert response.status_code == 303
    end = urlsplit(response.headers["location"])
    params = parse_qs(end.query)
    assert f"{end.scheme}://{end.netloc}" == oidc_provider.issuer and end.path == "/session/end"
    assert params["id_token_hint"] == [session.id_token]
    assert params["post_logout_redirect_uri"] == [f"{browser.base}/login"]
    assert await browser.gw.sessions_store.load(cookie) is None
    assert (await browser.web.get(f"/t/{tenant.slug}/reporting/x")).status_code == 303
    # The provider ends its session too: the next login asks for credentials again.
    page = await browser.op.get(response.headers["location"])
    assert page.status_code == 200 and "op.logoutForm" in page.text
    confirm = await _submit_logout_form(browser.op, page)
    assert confirm.headers["location"].startswith(f"{browser.base}/login")
    with pytest.raises(AssertionError, match="asks for credentials"):
        await browser.callback_url("spid", None)


async def _submit_logout_form(op: httpx.AsyncClient, page: httpx.Response) -> httpx.Response:
    """Confirm the provider's logout page; returns the redirect that leaves the provider."""
    import re

    action = re.search(r'action="([^"]+)"', page.text)
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text)
    assert action and xsrf
    response = await op.post(page.url.join(action.group(1)), data={"xsrf": xsrf.group(1), "logout": "yes"})
    while response.is_redirect:
        location = response.url.join(response.headers["location"])
        if location.host != page.url.host or location.port != page.url.port:
            break
        response = await op.get(location)
    return response
