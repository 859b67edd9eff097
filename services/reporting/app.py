"""The reporting service: what it declares to the composition root."""

from __future__ import annotations

from services.kernel.service import ServiceSpec, static_consumers
from services.reporting import models, models_cases, models_ledger, web, web_cases  # noqa: F401 (tables)
from services.reporting.consumers import CASES, PROJECTIONS

SERVICE = ServiceSpec(
    name="reporting",
    metadata=models.metadata,
    routes=lambda: [*web.routes(), *web_cases.routes()],
    consumers=static_consumers(PROJECTIONS, CASES),
)
