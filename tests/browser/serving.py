"""The pieces of a browser test: the real gateway with the real services behind it, served by
uvicorn on a loopback port, and headless Chromium (Debian's /usr/bin/chromium through Playwright)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import uvicorn
from playwright.async_api import Browser, async_playwright

from gateway import repository
from gateway.app import Gateway
from gateway.proxy import AsgiUpstream, Upstream
from services.platform import BUSINESS_SERVICES, Platform

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


def gateway_for(platform: Platform, base: str, oidc_providers: Any = ()) -> Gateway:
    """The gateway at `base` forwarding to the platform's service apps in process."""
    upstreams: dict[str, Upstream] = {name: AsgiUpstream(platform.app(name)) for name in BUSINESS_SERVICES}
    settings = replace(platform.settings, dev_login=False, public_base_url=base)
    return Gateway(
        settings,
        platform.databases["gateway"],
        platform.signer,
        platform.storage,
        platform.bus,
        upstreams,
        oidc_providers=list(oidc_providers),
    )


@asynccontextmanager
async def serving(app: Any, port: int) -> AsyncIterator[None]:
    """`app` served on the loopback port for the duration of the block."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


async def invite(platform: Platform, tenant_ids: Any, email: str, role: str = "operator") -> None:
    """`email` is given `role` in each Comune of `tenant_ids`, taken at their first OpenID login."""
    for tenant_id in tenant_ids:
        async with platform.databases["gateway"].unit_of_work(tenant_id) as uow:
            await repository.create_invitation(uow, tenant_id, None, email, role, None)
            await uow.commit()
