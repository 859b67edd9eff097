"""Metrics of every process: HTTP by route template, consumers, settling, relays, queue depth, and
the `/metrics` server itself (prometheus-client), against the real servers."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest
from prometheus_client import REGISTRY

from gateway.domain import forward_template
from services.contracts import OutcomeRecorded
from services.kernel.bus import IncomingMessage, OutgoingMessage, QueueSpec
from services.kernel.bus_rabbit import RabbitBus
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.kernel.messaging import Consumer, inbox_handler, measure_queues
from services.kernel.metrics import event_name, serve_metrics
from services.platform import Platform
from tests.conftest import eventually, service_client
from tests.support import ROOT, free_port


def _an_outcome() -> OutcomeRecorded:
    return OutcomeRecorded(
        contact_id=str(uuid.uuid4()),
        debtor_id=str(uuid.uuid4()),
        outcome="non_risponde",
        operator="op-metrics",
        recorded_at="2026-11-30T10:00:00+01:00",
    )


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.asyncio
async def test_requests_are_counted_by_route_template(platform: Platform, tenant: Identity) -> None:
    route = "/t/{tenant}/contact/healthz"
    before = sample("riscossa_http_requests_total", app="contact", route=route, method="GET", status="200")
    unknown = sample(
        "riscossa_http_requests_total", app="contact", route="(none)", method="GET", status="404"
    )
    async with service_client(platform, "contact", tenant) as client:
        assert (await client.get(f"/t/{tenant.tenant_slug}/contact/healthz")).status_code == 200
        assert (
            await client.get(f"/t/{tenant.tenant_slug}/contact/nessuna-pagina-{uuid.uuid4()}")
        ).status_code == 404
    labels = {"app": "contact", "route": route, "method": "GET", "status": "200"}
    assert sample("riscossa_http_requests_total", **labels) == before + 1
    # A path no route names is counted under one label, never under the raw path.
    assert (
        sample("riscossa_http_requests_total", app="contact", route="(none)", method="GET", status="404")
        == unknown + 1
    )
    timed = {"app": "contact", "route": route, "method": "GET"}
    assert sample("riscossa_http_request_seconds_count", **timed) >= 1


def test_the_gateway_labels_what_it_forwards_by_service() -> None:
    assert forward_template("/t/comune-a/contact/debtors/123") == "/t/{tenant}/contact/…"
    assert forward_template("/t/comune-a/nessuno/x") == "/t/{tenant}/…"
    assert forward_template("/api/v1/payments/positions/9") == "/api/v1/payments/…"
    assert forward_template("/avvisi/abc") == "(public link: payments)"
    assert forward_template("/login") is None
    assert event_name("contact.outcome_recorded.v1") == "outcome_recorded"


@pytest.mark.asyncio
async def test_consumers_are_timed_and_failures_settled(platform: Platform) -> None:
    key = f"kernel_test.metrics_{uuid.uuid4().hex[:6]}.v1"
    name = f"metrics-{uuid.uuid4().hex[:6]}"

    async def refuse(uow: object, envelope: Envelope) -> None:
        raise RuntimeError("rifiutato")

    handler = inbox_handler(platform.databases["reporting"], Consumer(name, {key: refuse}))
    envelope = Envelope(type=key.rsplit(".", 1)[0], version=1, tenant_id=uuid.uuid4(), payload={})
    with pytest.raises(RuntimeError):
        await handler(IncomingMessage(key, envelope.encode(), str(envelope.message_id)))
    assert sample("riscossa_consumer_seconds_count", consumer=name, outcome="failed") == 1

    queue = QueueSpec(f"{platform.settings.queue_prefix}.{name}", (key,))
    sub = await platform.bus.consume(queue, handler)
    await platform.bus.publish_many([OutgoingMessage(key, envelope.encode(), str(envelope.message_id))])

    async def retried() -> bool:
        return sample("riscossa_messages_settled_total", queue=queue.name, verdict="retry") >= 1

    await eventually(retried, timeout=30)
    await sub.stop()
    assert isinstance(platform.bus, RabbitBus)
    await platform.bus.delete([queue.name])


@pytest.mark.asyncio
async def test_queue_depth_and_the_outbox_backlog_are_measured(platform: Platform) -> None:
    key = f"kernel_test.depth_{uuid.uuid4().hex[:6]}.v1"
    queue = QueueSpec(f"{platform.settings.queue_prefix}.depth-{uuid.uuid4().hex[:6]}", (key,))
    await platform.bus.declare([queue])
    envelope = Envelope(type=key.rsplit(".", 1)[0], version=1, tenant_id=uuid.uuid4(), payload={})
    await platform.bus.publish_many(
        [OutgoingMessage(key, envelope.encode(), f"{envelope.message_id}-{n}") for n in range(3)]
    )

    async def three_waiting() -> bool:
        await measure_queues(platform.bus, [queue.name])
        return sample("riscossa_queue_depth", queue=queue.name) == 3

    await eventually(three_waiting, timeout=30)
    assert sample("riscossa_queue_depth", queue=f"{queue.name}.dlq") == 0
    assert isinstance(platform.bus, RabbitBus)
    await platform.bus.delete([queue.name])

    published = sample("riscossa_events_published_total", service="contact", event="outcome_recorded")
    tenant_id = uuid.uuid4()
    async with platform.databases["contact"].unit_of_work(tenant_id) as uow:
        await uow.publish([_an_outcome().envelope(tenant_id)])
        await uow.commit()
    relay = platform.relay("contact")
    try:
        await relay.measure_backlog()
        assert REGISTRY.get_sample_value("riscossa_outbox_backlog", {"service": "contact"}) is not None
        assert sample("riscossa_outbox_oldest_seconds", service="contact") >= 0
        await relay.drain()  # this relay or the tests' own one publishes it: both count it here
    finally:
        await relay.engine.dispose()

    async def counted() -> bool:
        return (
            sample("riscossa_events_published_total", service="contact", event="outcome_recorded") > published
        )

    await eventually(counted, timeout=30)


@pytest.mark.asyncio
async def test_every_process_serves_its_metrics() -> None:
    port = free_port()
    serve_metrics(port)
    async with httpx.AsyncClient() as client:
        page = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert page.status_code == 200
    for name in ("riscossa_http_requests_total", "riscossa_outbox_backlog", "riscossa_ingest_rows_total"):
        assert f"# TYPE {name.removesuffix('_total')}" in page.text or name in page.text


def test_the_dashboard_reads_only_metrics_that_exist() -> None:
    dashboard = json.loads((ROOT / "infra" / "grafana" / "riscossa.json").read_text())
    known = {m.name for m in REGISTRY.collect()}
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"riscossa_[a-z_]+", e)}
    assert len(dashboard["panels"]) >= 10 and used
    for metric in used:
        base = re.sub(r"_(total|bucket|count|sum)$", "", metric)
        assert base in known, f"the dashboard reads {metric}, which no process exports"
