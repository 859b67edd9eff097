"""ID tokens the gateway must refuse, crafted by a fake provider served in-process: each goes through
the real login callback (discovery, token request, signature and claim checks)."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway import repository_audit as audit
from gateway.app import SESSION_COOKIE, Gateway
from gateway.oidc import ProviderConfig
from services.platform import Platform
from tests.gateway.helpers import make_person, make_tenant, random_fiscal_code

ISSUER = "https://op.fake.test"
CLIENT_ID = "riscossa-fake"
BASE = "http://127.0.0.1:8123"


@dataclass
class FakeProvider:
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    claims: dict[str, Any] = field(default_factory=dict)
    signer: RSAKey | None = None  # signs with another key when set
    nonce: str = ""

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse(
                {
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/auth",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/jwks",
                }
            )

        async def jwks(request: Request) -> Response:
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        async def token(request: Request) -> Response:
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, self.claims, self.signer or self.key)
            return JSONResponse({"access_token": "at", "token_type": "Bearer", "id_token": id_token})

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/jwks", jwks),
                Route("/token", token, methods=["POST"]),
            ]
        )


@dataclass
class Setup:
    op: FakeProvider
    web: httpx.AsyncClient
    fiscal_code: str

    async def login_with(self, tweak: Callable[[dict[str, Any]], None]) -> httpx.Response:
        authorize = await self.web.get("/login/oidc/fake")
        query = parse_qs(urlsplit(authorize.headers["location"]).query)
        now = int(time.time())
        self.op.claims = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": "subject-1",
            "iat": now,
            "exp": now + 300,
            "nonce": query["nonce"][0],
            "acr": "https://www.spid.gov.it/SpidL2",
            "https://attributes.eid.gov.it/fiscal_number": f"TINIT-{self.fiscal_code}",
        }
        tweak(self.op.claims)
        return await self.web.get(f"/login/oidc/fake/callback?code=c&state={query['state'][0]}")


@pytest_asyncio.fixture
async def setup(platform: Platform) -> AsyncIterator[Setup]:
    op = FakeProvider()
    config = ProviderConfig.from_dict(
        {"name": "fake", "issuer": ISSUER, "client_id": CLIENT_ID, "client_secret": "s", "spid": True}
    )
    gw = Gateway(
        replace(platform.settings, dev_login=False, public_base_url=BASE),
        platform.databases["gateway"],
        platform.signer,
        platform.storage,
        platform.bus,
        {},
        oidc_providers=[config],
        http_transport=httpx.ASGITransport(app=op.app()),
    )
    fiscal_code = random_fiscal_code()
    tenant = await make_tenant(platform)
    await make_person(platform, {tenant.id: "comune_viewer"}, fiscal_number=fiscal_code)
    # Each test is its own client address, so the login rate limit never trips across tests.
    ip = f"10.66.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw, client=(ip, 1)), base_url=BASE) as web:
        yield Setup(op, web, fiscal_code)


async def refused(platform: Platform, response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert SESSION_COOKIE not in response.cookies
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        entries = await audit.all_entries(uow, limit=30)
    assert any(e.action == "login_failed" and e.detail.get("reason") == reason for e in entries)


@pytest.mark.asyncio
async def test_a_well_formed_token_is_accepted(setup: Setup) -> None:
    """The control: the harness can succeed, so the refusals below are the checks at work."""
    response = await setup.login_with(lambda claims: None)
    assert response.status_code == 303 and response.cookies.get(SESSION_COOKIE)


@pytest.mark.asyncio
async def test_wrong_audience_is_refused(setup: Setup, platform: Platform) -> None:
    response = await setup.login_with(lambda c: c.update(aud="another-client"))
    await refused(platform, response, "id_token_wrong_audience")


@pytest.mark.asyncio
async def test_several_audiences_without_our_azp_are_refused(setup: Setup, platform: Platform) -> None:
    response = await setup.login_with(lambda c: c.update(aud=[CLIENT_ID, "another-client"]))
    await refused(platform, response, "id_token_wrong_audience")


@pytest.mark.asyncio
async def test_wrong_issuer_is_refused(setup: Setup, platform: Platform) -> None:
    response = await setup.login_with(lambda c: c.update(iss="https://evil.example"))
    await refused(platform, response, "id_token_wrong_issuer")


@pytest.mark.asyncio
async def test_an_expired_token_is_refused(setup: Setup, platform: Platform) -> None:
    response = await setup.login_with(
        lambda c: c.update(exp=int(time.time()) - 120, iat=int(time.time()) - 900)
    )
    await refused(platform, response, "id_token_expired")


@pytest.mark.asyncio
async def test_a_bad_signature_is_refused(setup: Setup, platform: Platform) -> None:
    setup.op.signer = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    response = await setup.login_with(lambda c: None)
    await refused(platform, response, "id_token_bad_signature")


@pytest.mark.asyncio
async def test_a_nonce_from_another_login_is_refused(setup: Setup, platform: Platform) -> None:
    response = await setup.login_with(lambda c: c.update(nonce="a-nonce-from-another-login"))
    await refused(platform, response, "nonce_mismatch")


@pytest.mark.asyncio
async def test_a_missing_acr_is_refused(setup: Setup, platform: Platform) -> None:
    response = await setup.login_with(lambda c: c.pop("acr"))
    await refused(platform, response, "acr_too_low")
