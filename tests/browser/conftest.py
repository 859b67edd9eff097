"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against the real gateway served
by uvicorn on a loopback port, with the real services behind it and the test OpenID provider."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest
import pytest_asyncio
import uvicorn
from playwright.async_api import Browser, async_playwright

from gateway.app import Gateway
from gateway.domain import Limit
from gateway.proxy import AsgiUpstream, Upstream
from gateway.ratelimit import RateLimits
from services.platform import BUSINESS_SERVICES, Platform
from tests.conftest import RUN_ID
from tests.oidc_provider import OpenIdProvider, free_port, start_provider, stop_provider

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIdProvider]:
    provider = start_provider(tmp_path_factory.mktemp("oidc-browser"), free_port(), RUN_ID + "b")
    yield provider
    stop_provider(provider)


@pytest_asyncio.fixture(scope="session")
async def served(platform: Platform, oidc_provider: OpenIdProvider) -> AsyncIterator[Gateway]:
    """The gateway on the port the provider expects, until the end of the session."""
    upstreams: dict[str, Upstream] = {name: AsgiUpstream(platform.app(name)) for name in BUSINESS_SERVICES}
    settings = replace(platform.settings, dev_login=False, public_base_url=oidc_provider.gateway_base)
    gw = Gateway(
        settings,
        platform.databases["gateway"],
        platform.signer,
        platform.storage,
        platform.bus,
        upstreams,
        oidc_providers=oidc_provider.configs(),
    )
    # Every browser test signs in from 127.0.0.1: the login limit (tests/gateway/test_ratelimit.py)
    # would turn the later ones away within five minutes.
    gw.rate_limiter.limits = RateLimits(login=Limit(1_000, 300))
    port = int(oidc_provider.gateway_base.rsplit(":", 1)[1])
    server = uvicorn.Server(
        uvicorn.Config(gw, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield gw
    server.should_exit = True
    await task


@pytest_asyncio.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        await browser.close()
