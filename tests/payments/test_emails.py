"""Debtors' e-mail addresses kept from the ingest contact events."""

from __future__ import annotations

import uuid

import pytest

from services.kernel.bus import IncomingMessage
from services.kernel.envelope import Envelope
from services.kernel.identity import Identity
from services.kernel.messaging import inbox_handler
from services.payments.consumers import emails
from services.payments.repository_emails import active_email, active_phones
from services.platform import Platform
from tests.contact.helpers import contact_fact, contact_updated, contacts_registered


async def deliver(platform: Platform, env: Envelope) -> None:
    handle = inbox_handler(platform.databases["payments"], emails)
    await handle(IncomingMessage(env.routing_key, env.encode(), str(env.message_id)))


async def address(platform: Platform, tenant_id: uuid.UUID, debtor_id: str) -> str | None:
    async with platform.databases["payments"].unit_of_work(tenant_id) as uow:
        return await active_email(uow, tenant_id, uuid.UUID(debtor_id))


@pytest.mark.asyncio
async def test_registered_email_is_the_active_one_and_phones_are_kept_apart(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    debtor = str(uuid.uuid4())
    phone = contact_fact(debtor)
    mail = contact_fact(debtor, "mario.rossi@example.it", kind="email")
    await deliver(platform, contacts_registered(tenant.tenant_id, phone, mail))
    assert await address(platform, tenant.tenant_id, debtor) == "mario.rossi@example.it"
    assert await address(platform, other_tenant.tenant_id, debtor) is None
    assert await address(platform, tenant.tenant_id, str(uuid.uuid4())) is None
    async with platform.databases["payments"].unit_of_work(tenant.tenant_id) as uow:
        phones = await active_phones(uow, tenant.tenant_id, uuid.UUID(debtor))
    assert phones == [phone.value]  # where an SMS may go (`handlers_delivery.reachable_at`)


@pytest.mark.asyncio
async def test_pec_comes_first_and_a_wrong_address_is_not_used(platform: Platform, tenant: Identity) -> None:
    debtor = str(uuid.uuid4())
    mail = contact_fact(debtor, "mario.rossi@example.it", kind="email")
    pec = contact_fact(debtor, "mario.rossi@pec.example.it", kind="pec")
    await deliver(platform, contacts_registered(tenant.tenant_id, mail))
    await deliver(platform, contact_updated(tenant.tenant_id, pec, active=True))
    assert await address(platform, tenant.tenant_id, debtor) == "mario.rossi@pec.example.it"
    await deliver(platform, contact_updated(tenant.tenant_id, pec, active=False))
    assert await address(platform, tenant.tenant_id, debtor) == "mario.rossi@example.it"
    # A late registration of the same datum does not bring it back.
    await deliver(platform, contacts_registered(tenant.tenant_id, pec))
    assert await address(platform, tenant.tenant_id, debtor) == "mario.rossi@example.it"
