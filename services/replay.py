"""`riscossa replay reporting` (composition root): rebuild the reporting projections of every Comune,
or of the Comuni named, from the events the reporting service logged (`handlers_replay`)."""

from __future__ import annotations

import uuid

from services.jobs import tenant_ids
from services.platform import Platform
from services.reporting import handlers_cases, handlers_replay
from services.reporting.consumers import PROJECTION_HANDLERS, PROJECTION_NAME

REPLAYABLE = ("reporting",)


async def replay_reporting(platform: Platform, only: list[uuid.UUID] | None = None) -> dict[uuid.UUID, int]:
    """The events replayed, per Comune."""
    db = platform.databases["reporting"]
    done: dict[uuid.UUID, int] = {}
    for tenant_id in only or await tenant_ids(platform):
        done[tenant_id] = await handlers_replay.replay_tenant(
            db, tenant_id, PROJECTION_NAME, PROJECTION_HANDLERS, decisions=handlers_cases.reapply_decisions
        )
    return done
