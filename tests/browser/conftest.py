"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against the real gateway served
by uvicorn on a loopback port, with the real services behind it and the test OpenID provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser

from gateway.app import Gateway
from gateway.domain import Limit
from gateway.ratelimit import RateLimits
from services.platform import Platform
from tests.browser.serving import gateway_for, launched, serving
from tests.conftest import RUN_ID
from tests.oidc_provider import OpenIdProvider, free_port, start_provider, stop_provider


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIdProvider]:
    provider = start_provider(tmp_path_factory.mktemp("oidc-browser"), free_port(), RUN_ID + "b")
    yield provider
    stop_provider(provider)


@pytest_asyncio.fixture(scope="session")
async def served(platform: Platform, oidc_provider: OpenIdProvider) -> AsyncIterator[Gateway]:
    """The gateway on the port the provider expects, until the end of the session."""
    gw = gateway_for(platform, oidc_provider.gateway_base, oidc_provider.configs())
    # Every browser test signs in from 127.0.0.1: the login limit (tests/gateway/test_ratelimit.py)
    # would turn the later ones away within five minutes.
    gw.rate_limiter.limits = RateLimits(login=Limit(1_000, 300))
    async with serving(gw, int(oidc_provider.gateway_base.rsplit(":", 1)[1])):
        yield gw


@pytest_asyncio.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    async with launched() as browser:
        yield browser
