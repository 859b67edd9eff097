"""The payments service: what it declares to the composition root."""

from __future__ import annotations

from services.kernel.service import ServiceSpec, static_consumers
from services.payments import (
    models,
    models_reconciliation,
    web,
    web_delivery,
    web_gpd,
    web_lapse,
    web_public,
    web_rules,
    web_settings,
)
from services.payments.consumers import balances, emails

# The reconciliation and delivery tables join the same metadata.
_TABLES = (models_reconciliation.receipts,)

SERVICE = ServiceSpec(
    name="payments",
    metadata=models.metadata,
    routes=lambda: [
        *web.routes(),
        *web_gpd.routes(),
        *web_settings.routes(),
        *web_rules.routes(),
        *web_lapse.routes(),
        *web_delivery.routes(),
        *web_public.routes(),
    ],
    consumers=static_consumers(balances, emails),
)
