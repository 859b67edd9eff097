"""The reporting service: what it declares to the composition root."""

from __future__ import annotations

from services.kernel.service import ServiceSpec, static_consumers
from services.reporting import models, web
from services.reporting.consumers import PROJECTIONS

SERVICE = ServiceSpec(
    name="reporting", metadata=models.metadata, routes=web.routes, consumers=static_consumers(PROJECTIONS)
)
