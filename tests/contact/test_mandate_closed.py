"""After the end of a Comune's mandate (`services.mandate`) the operator's home and queue say so and
offer no work; the server refuses any change anyway (`kernel.web`)."""

from __future__ import annotations

import uuid

import pytest

from services import repository_mandate
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import seed
from tests.contact.test_conduct_web import HX, MONDAY
from tests.contact.test_web import as_user, base
from tests.support import contact_clock, position_fact


@pytest.mark.asyncio
async def test_after_the_mandate_ends_the_queue_and_the_home_say_so_and_offer_no_work(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, position_fact(50_000, debtor_id=d, credit=("TARI", 2024, "M")))
    operator = as_user(tenant, "op-closed")
    async with service_client(platform, "contact", operator) as client:
        open_queue = (await client.get(f"{base(operator)}/")).text
    assert "Prossimo debitore</button>" in open_queue and 'data-testid="mandate-closed"' not in open_queue
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        await repository_mandate.record_closure(uow, tenant.tenant_id)
        await uow.commit()
    with contact_clock(platform, MONDAY):
        async with service_client(platform, "contact", operator) as client:
            queue = (await client.get(f"{base(operator)}/")).text
            home = (await client.get(f"{base(operator)}/summary", headers=HX)).text
            card = (await client.get(f"{base(operator)}/debtors/{d}")).text
    assert 'data-testid="mandate-closed"' in queue and "Prossimo debitore</button>" not in queue
    assert "Mandato di riscossione chiuso dal" in home and "Apri la coda" not in home
    # No count of whom to call above the line that says nobody is called (it said «1 da chiamare»).
    assert 'data-testid="to-call"' not in home and "/contact/lista" not in home
    assert "con lo stato in cui erano alla chiusura del mandato" in queue
    # The card says it too, and offers nothing to record or send (each was refused after submitting).
    assert 'data-testid="mandate-closed"' in card and "la scheda si può solo consultare" in card
    for offered in (
        'id="outcome-form"',
        'data-testid="pay-now"',
        "Segna come errato",
        'data-testid="add-contact"',
    ):
        assert offered not in card, offered
