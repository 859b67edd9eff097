"""The payments service: Starlette app factory and service declaration."""

from __future__ import annotations

from starlette.applications import Starlette

from services.kernel.service import ServiceSpec, static_consumers
from services.kernel.web import ServiceContext, exception_handlers, health_routes, service_middleware
from services.payments import models, web
from services.payments.consumers import balances


def create_app(ctx: ServiceContext) -> Starlette:
    app = Starlette(
        routes=[*health_routes(), *web.routes()],
        middleware=service_middleware(ctx.signer),
        exception_handlers=exception_handlers(),
    )
    app.state.ctx = ctx
    return app


SERVICE = ServiceSpec(
    name="payments", metadata=models.metadata, create_app=create_app, consumers=static_consumers(balances)
)
