"""«Registra e passa al prossimo»: the outcome recorded and the next debtor leased in one request."""

from __future__ import annotations

import html
import uuid

import pytest

from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import debtor, fact, seed
from tests.contact.test_web import as_user, base


@pytest.mark.asyncio
async def test_the_outcome_is_recorded_and_the_next_debtor_leased(
    platform: Platform, tenant: Identity
) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    await seed(
        platform, tenant.tenant_id, fact(first, 90_000, name="PRIMO"), fact(second, 10_000, name="SECONDO")
    )
    op = as_user(tenant, "op-next")
    async with service_client(platform, "contact", op) as client:
        taken = await client.post(f"{base(op)}/next")
        assert taken.headers["location"] == f"{base(op)}/debtors/{first}"
        done = await client.post(
            f"{base(op)}/debtors/{first}/outcomes",
            data={"outcome": "non_risponde", "poi": "prossimo"},
            headers={"HX-Request": "true"},
        )
        assert done.headers["HX-Redirect"] == f"{base(op)}/debtors/{second}?registrato=precedente&da={first}"
        card = await client.get(done.headers["HX-Redirect"])
        assert "Esito registrato per PRIMO. Ecco il prossimo." in html.unescape(card.text)
        assert "data-shown-once" in card.text  # the page then drops the words from its address
        assert "SECONDO" in card.text
        # The last one: nobody left to offer, the queue says so after recording.
        last = await client.post(
            f"{base(op)}/debtors/{second}/outcomes", data={"outcome": "rifiuto", "poi": "prossimo"}
        )
        assert last.headers["location"] == f"{base(op)}/?vuota=1&registrato=1"
        queue = await client.get(last.headers["location"])
        assert "Esito registrato. Nessun debitore da lavorare" in queue.text
    called, offered = (
        await debtor(platform, tenant.tenant_id, first),
        await debtor(platform, tenant.tenant_id, second),
    )
    assert called is not None and offered is not None
    assert (called.last_outcome, called.assigned_to, called.attempts) == ("non_risponde", None, 1)
    assert (offered.last_outcome, offered.assigned_to) == ("rifiuto", None)


@pytest.mark.asyncio
async def test_a_refused_outcome_leases_nobody(platform: Platform, tenant: Identity) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(first, 90_000), fact(second, 10_000))
    op = as_user(tenant, "op-refused")
    async with service_client(platform, "contact", op) as client:
        await client.post(f"{base(op)}/next")
        refused = await client.post(
            f"{base(op)}/debtors/{first}/outcomes", data={"outcome": "nessuno", "poi": "prossimo"}
        )
    assert refused.status_code == 400
    untouched = await debtor(platform, tenant.tenant_id, second)
    assert untouched is not None and untouched.assigned_to is None
