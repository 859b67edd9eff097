"""A service that fails (a 500 from an exception, or a connection reset before answering) never
breaks the client's keep-alive connection to the gateway: the client gets its error page, and the
next request on the same connection is answered."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.app import Gateway
from gateway.proxy import AsgiUpstream, HttpUpstream, Upstream
from gateway.seed import issue_dev_api_key, seed_demo
from services.platform import BUSINESS_SERVICES, Platform
from tests.support import free_port


async def _boom(request: Request) -> PlainTextResponse:
    raise RuntimeError("the service failed")


async def _fine(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


FAILING = Starlette(routes=[Route("/api/v1/ingest/boom", _boom), Route("/api/v1/ingest/fine", _fine)])


async def _resetting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1024)
    writer.transport.abort()


@contextlib.asynccontextmanager
async def _serving(gw: Gateway) -> AsyncIterator[int]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(gw, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, key: str) -> int:
    """One request on an open connection; returns the response's status after reading its body."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    else:
        while (size := int((await reader.readline()).strip(), 16)) > 0:
            await reader.readexactly(size + 2)
        await reader.readline()
    return int(lines[0].split()[1])


async def _two_requests_on_one_connection(platform: Platform, upstreams: dict[str, Upstream]) -> list[int]:
    tenants = await seed_demo(platform.databases["gateway"])
    key = await issue_dev_api_key(platform.databases["gateway"], tenants["comune-demo-a"])
    settings = replace(platform.settings, mode="dev", dev_login=True)
    gw = Gateway(
        settings, platform.databases["gateway"], platform.signer, platform.storage, platform.bus, upstreams
    )
    async with _serving(gw) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            first = await _exchange(reader, writer, "/api/v1/ingest/boom", key)
            second = await _exchange(reader, writer, "/api/v1/ingest/fine", key)
        finally:
            writer.close()
    return [first, second]


@pytest.mark.asyncio
async def test_a_service_error_keeps_the_clients_connection(platform: Platform) -> None:
    upstreams: dict[str, Upstream] = {name: AsgiUpstream(FAILING) for name in BUSINESS_SERVICES}
    assert await _two_requests_on_one_connection(platform, upstreams) == [500, 200]


@pytest.mark.asyncio
async def test_a_service_resetting_the_connection_gets_a_502_and_keeps_the_clients(
    platform: Platform,
) -> None:
    resetting = await asyncio.start_server(_resetting, "127.0.0.1", 0)
    port = resetting.sockets[0].getsockname()[1]
    broken = HttpUpstream(f"http://127.0.0.1:{port}")
    upstreams: dict[str, Upstream] = {name: broken for name in BUSINESS_SERVICES}
    try:
        statuses = await _two_requests_on_one_connection(platform, upstreams)
    finally:
        await broken.close()
        resetting.close()
    assert statuses == [502, 502]
