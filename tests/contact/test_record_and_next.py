"""«Registra e passa al prossimo»: the outcome recorded and the next debtor leased in one request."""

from __future__ import annotations

import asyncio
import html
import re
import uuid

import pytest

from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import debtor, fact, scalar, seed
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


@pytest.mark.asyncio
async def test_a_card_form_sent_twice_records_one_call(platform: Platform, tenant: Identity) -> None:
    first, second, third = (str(uuid.uuid4()) for _ in range(3))
    facts = (fact(first, 90_000), fact(second, 50_000), fact(third, 10_000))
    await seed(platform, tenant.tenant_id, *facts)
    op = as_user(tenant, "op-twice")
    calls = "SELECT count(*) FROM contact.contacts WHERE tenant_id = :t AND debtor_id = :d"
    async with service_client(platform, "contact", op) as client:
        await client.post(f"{base(op)}/next")
        card = (await client.get(f"{base(op)}/debtors/{first}")).text
        attempt = re.search(r'name="tentativo" value="([0-9a-f-]{36})"', card)
        assert attempt is not None and 'hx-sync="this:drop"' in card
        form = {"outcome": "occupato", "poi": "prossimo", "tentativo": attempt.group(1)}
        done = await client.post(f"{base(op)}/debtors/{first}/outcomes", data=form)
        # One after the other (a double click on a slow line): the second records nothing, says why.
        again = await client.post(f"{base(op)}/debtors/{first}/outcomes", data=form)
        assert done.status_code == 303 and again.status_code == 409
        assert "già stato registrato" in html.unescape(again.text)
        # Together: one waits for the debtor's lock, then the call's id refuses it.
        await client.post(f"{base(op)}/debtors/{second}/outcomes", data={"outcome": "occupato"})
        twice = {"outcome": "non_risponde", "tentativo": str(uuid.uuid4())}
        answers = await asyncio.gather(
            *(client.post(f"{base(op)}/debtors/{third}/outcomes", data=twice) for _ in range(2))
        )
        # A fresh card gives a fresh id: the next outcome on the same debtor is recorded.
        fresh = await client.get(f"{base(op)}/debtors/{first}")
        other = re.search(r'name="tentativo" value="([0-9a-f-]{36})"', fresh.text)
        assert other is not None and other.group(1) != attempt.group(1)
    assert sorted(a.status_code for a in answers) == [303, 409], [a.text for a in answers]
    for debtor_id, expected in ((first, 1), (second, 1), (third, 1)):
        assert (
            await scalar(platform, tenant.tenant_id, calls, t=tenant.tenant_id, d=uuid.UUID(debtor_id))
            == expected
        )
