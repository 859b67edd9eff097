"""The ingest service: what it declares to the composition root."""

from __future__ import annotations

from services.ingest import models, repository, web
from services.ingest.consumers import calls, processor
from services.kernel.messaging import Consumer
from services.kernel.service import ServiceSpec
from services.kernel.web import ServiceContext
from services.kernel.web_access import access_routes
from services.mandate import Erasure, mandate_consumer

# At the end of a mandate every table of the Comune goes, and its credit files.
ERASURE = Erasure(service="ingest", metadata=models.metadata, prefixes=("ingest",))


def consumers(ctx: ServiceContext) -> tuple[Consumer, ...]:
    return (processor(ctx.storage), calls, mandate_consumer(ctx.db, ctx.storage, ERASURE))


SERVICE = ServiceSpec(
    name="ingest",
    metadata=models.metadata,
    routes=lambda: [*web.routes(), *access_routes("ingest", repository.access, repository.ACCESS_NAMES)],
    consumers=consumers,
)
