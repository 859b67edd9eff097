"""The ingest service: Starlette app factory and service declaration."""

from __future__ import annotations

from starlette.applications import Starlette

from services.ingest import models, web
from services.ingest.consumers import processor
from services.kernel.messaging import Consumer
from services.kernel.service import ServiceSpec
from services.kernel.web import ServiceContext, exception_handlers, health_routes, service_middleware


def create_app(ctx: ServiceContext) -> Starlette:
    app = Starlette(
        routes=[*health_routes(), *web.routes()],
        middleware=service_middleware(ctx.signer),
        exception_handlers=exception_handlers(),
    )
    app.state.ctx = ctx
    return app


def consumers(ctx: ServiceContext) -> tuple[Consumer, ...]:
    return (processor(ctx.storage),)


SERVICE = ServiceSpec(
    name="ingest",
    metadata=models.metadata,
    create_app=create_app,
    consumers=consumers,
)
