"""A redirect that adds or drops a trailing slash is relative: it never echoes the request's Host
header (`Host: evil.example` must not send the browser to http://evil.example/admin/)."""

from __future__ import annotations

import httpx
import pytest

from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.gateway.helpers import make_gateway


@pytest.mark.asyncio
async def test_the_gateways_slash_redirect_does_not_echo_the_host_header(platform: Platform) -> None:
    gw = make_gateway(platform)
    transport = httpx.ASGITransport(app=gw)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        answer = await client.get("/admin?x=1", headers={"host": "evil.example"})
        doubled = await client.get("//admin", headers={"host": "evil.example"})
    assert answer.status_code == 307
    assert answer.headers["location"] == "/admin/?x=1"
    assert "evil.example" not in doubled.headers.get("location", "")
    assert not doubled.headers.get("location", "/").startswith("//")


@pytest.mark.asyncio
async def test_a_services_slash_redirect_does_not_echo_the_host_header(
    platform: Platform, tenant: Identity
) -> None:
    async with service_client(platform, "reporting", tenant) as client:
        path = f"/t/{tenant.tenant_slug}/reporting/aggio"
        answer = await client.get(f"{path}/", headers={"host": "evil.example"})
    assert answer.status_code == 307
    assert answer.headers["location"] == path
