"""Upstreams the gateway forwards to: an ASGI app in the same process, or a service over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol
from urllib.parse import quote

import aiohttp
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from yarl import URL

from services.kernel import tracing
from services.kernel.identity import IDENTITY_HEADER
from services.kernel.logs import correlation_var

HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade", b"host"}


class Upstream(Protocol):
    async def forward(self, scope: Scope, receive: Receive, send: Send, identity_token: str) -> None: ...

    async def close(self) -> None: ...


def with_identity(headers: list[tuple[bytes, bytes]], token: str) -> list[tuple[bytes, bytes]]:
    """Drop any identity a client tried to send and attach the gateway's own, with the gateway's
    correlation id so one request has one id in every log."""
    key = IDENTITY_HEADER.encode()
    dropped = {key, b"x-correlation-id"}
    correlation = (correlation_var.get() or "").encode()
    dropped |= {b"traceparent", b"tracestate"}  # the trace is the gateway's to continue
    return [(k, v) for k, v in headers if k.lower() not in dropped] + [
        (key, token.encode()),
        (b"x-correlation-id", correlation),
        *tracing.outgoing(),
    ]


class AsgiUpstream:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def forward(self, scope: Scope, receive: Receive, send: Send, identity_token: str) -> None:
        inner = dict(scope)
        inner["headers"] = with_identity(list(scope["headers"]), identity_token)
        inner["state"] = {}
        await self.app(inner, receive, send)

    async def close(self) -> None:
        return None


class UpstreamUnreachable(Exception):
    """The service did not answer (refused, reset, timed out): the gateway answers 502."""


# Bodies the methods without one normally carry: none, unless the client sent a length or chunks.
BODYLESS = {"GET", "HEAD", "OPTIONS", "DELETE"}


class HttpUpstream:
    """Streams the request body to the service and the response back, without buffering either.

    aiohttp rather than httpx here: forwarding is on every request's path, and aiohttp's client
    costs about an eighth of httpx's CPU per request (`bench/operator.py`). No cookie jar (one
    person's cookies must never reach another's request), no decompression (bytes pass through)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The connection pool, opened on the running event loop at the first request."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=200, enable_cleanup_closed=True),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None, connect=5, sock_read=60),
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def forward(self, scope: Scope, receive: Receive, send: Send, identity_token: str) -> None:
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in with_identity(list(scope["headers"]), identity_token)
            if k.lower() not in HOP_BY_HOP
        ]
        raw_path = scope.get("raw_path") or quote(scope["path"]).encode()
        query = scope.get("query_string", b"")
        target = URL(
            self.base_url + raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else ""),
            encoded=True,
        )
        names = {k.lower() for k, _ in headers}
        streamed = scope["method"] not in BODYLESS or names & {"content-length", "transfer-encoding"}
        try:
            async with self.session().request(
                scope["method"],
                target,
                headers=headers,
                data=_body(receive) if streamed else None,
                allow_redirects=False,
            ) as response:
                out_headers = [(k, v) for k, v in response.raw_headers if k.lower() not in HOP_BY_HOP]
                await send({"type": "http.response.start", "status": response.status, "headers": out_headers})
                async for chunk in response.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamUnreachable(str(target.with_query(None))) from exc


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
