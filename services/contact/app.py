"""The contact service: what it declares to the composition root."""

from __future__ import annotations

from services.contact import models, web
from services.contact.consumers import queue_builder
from services.kernel.service import ServiceSpec, static_consumers

SERVICE = ServiceSpec(
    name="contact", metadata=models.metadata, routes=web.routes, consumers=static_consumers(queue_builder)
)
