"""Builders shared by the contact tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from services.contact import repository
from services.contact.consumers import queue_builder
from services.contact.repository_conduct import CallLimits
from services.contracts import (
    ContactFact,
    ContactsRegistered,
    DebtorContactUpdated,
    PositionFact,
)
from services.kernel.bus import IncomingMessage
from services.kernel.envelope import Envelope
from services.kernel.messaging import inbox_handler
from services.platform import Platform
from tests.support import position_fact, registered

__all__ = ["registered"]


def uncapped(now: datetime | None = None) -> CallLimits:
    """The queue's conduct filter at `now` (the wall clock) with caps that never bind (tests of
    the lease alone)."""
    start = datetime(2000, 1, 1, tzinfo=UTC)
    return CallLimits(now or datetime.now(UTC), start, start, daily_cap=10**6, weekly_cap=10**6)


def fact(
    debtor_id: str, amount_cents: int, name: str = "ROSSI MARIO", position_id: str | None = None
) -> PositionFact:
    return position_fact(amount_cents, debtor_id=debtor_id, name=name, position_id=position_id)


async def seed(platform: Platform, tenant_id: uuid.UUID, *facts: PositionFact) -> None:
    async with platform.databases["contact"].unit_of_work(tenant_id) as uow:
        await repository.register_positions(uow, tenant_id, facts)
        await uow.commit()


async def debtor(platform: Platform, tenant_id: uuid.UUID, debtor_id: str) -> sa.Row | None:  # type: ignore[type-arg]
    async with platform.databases["contact"].unit_of_work(tenant_id) as uow:
        return await repository.get_debtor(uow, tenant_id, uuid.UUID(debtor_id))


async def scalar(platform: Platform, tenant_id: uuid.UUID, sql: str, **params: object) -> object:
    async with platform.databases["contact"].unit_of_work(tenant_id) as uow:
        return (await uow.execute(sa.text(sql), params)).scalar_one()


def contact_fact(
    debtor_id: str, value: str = "+393471234567", kind: str = "phone", **changes: object
) -> ContactFact:
    values: dict[str, object] = {
        "debtor_id": debtor_id,
        "contact_id": str(uuid.uuid4()),
        "kind": kind,
        "value": value,
        "source": "comune",
        "found_on": "2026-11-20",
        "confidence": 60,
        "active": True,
    }
    return ContactFact(**{**values, **changes})  # type: ignore[arg-type]


def contacts_registered(tenant_id: uuid.UUID, *facts: ContactFact) -> Envelope:
    event = ContactsRegistered(batch_id=str(uuid.uuid4()), chunk=1, chunks=1, contacts=facts)
    return event.envelope(tenant_id)


def contact_updated(tenant_id: uuid.UUID, fact: ContactFact, active: bool) -> Envelope:
    """What ingest publishes when an operator adds a datum or marks it wrong."""
    return DebtorContactUpdated(
        debtor_id=fact.debtor_id,
        fiscal_code="RSSMRA80A01H501U",
        contact_id=fact.contact_id,
        kind=fact.kind,
        value=fact.value,
        source=fact.source,
        active=active,
        grade="none",
        active_phones=(),
        found_on=fact.found_on,
        confidence=fact.confidence,
    ).envelope(tenant_id)


async def card_contacts(platform: Platform, tenant_id: uuid.UUID, debtor_id: str) -> list[tuple[str, str]]:
    async with platform.databases["contact"].unit_of_work(tenant_id) as uow:
        rows = await repository.active_contacts(uow, tenant_id, uuid.UUID(debtor_id))
    return [(r.kind, r.value) for r in rows]


async def deliver(platform: Platform, env: Envelope) -> None:
    handle = inbox_handler(platform.databases["contact"], queue_builder)
    await handle(IncomingMessage(env.routing_key, env.encode(), str(env.message_id)))
