"""The payments service: what it declares to the composition root."""

from __future__ import annotations

from services.kernel.messaging import Consumer
from services.kernel.service import ServiceSpec
from services.kernel.web import ServiceContext
from services.kernel.web_access import access_routes
from services.mandate import Erasure, mandate_consumer
from services.payments import (
    models,
    models_charges,
    models_reconciliation,
    models_refunds,
    repository,
    web,
    web_delivery,
    web_gpd,
    web_jobs,
    web_lapse,
    web_legal_rates,
    web_manual,
    web_plans,
    web_public,
    web_reconciliation,
    web_refunds,
    web_rules,
    web_settings,
)
from services.payments.consumers import balances, emails, gpd, jobs
from services.payments.handlers_handover import export_handover

# The reconciliation and delivery tables join the same metadata.
_TABLES = (models_reconciliation.receipts, models_refunds.refunds, models_charges.charge_payments)


# At the end of a mandate the Comune's pagoPA settings, plan rules and notice-number counter stay
# (no personal data; a notice number is never reused for the same creditor), the rest goes.
ERASURE = Erasure(
    service="payments",
    metadata=models.metadata,
    prefixes=("payments", "solleciti"),
    keep=frozenset({"creditors", "notice_numbers", "plan_rules"}),
)


def consumers(ctx: ServiceContext) -> tuple[Consumer, ...]:
    mandate = mandate_consumer(ctx.db, ctx.storage, ERASURE, export_handover)
    return (balances, emails, gpd, jobs(ctx.storage), mandate)


SERVICE = ServiceSpec(
    name="payments",
    metadata=models.metadata,
    routes=lambda: [
        *web.routes(),
        *web_gpd.routes(),
        *web_jobs.routes(),
        *web_manual.routes(),
        *web_plans.routes(),
        *web_settings.routes(),
        *web_rules.routes(),
        *web_legal_rates.routes(),
        *web_delivery.routes(),
        *web_public.routes(),
        *web_reconciliation.routes(),
        *web_lapse.routes(),
        *web_refunds.routes(),
        *access_routes("payments", repository.access, repository.ACCESS_NAMES),
    ],
    consumers=consumers,
)
