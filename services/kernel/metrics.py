"""Prometheus metrics of every process (prometheus-client), served on `RISCOSSA_METRICS_PORT`.

Each process (`serve`, `worker`, `relay`, `dev`) starts its own small HTTP server for `/metrics` on
that port when it is set, apart from the application's port, so the figures are never public.

- HTTP: requests and latency by route template (the gateway labels what it forwards by service);
- the outbox: rows waiting and the age of the oldest (set by each relay);
- consumers: processing time by outcome, retries and dead-lettered messages, queue depth (set by
  each worker for its queues, their retry and dead-letter queues);
- ingest rows, and the business events as the relays publish them (batches, outcomes, notices,
  payments...).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, start_http_server
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kernel import tracing

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "riscossa_http_requests", "HTTP requests answered", ["app", "route", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "riscossa_http_request_seconds",
    "Time to answer an HTTP request",
    ["app", "route", "method"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_SECONDS = Histogram(
    "riscossa_consumer_seconds",
    "Time to handle one message",
    ["consumer", "outcome"],
    buckets=LATENCY_BUCKETS,
)
SETTLED = Counter("riscossa_messages_settled", "Messages settled after handling", ["queue", "verdict"])
OUTBOX_BACKLOG = Gauge("riscossa_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST = Gauge(
    "riscossa_outbox_oldest_seconds", "Age of the oldest outbox row not yet published", ["service"]
)
QUEUE_DEPTH = Gauge("riscossa_queue_depth", "Messages waiting in a broker queue", ["queue"])
EVENTS_PUBLISHED = Counter(
    "riscossa_events_published", "Events published by the outbox relays", ["service", "event"]
)
INGEST_ROWS = Counter("riscossa_ingest_rows", "Credit file rows judged by ingest", ["outcome"])

# The label of a request no route template names (a 404): never the raw path (unbounded labels).
UNMATCHED = "(none)"


def serve_metrics(port: int) -> None:
    """Start the process's `/metrics` server on `port` (0: none)."""
    if port:
        start_http_server(port, addr="0.0.0.0")  # noqa: S104 (a pod's own port, scraped in-cluster)
        log.info("metrics served", extra={"fields": {"port": port}})


def event_name(routing_key: str) -> str:
    """`contact.outcome_recorded.v1` -> `outcome_recorded`: the label of a published event."""
    parts = routing_key.split(".")
    return parts[1] if len(parts) >= 2 else routing_key


class HttpMetrics:
    """ASGI middleware: each request counted and timed under its route's template, which
    `template_of(scope)` finds once the application has routed it."""

    def __init__(self, app: ASGIApp, name: str, template_of: Callable[[Scope], str]) -> None:
        self.app = app
        self.name = name
        self.template_of = template_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status, correlation = time.perf_counter(), 500, ""

        async def observed(message: Message) -> None:
            nonlocal status, correlation
            if message["type"] == "http.response.start":
                status = int(message["status"])
                found = dict(message.get("headers", [])).get(b"x-correlation-id", b"")
                correlation = found.decode("latin-1")
            await send(message)

        method = scope["method"]
        with tracing.span(method, tracing.incoming(scope.get("headers", []))) as span:
            try:
                await self.app(scope, receive, observed)
            finally:
                route = self.template_of(scope)
                HTTP_REQUESTS.labels(self.name, route, method, str(status)).inc()
                HTTP_SECONDS.labels(self.name, route, method).observe(time.perf_counter() - started)
                if tracing.enabled():
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status)
                    span.set_attribute(tracing.CORRELATION, correlation)


def route_templates(routes: Iterable[Any]) -> Callable[[Scope], str]:
    """The template of the route that answered (Starlette leaves its endpoint in the scope)."""
    by_endpoint = {getattr(r, "endpoint", None): getattr(r, "path", UNMATCHED) for r in routes}

    def template_of(scope: Scope) -> str:
        return str(by_endpoint.get(scope.get("endpoint"), UNMATCHED))

    return template_of


async def every(seconds: float, update: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    """Run `update` now and every `seconds` until `stop`; a failed update is logged, not fatal."""
    while not stop.is_set():
        try:
            await update()
        except Exception:
            log.warning("metrics update failed", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
