"""Traces (OpenTelemetry): off by default; on, a page forwarded by the gateway over HTTP is one
trace across gateway and service, and every span carries the correlation id, which the event
envelope carries on to the consumers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import uvicorn
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.proxy import HttpUpstream, with_identity
from services.contracts import OutcomeRecorded
from services.kernel import tracing
from services.kernel.bus import IncomingMessage
from services.kernel.messaging import Consumer, inbox_handler
from services.platform import Platform
from tests.gateway.helpers import client, make_gateway, make_person, make_tenant, sign_in
from tests.support import free_port


@pytest_asyncio.fixture
async def spans() -> AsyncIterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure("test", exporter=exporter)
    yield exporter
    tracing.shutdown()


@pytest_asyncio.fixture
async def contact_over_http(platform: Platform) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(platform.app("contact"), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


def test_off_by_default_nothing_is_traced_or_propagated() -> None:
    assert not tracing.enabled()
    assert tracing.outgoing() == []
    with tracing.span("nothing") as span:
        assert not span.is_recording()
    assert not any(k == b"traceparent" for k, _ in with_identity([(b"traceparent", b"00-x")], "token"))


@pytest.mark.asyncio
async def test_a_forwarded_page_is_one_trace_with_its_correlation_id(
    platform: Platform, spans: InMemorySpanExporter, contact_over_http: str
) -> None:
    tenant = await make_tenant(platform)
    person = await make_person(platform, {tenant.id: "operator"})
    upstream = HttpUpstream(contact_over_http)
    gw = make_gateway(platform, {"contact": upstream})
    async with client(gw) as c:
        await sign_in(gw, c, person)
        answer = await c.get(f"/t/{tenant.slug}/contact/healthz")
    await upstream.close()
    assert answer.status_code == 200
    correlation = answer.headers["x-correlation-id"]
    by_name = {s.name: s for s in spans.get_finished_spans()}
    outer, inner = by_name["GET /t/{tenant}/contact/…"], by_name["GET /t/{tenant}/contact/healthz"]
    assert inner.context.trace_id == outer.context.trace_id  # continued from the traceparent header
    assert inner.parent is not None and inner.parent.span_id == outer.context.span_id
    assert outer.attributes[tracing.CORRELATION] == inner.attributes[tracing.CORRELATION] == correlation
    assert inner.attributes["http.response.status_code"] == 200
    assert inner.resource.attributes["service.name"] == "riscossa-test"


@pytest.mark.asyncio
async def test_a_consumer_span_carries_the_events_correlation_id(
    platform: Platform, spans: InMemorySpanExporter
) -> None:
    event = OutcomeRecorded(
        str(uuid.uuid4()), str(uuid.uuid4()), "non_risponde", "op", "2026-11-30T10:00:00+01:00"
    )
    envelope = event.envelope(uuid.uuid4(), "corr-della-richiesta")
    seen: list[str] = []

    async def handler(uow: object, got: object) -> None:
        seen.append("handled")

    consumer = Consumer(f"trace-{uuid.uuid4().hex[:6]}", {envelope.routing_key: handler})  # type: ignore[dict-item]
    handle = inbox_handler(platform.databases["reporting"], consumer)
    await handle(IncomingMessage(envelope.routing_key, envelope.encode(), str(envelope.message_id)))
    [span] = [s for s in spans.get_finished_spans() if s.name == f"consume {envelope.routing_key}"]
    assert seen == ["handled"]
    assert span.attributes[tracing.CORRELATION] == "corr-della-richiesta"
    assert span.attributes["consumer"] == consumer.name
