"""The gateway's forwarding over HTTP (`HttpUpstream`, aiohttp) against a real uvicorn server:
methods, paths, queries and bodies reach the service as sent; statuses, repeated headers and bytes
come back untouched; redirects are not followed; nothing is kept between requests."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from gateway.proxy import HttpUpstream, UpstreamUnreachable
from services.kernel.identity import IDENTITY_HEADER
from tests.support import free_port


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.url.query,
            "length": len(body),
            "head": body[:40].decode("latin-1"),
            "identity": request.headers.get(IDENTITY_HEADER),
            "cookie": request.headers.get("cookie"),
            "user_agent": request.headers.get("user-agent"),
        }
    )


async def cookies(request: Request) -> Response:
    response = Response("ok")
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    return response


async def zipped(request: Request) -> Response:
    return Response(gzip.compress(b"x" * 5000), headers={"content-encoding": "gzip"})


SERVICE = Starlette(
    routes=[
        Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/cookies", cookies),
        Route("/moved", lambda r: RedirectResponse("/echo/x", status_code=303)),
        Route("/zipped", zipped),
    ]
)


@pytest_asyncio.fixture
async def service() -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(SERVICE, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest_asyncio.fixture
async def through(service: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests the upstream forwards to the service, as the gateway does."""
    upstream = HttpUpstream(service)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await upstream.forward(scope, receive, send, "signed-identity")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
        yield client
    await upstream.close()


@pytest.mark.asyncio
async def test_paths_queries_and_bodies_reach_the_service_as_sent(through: httpx.AsyncClient) -> None:
    sent = {IDENTITY_HEADER: "forged", "user-agent": "Browser/1.0"}
    got = (await through.get("/echo/caf%C3%A8/a%2Fb?q=1&r=%C3%A8", headers=sent)).json()
    assert got["method"] == "GET" and got["raw_path"] == "/echo/caf%C3%A8/a%2Fb"
    assert got["query"] == "q=1&r=%C3%A8" and got["length"] == 0
    assert got["identity"] == "signed-identity"  # the client's own identity header never passes
    assert got["user_agent"] == "Browser/1.0"  # the browser's, not the forwarding's
    form = (await through.post("/echo/f", data={"outcome": "non_risponde", "note": "è"})).json()
    assert form["method"] == "POST" and form["head"].startswith("outcome=non_risponde&note=%C3%A8")
    upload = (await through.post("/echo/u", files={"file": ("a.pdf", b"%PDF" + b"0" * 3_000_000)})).json()
    assert upload["length"] > 3_000_000
    deleted = (await through.delete("/echo/d")).json()
    assert deleted["method"] == "DELETE" and deleted["length"] == 0


@pytest.mark.asyncio
async def test_answers_come_back_untouched_and_nothing_is_kept(through: httpx.AsyncClient) -> None:
    set_twice = await through.get("/cookies")
    assert set_twice.headers.get_list("set-cookie")[0].startswith("a=1")
    assert len(set_twice.headers.get_list("set-cookie")) == 2
    # The forwarding keeps no cookie jar: the next request carries only what its client sends.
    through.cookies.clear()
    assert json.loads((await through.get("/echo/x")).text)["cookie"] is None
    moved = await through.get("/moved")
    assert moved.status_code == 303 and moved.headers["location"] == "/echo/x"
    raw = await through.get("/zipped")
    assert (
        raw.headers["content-encoding"] == "gzip" and raw.content == b"x" * 5000
    )  # decoded by the client only


@pytest.mark.asyncio
async def test_a_service_that_does_not_answer_is_unreachable() -> None:
    upstream = HttpUpstream(f"http://127.0.0.1:{free_port()}")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await upstream.forward(scope, receive, send, "signed-identity")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
        with pytest.raises(UpstreamUnreachable):
            await client.get("/echo/x")
    await upstream.close()
