"""Which identity claims a provider may vouch for: one provider must never take over a person known
through another (fiscal number from a non-SPID provider, e-mail from any provider)."""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from gateway.app import SESSION_COOKIE, Gateway
from gateway.oidc import ProviderConfig
from gateway.repository import link_identity
from services.platform import Platform
from tests.gateway.helpers import make_person, make_tenant, random_fiscal_code
from tests.gateway.test_oidc_tokens import BASE, CLIENT_ID, ISSUER, FakeProvider


async def _login(platform: Platform, config: dict[str, Any], claims: dict[str, Any]) -> httpx.Response:
    op = FakeProvider()
    provider = ProviderConfig.from_dict(
        {"name": "fake", "issuer": ISSUER, "client_id": CLIENT_ID, "client_secret": "s", **config}
    )
    gw = Gateway(
        replace(platform.settings, dev_login=False, public_base_url=BASE),
        platform.databases["gateway"],
        platform.signer,
        platform.storage,
        platform.bus,
        {},
        oidc_providers=[provider],
        http_transport=httpx.ASGITransport(app=op.app()),
    )
    ip = f"10.77.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw, client=(ip, 1)), base_url=BASE) as web:
        authorize = await web.get("/login/oidc/fake")
        query = parse_qs(urlsplit(authorize.headers["location"]).query)
        now = int(time.time())
        op.claims = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": query["nonce"][0],
            "acr": "https://www.spid.gov.it/SpidL2",
            **claims,
        }
        return await web.get(f"/login/oidc/fake/callback?code=c&state={query['state'][0]}")


@pytest.mark.asyncio
async def test_a_provider_not_trusted_for_fiscal_numbers_cannot_claim_one(platform: Platform) -> None:
    tenant = await make_tenant(platform)
    victim_cf = random_fiscal_code()
    await make_person(platform, {tenant.id: "comune_admin"}, fiscal_number=victim_cf)
    claims = {"sub": "attacker", "https://attributes.eid.gov.it/fiscal_number": f"TINIT-{victim_cf}"}
    response = await _login(platform, {"spid": False}, claims)
    assert response.status_code == 403 and SESSION_COOKIE not in response.cookies
    trusted = await _login(platform, {"spid": True}, claims)  # the control: SPID vouches for it
    assert trusted.status_code == 303 and trusted.cookies.get(SESSION_COOKIE)


@pytest.mark.asyncio
async def test_an_email_never_matches_a_person_already_known(platform: Platform) -> None:
    tenant = await make_tenant(platform)
    email = f"admin-{secrets.token_hex(4)}@comune.example.it"
    await make_person(platform, {tenant.id: "comune_admin"}, email=email)
    claims = {"sub": "someone-else", "email": email.upper(), "email_verified": True}
    response = await _login(platform, {"spid": False, "trust_email": True}, claims)
    assert response.status_code == 403 and SESSION_COOKIE not in response.cookies


@pytest.mark.asyncio
async def test_a_linked_person_still_logs_in_when_the_provider_adds_a_fiscal_number(
    platform: Platform,
) -> None:
    tenant = await make_tenant(platform)
    person = await make_person(platform, {tenant.id: "operator"})
    subject = f"sub-{secrets.token_hex(4)}"
    async with platform.databases["gateway"].unit_of_work(None) as uow:
        await link_identity(uow, person.id, ISSUER, subject)
        await uow.commit()
    claims = {"sub": subject, "https://attributes.eid.gov.it/fiscal_number": f"TINIT-{random_fiscal_code()}"}
    response = await _login(platform, {"spid": True}, claims)
    assert response.status_code == 303 and response.cookies.get(SESSION_COOKIE)
