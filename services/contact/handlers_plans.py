"""Use cases: the payments service's plan events on the debtor card (created, lapsed, spread again
after an office's decision, cancelled with it) and in the debtor's history."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from services.contact import repository, repository_outcomes
from services.kernel.db import UnitOfWork

log = logging.getLogger(__name__)


async def plan_reamounted(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    plan: tuple[uuid.UUID, uuid.UUID],
    cancelled: bool,
    key: str,
    entry: dict[str, Any],
) -> None:
    """A plan spread again (the history says so, once per `key`) or cancelled (its positions no
    longer show it)."""
    plan_id, debtor_id = plan
    if cancelled:
        await repository_outcomes.mark_plan_status(uow, tenant_id, plan_id, "cancelled")
    if not await repository.record_message(uow, tenant_id, uuid.uuid5(plan_id, key), debtor_id, entry):
        log.warning("plan %s of debtor %s not in the history: debtor unknown here", plan_id, debtor_id)


async def register_plan(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    plan: tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]],
    status: str,
    entry: dict[str, Any],
) -> None:
    """A payments plan created or lapsed: its positions show it on the card, and the debtor's
    history gets the event (once: its id is the plan's and the state's)."""
    plan_id, debtor_id, position_ids = plan
    await repository_outcomes.mark_plan(uow, tenant_id, plan_id, position_ids, status)
    entry_id = uuid.uuid5(plan_id, status)
    if not await repository.record_message(uow, tenant_id, entry_id, debtor_id, entry):
        log.warning("plan %s of debtor %s not in the history: debtor unknown here", plan_id, debtor_id)
