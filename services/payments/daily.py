"""The payments service's daily run (`services.kernel.daily`): sollecito and lapse of plans, then
the installments' reminders, for each Comune in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from services.kernel import daily
from services.kernel.web import ServiceContext
from services.payments import handlers_lapse, handlers_reminders

STEPS: list[daily.Step] = [
    handlers_lapse.sollecito_and_lapse,
    handlers_reminders.remind_installments,
]


async def run_daily(
    ctx: ServiceContext, today: date, tenant_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, object]]:
    """The daily run for these Comunes; a Comune that failed is logged and left out of the answer."""
    return await daily.run_daily(STEPS, ctx, today, tenant_ids)
