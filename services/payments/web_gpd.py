"""API of the hand-over to pagoPA GPD: the export for the Comune's intermediary and the publication
through the intermediary's endpoint."""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.kernel.web import AfterCommit, ctx, endpoint, json_object
from services.payments import handlers_gpd
from services.payments.domain_simulation import plan_id_of, position_ids_of


@endpoint("api")
async def export_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    export = await handlers_gpd.export_gpd(uow, ident)
    return JSONResponse(export, headers={"Cache-Control": "private, no-store"})


@endpoint("api")
async def publish_api(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    body = await json_object(request)
    position_ids, plan_id = position_ids_of(body), plan_id_of(body)
    publication = await handlers_gpd.prepare_publication(uow, ident, position_ids, plan_id)

    async def respond() -> Response:  # pagoPA is called after the commit: no connection held meanwhile
        published: list[dict[str, str]] = []
        try:
            await handlers_gpd.publish(publication, published)
        finally:  # what pagoPA holds now is recorded, even when a later position failed
            if published:
                record = functools.partial(
                    handlers_gpd.record_published, ident=ident, publication=publication
                )
                await ctx(request).db.run(ident.tenant_id, lambda uow: record(uow, done=published))
        return JSONResponse({"published": published}, status_code=201)

    return AfterCommit(respond)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/v1/payments/gpd/export", export_api, methods=["GET"]),
        Route("/api/v1/payments/gpd/publish", publish_api, methods=["POST"]),
    ]
