"""The reporting service: what it declares to the composition root."""

from __future__ import annotations

from services.kernel.service import ServiceSpec
from services.kernel.web_access import access_routes
from services.reporting import (  # noqa: F401 (tables)
    models,
    models_cases,
    models_ledger,
    models_limitation,
    repository,
    web,
    web_cases,
    web_portal,
)
from services.reporting.consumers import CASES, PROJECTIONS
from services.reporting.consumers_mandate import mandate
from services.reporting.consumers_relazione import relazioni
from services.reporting.models_aggio import rendiconti  # noqa: F401 (the aggio's tables)
from services.reporting.models_digests import digests  # noqa: F401 (the digests' tables)
from services.reporting.models_mandate import mandates  # noqa: F401 (the end of a mandate's tables)
from services.reporting.models_relazione import reports  # noqa: F401 (the relazione's tables)
from services.reporting.web_aggio import routes as aggio_routes
from services.reporting.web_digests import routes as digest_routes
from services.reporting.web_limitation_acts import routes as limitation_act_routes
from services.reporting.web_mandate import routes as mandate_routes
from services.reporting.web_relazione import routes as relazione_routes

SERVICE = ServiceSpec(
    name="reporting",
    metadata=models.metadata,
    routes=lambda: [
        *web.routes(),
        *web_cases.routes(),
        *web_portal.routes(),
        *limitation_act_routes(),
        *aggio_routes(),
        *digest_routes(),
        *relazione_routes(),
        *mandate_routes(),
        *access_routes("reporting", repository.access, repository.ACCESS_NAMES),
    ],
    consumers=lambda ctx: (PROJECTIONS, CASES, relazioni(ctx.storage), mandate(ctx)),
)
