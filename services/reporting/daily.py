"""The reporting service's daily run (`services.kernel.daily`): the previous month's rendiconto on
the first working day, then the digest whose period ended, for each Comune in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from services.kernel import daily
from services.kernel.web import ServiceContext
from services.reporting import handlers_aggio, handlers_digests

STEPS: list[daily.Step] = [handlers_aggio.monthly_rendiconto, handlers_digests.send_due_digest]


async def run_daily(
    ctx: ServiceContext, today: date, tenant_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, object]]:
    """The daily run for these Comunes; a Comune that failed is logged and left out of the answer."""
    return await daily.run_daily(STEPS, ctx, today, tenant_ids)
