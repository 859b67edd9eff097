"""Upstreams the gateway forwards to: an ASGI app in the same process, or a service over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kernel.identity import IDENTITY_HEADER
from services.kernel.logs import correlation_var

HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade", b"host"}


class Upstream(Protocol):
    async def forward(self, scope: Scope, receive: Receive, send: Send, identity_token: str) -> None: ...


def with_identity(headers: list[tuple[bytes, bytes]], token: str) -> list[tuple[bytes, bytes]]:
    """Drop any identity a client tried to send and attach the gateway's own, with the gateway's
    correlation id so one request has one id in every log."""
    key = IDENTITY_HEADER.encode()
    dropped = {key, b"x-correlation-id"}
    correlation = (correlation_var.get() or "").encode()
    return [(k, v) for k, v in headers if k.lower() not in dropped] + [
        (key, token.encode()),
        (b"x-correlation-id", correlation),
    ]


class AsgiUpstream:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def forward(self, scope: Scope, receive: Receive, send: Send, identity_token: str) -> None:
        inner = dict(scope)
        inner["headers"] = with_identity(list(scope["headers"]), identity_token)
        inner["state"] = {}
        await self.app(inner, receive, send)


class HttpUpstream:
    """Streams the request body to the service and the response back, without buffering either."""

    def __init__(self, base_url: str, client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0))

    async def forward(self, scope: Scope, receive: Receive, send: Send, identity_token: str) -> None:
        headers = [
            (k, v)
            for k, v in with_identity(list(scope["headers"]), identity_token)
            if k.lower() not in HOP_BY_HOP
        ]
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"{self.base_url}{scope['path']}" + (f"?{query}" if query else "")
        request = self.client.build_request(scope["method"], url, headers=headers, content=_body(receive))
        response = await self.client.send(request, stream=True)
        try:
            out_headers = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": out_headers}
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
