"""`riscossa serve`'s HTTP server believes X-Forwarded-For only from the proxies listed in
RISCOSSA_TRUSTED_PROXIES (none by default), so a local process cannot pick its own address for the
rate limits and the audit log."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from services import cli
from services.kernel.settings import Settings
from tests.support import free_port


async def _client_host(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.client.host if request.client else "none")


ECHO = Starlette(routes=[Route("/", _client_host)])


async def _seen_address(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    servers: list[Any] = []

    class Recorded(cli._Server):
        def __init__(self, config: Any) -> None:
            super().__init__(config)
            servers.append(self)

    monkeypatch.setattr(cli, "_Server", Recorded)
    task = asyncio.create_task(cli._serve(ECHO, settings))
    while not (servers and servers[0].started):
        await asyncio.sleep(0.02)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.port}") as client:
            answer = await client.get("/", headers={"x-forwarded-for": "203.0.113.9"})
        return answer.text
    finally:
        servers[0].should_exit = True
        await task


@pytest.mark.asyncio
async def test_a_loopback_clients_forwarded_for_is_ignored_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RISCOSSA_TRUSTED_PROXIES", raising=False)
    settings = replace(Settings.from_env(), host="127.0.0.1", port=free_port())
    assert await _seen_address(settings, monkeypatch) == "127.0.0.1"


@pytest.mark.asyncio
async def test_a_configured_proxys_forwarded_for_gives_the_client_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RISCOSSA_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")
    settings = replace(Settings.from_env(), host="127.0.0.1", port=free_port())
    assert await _seen_address(settings, monkeypatch) == "203.0.113.9"
