"""OpenTelemetry traces: off by default, on when `RISCOSSA_TRACES_ENDPOINT` names an OTLP/HTTP
collector (e.g. `http://otel-collector:4318/v1/traces`).

Spans: each HTTP request a process answers (named by its route template, like the metrics), and
each message a consumer handles. The gateway passes the trace to the service it forwards to (W3C
`traceparent`), so a page is one trace across both. Every span carries the request's or the event's
correlation id (`riscossa.correlation_id`), which the event envelope carries from the request that
published it to every consumer: searching a correlation id finds the request and all it caused.
Off, every call here is a no-op.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

CORRELATION = "riscossa.correlation_id"
_PROPAGATOR = TraceContextTextMapPropagator()


class _State:
    tracer: trace.Tracer = trace.NoOpTracer()
    provider: TracerProvider | None = None
    on = False


def configure(service: str, endpoint: str = "", exporter: SpanExporter | None = None) -> None:
    """Trace this process as `service`: to the OTLP/HTTP `endpoint`, or to `exporter` (tests);
    neither: off."""
    if not endpoint and exporter is None:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"riscossa-{service}"}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if _State.provider is not None:
        _State.provider.shutdown()
    _State.provider, _State.tracer, _State.on = provider, provider.get_tracer("riscossa"), True


def enabled() -> bool:
    return _State.on


def shutdown() -> None:
    """Send what is buffered and stop (at the end of a process)."""
    if _State.provider is not None:
        _State.provider.shutdown()
    _State.provider, _State.tracer, _State.on = None, trace.NoOpTracer(), False


@contextlib.contextmanager
def span(
    name: str, parent: Context | None = None, attributes: Mapping[str, Any] | None = None
) -> Iterator[trace.Span]:
    """A span of this process (the current one's child, or `parent`'s)."""
    with _State.tracer.start_as_current_span(name, context=parent, kind=trace.SpanKind.SERVER) as current:
        for key, value in (attributes or {}).items():
            if value is not None:
                current.set_attribute(key, value)
        yield current


def incoming(headers: list[tuple[bytes, bytes]]) -> Context | None:
    """The trace a request's `traceparent` header continues (the gateway's), if any."""
    if not _State.on:
        return None
    carrier = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
    return _PROPAGATOR.extract(carrier) if "traceparent" in carrier else None


def outgoing() -> list[tuple[bytes, bytes]]:
    """The current trace as headers for a forwarded request (none when off)."""
    if not _State.on:
        return []
    carrier: MutableMapping[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in carrier.items()]
