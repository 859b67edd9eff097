"""The contact service: what it declares to the composition root."""

from __future__ import annotations

from services.contact import models, repository, web
from services.contact.consumers import queue_builder
from services.kernel.messaging import Consumer
from services.kernel.service import ServiceSpec
from services.kernel.web import ServiceContext
from services.kernel.web_access import access_routes
from services.mandate import Erasure, mandate_consumer

# At the end of a mandate the Comune's calling rules, scripts and labels go too (nothing personal,
# but nothing the firm needs once the mandate ended), with every call and the evidence files.
ERASURE = Erasure(service="contact", metadata=models.metadata, prefixes=("contact",))


def consumers(ctx: ServiceContext) -> tuple[Consumer, ...]:
    return (queue_builder, mandate_consumer(ctx.db, ctx.storage, ERASURE))


SERVICE = ServiceSpec(
    name="contact",
    metadata=models.metadata,
    routes=lambda: [*web.routes(), *access_routes("contact", repository.access, repository.ACCESS_NAMES)],
    consumers=consumers,
)
