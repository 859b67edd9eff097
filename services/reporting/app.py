"""The reporting service: what it declares to the composition root."""

from __future__ import annotations

from services.kernel.service import ServiceSpec, static_consumers
from services.reporting import models, models_cases, models_ledger, web, web_cases, web_portal  # noqa: F401 (tables)
from services.reporting.consumers import CASES, PROJECTIONS
from services.reporting.models_aggio import rendiconti  # noqa: F401 (the aggio's tables)
from services.reporting.models_digests import digests  # noqa: F401 (the digests' tables)
from services.reporting.web_aggio import routes as aggio_routes
from services.reporting.web_digests import routes as digest_routes

SERVICE = ServiceSpec(
    name="reporting",
    metadata=models.metadata,
    routes=lambda: [
        *web.routes(),
        *web_cases.routes(),
        *web_portal.routes(),
        *aggio_routes(),
        *digest_routes(),
    ],
    consumers=static_consumers(PROJECTIONS, CASES),
)
