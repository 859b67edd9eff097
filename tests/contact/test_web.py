from __future__ import annotations

import asyncio
import html
import json
import uuid
from datetime import datetime, timedelta

import pytest

from services.contact.domain import ROME
from services.contact.domain_conduct import ConductRules, closed_reason
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import (
    contact_fact,
    contact_updated,
    contacts_registered,
    debtor,
    deliver,
    fact,
    scalar,
    seed,
)
from tests.support import make_identity


def as_user(who: Identity, user_id: str, roles: tuple[str, ...] = ("operator",)) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=roles, user_id=user_id)


def base(who: Identity) -> str:
    return f"/t/{who.tenant_slug}/contact"


def next_workable_slot() -> str:
    """A callback time tomorrow or later that falls within the allowed call hours."""
    day = (datetime.now(ROME) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    while closed_reason(ConductRules(), day) is not None:
        day += timedelta(days=1)
    return day.strftime("%Y-%m-%dT%H:%M")


@pytest.mark.asyncio
async def test_queue_page_shows_counts_and_debtors(platform: Platform, tenant: Identity) -> None:
    await seed(platform, tenant.tenant_id, fact(str(uuid.uuid4()), 123_456, name="VERDI ANNA"))
    async with service_client(platform, "contact", tenant) as client:
        response = await client.get(f"{base(tenant)}/")
    assert response.status_code == 200
    assert "VERDI ANNA" in response.text
    assert "€ 1.234,56" in response.text
    assert (
        'data-status="da_lavorare">\n    Da lavorare <span class="badge bg-primary">1</span>' in response.text
    )


@pytest.mark.asyncio
async def test_next_card_and_outcome_happy_path(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 50_000, name="BIANCHI LUCA"))
    op = as_user(tenant, "op-happy")
    async with service_client(platform, "contact", op) as client:
        taken = await client.post(f"{base(op)}/next", headers={"HX-Request": "true"})
        assert taken.headers["HX-Redirect"] == f"{base(op)}/debtors/{d}"
        card = await client.get(f"{base(op)}/debtors/{d}")
        assert card.status_code == 200
        assert "BIANCHI LUCA" in card.text
        assert "Verifica l'identità" in html.unescape(card.text)
        assert "non rivelare mai l'esistenza del debito" in html.unescape(card.text)
        recorded = await client.post(
            f"{base(op)}/debtors/{d}/outcomes",
            data={
                "outcome": "promessa_pagamento",
                "note": "paga entro il 30",
                "callback_at": "",
                "promise_amount": "200,00",
                "promise_due": "30/11/2026",
            },
        )
        assert recorded.status_code == 303, recorded.text
        after = await client.get(recorded.headers["location"])
    assert "Esito registrato." in after.text
    assert "paga entro il 30" in after.text
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None
    assert (row.status, row.last_outcome, row.assigned_to) == ("promessa", "promessa_pagamento", None)
    views = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT count(*) FROM contact.access_log WHERE subject_id = :d AND user_id = 'op-happy'",
        d=uuid.UUID(d),
    )
    assert views == 2
    body = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT convert_from(body, 'UTF8') FROM contact.outbox WHERE routing_key = 'contact.outcome_recorded.v1' "
        "AND convert_from(body, 'UTF8')::jsonb -> 'payload' ->> 'debtor_id' = :d",
        d=d,
    )
    payload = json.loads(str(body))["payload"]
    assert (payload["outcome"], payload["operator"]) == ("promessa_pagamento", "op-happy")


@pytest.mark.asyncio
async def test_richiamare_sets_callback(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 100))
    slot = next_workable_slot()
    async with service_client(platform, "contact", tenant) as client:
        response = await client.post(
            f"{base(tenant)}/debtors/{d}/outcomes",
            data={"outcome": "richiamare", "callback_at": slot, "callback_mine": "1"},
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 200
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None
    assert row.status == "da_richiamare"
    assert row.callback_at == datetime.fromisoformat(slot).replace(tzinfo=ROME)
    # The queue page says when, and for whom.
    when = datetime.fromisoformat(slot).strftime("%d/%m/%Y %H:%M")
    async with service_client(platform, "contact", tenant) as client:
        mine = await client.get(f"{base(tenant)}/?status=da_richiamare")
    async with service_client(platform, "contact", as_user(tenant, "op-other")) as client:
        theirs = await client.get(f"{base(tenant)}/?status=da_richiamare")
    assert f"il {when} (per te)" in mine.text
    assert f"il {when} (riservato a un collega)" in theirs.text


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"outcome": "richiamare", "callback_at": ""}, "Indica data e ora del richiamo."),
        ({"outcome": "richiamare", "callback_at": "2020-01-02T10:00"}, "deve essere nel futuro"),
        ({"outcome": "boh"}, "Esito non valido"),
        ({"outcome": ""}, "Scegli l&#x27;esito della chiamata."),
    ],
)
async def test_bad_outcome_input_is_refused(
    platform: Platform, tenant: Identity, data: dict[str, str], message: str
) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 100))
    async with service_client(platform, "contact", tenant) as client:
        response = await client.post(
            f"{base(tenant)}/debtors/{d}/outcomes", data=data, headers={"HX-Request": "true"}
        )
    assert response.status_code == 400
    assert message in response.text
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None
    assert (row.status, row.last_outcome) == ("da_lavorare", None)


@pytest.mark.asyncio
async def test_outcome_on_a_debtor_held_by_another_operator_conflicts(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 100))
    async with service_client(platform, "contact", as_user(tenant, "op-a")) as a:
        await a.post(f"{base(tenant)}/next")
    async with service_client(platform, "contact", as_user(tenant, "op-b")) as b:
        response = await b.post(f"{base(tenant)}/debtors/{d}/outcomes", data={"outcome": "contattato"})
    assert response.status_code == 409
    async with service_client(platform, "contact", as_user(tenant, "sup", ("supervisor",))) as sup:
        response = await sup.post(f"{base(tenant)}/debtors/{d}/outcomes", data={"outcome": "contattato"})
    assert response.status_code == 303


@pytest.mark.asyncio
async def test_wrong_role_is_forbidden(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 100))
    viewer = as_user(tenant, "viewer", ("comune_viewer", "comune_admin"))
    async with service_client(platform, "contact", viewer) as client:
        responses = [
            await client.get(f"{base(tenant)}/"),
            await client.post(f"{base(tenant)}/next"),
            await client.get(f"{base(tenant)}/debtors/{d}"),
            await client.post(f"{base(tenant)}/debtors/{d}/outcomes", data={"outcome": "contattato"}),
        ]
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None
    assert (row.status, row.assigned_to) == ("da_lavorare", None)


@pytest.mark.asyncio
async def test_foreign_and_unknown_debtors_are_not_found(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 100))
    async with service_client(platform, "contact", other_tenant) as client:
        foreign = await client.get(f"{base(other_tenant)}/debtors/{d}")
        unknown = await client.get(f"{base(other_tenant)}/debtors/{uuid.uuid4()}")
        garbage = await client.get(f"{base(other_tenant)}/debtors/not-a-uuid")
        write = await client.post(
            f"{base(other_tenant)}/debtors/{d}/outcomes", data={"outcome": "contattato"}
        )
        # the path of tenant A is refused before any handler runs
        path_of_a = await client.get(f"{base(tenant)}/debtors/{d}")
    assert [r.status_code for r in (foreign, unknown, garbage, write, path_of_a)] == [404] * 5
    assert foreign.text == unknown.text
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None
    assert row.status == "da_lavorare"
    logged = await scalar(
        platform,
        other_tenant.tenant_id,
        "SELECT count(*) FROM contact.access_log WHERE subject_id = :d",
        d=uuid.UUID(d),
    )
    assert logged == 0


@pytest.mark.asyncio
async def test_empty_queue(platform: Platform, tenant: Identity) -> None:
    async with service_client(platform, "contact", tenant) as client:
        htmx = await client.post(f"{base(tenant)}/next", headers={"HX-Request": "true"})
        plain = await client.post(f"{base(tenant)}/next")
    assert htmx.status_code == 200
    assert "Nessun debitore da lavorare" in htmx.text
    assert "HX-Redirect" not in htmx.headers
    assert plain.headers["location"] == f"{base(tenant)}/?vuota=1"


@pytest.mark.asyncio
async def test_concurrent_next_gives_different_debtors(platform: Platform, tenant: Identity) -> None:
    ids = [str(uuid.uuid4()) for _ in range(2)]
    await seed(platform, tenant.tenant_id, fact(ids[0], 1_000), fact(ids[1], 1_000))
    clients = [service_client(platform, "contact", as_user(tenant, f"op-{n}")) for n in range(2)]
    try:
        responses = await asyncio.gather(*(c.post(f"{base(tenant)}/next") for c in clients))
    finally:
        for c in clients:
            await c.aclose()
    locations = {r.headers["location"] for r in responses}
    assert locations == {f"{base(tenant)}/debtors/{d}" for d in ids}
    rows = [await debtor(platform, tenant.tenant_id, d) for d in ids]
    assert sorted(r.assigned_to for r in rows if r is not None) == ["op-0", "op-1"]


@pytest.mark.asyncio
async def test_queue_is_paged(platform: Platform, tenant: Identity) -> None:
    facts = [fact(str(uuid.uuid4()), 1_000 + n, name=f"DEBITORE {n:02d}") for n in range(27)]
    await seed(platform, tenant.tenant_id, *facts)
    async with service_client(platform, "contact", tenant) as client:
        first = await client.get(f"{base(tenant)}/")
        second = await client.get(f"{base(tenant)}/?page=2", headers={"HX-Request": "true"})
    assert "DEBITORE 26" in first.text and "DEBITORE 00" not in first.text
    assert "Successiva" in first.text
    assert "DEBITORE 00" in second.text and "DEBITORE 26" not in second.text
    assert "<html" not in second.text
    assert second.text.count("<tr>") == 1 + 2


@pytest.mark.asyncio
async def test_card_lists_active_phones_first_with_provenance(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    wrong = contact_fact(d, "+393470000000")
    good = contact_fact(d, "+393471234567", confidence=80)
    mail = contact_fact(d, "mario@example.it", kind="email", found_on="2026-10-05")
    pec = contact_fact(d, "rossi@pec.example.it", kind="pec", source="InfoTrace")
    await deliver(platform, contacts_registered(tenant.tenant_id, pec, mail, wrong, good))
    await deliver(platform, contact_updated(tenant.tenant_id, wrong, active=False))
    await seed(platform, tenant.tenant_id, fact(d, 1_000, name="ROSSI MARIO"))
    async with service_client(platform, "contact", tenant) as client:
        card = await client.get(f"{base(tenant)}/debtors/{d}")
    assert card.status_code == 200
    section = card.text.split('data-testid="contacts"')[1].split("</ul>")[0]
    assert '<a href="tel:+393471234567">+39 347 123 4567</a>' in section  # dialled in E.164, read grouped
    assert "+393470000000" not in card.text and "347 000 0000" not in card.text
    assert "fonte File del Comune" in section and "reperito il 20/11/2026" in section
    assert "reperito il 05/10/2026" in section and "fonte InfoTrace" in section
    order = [section.index(v) for v in ("+393471234567", "mario@example.it", "rossi@pec.example.it")]
    assert order == sorted(order)
    assert "Verifica l'identità" in html.unescape(card.text)


@pytest.mark.asyncio
async def test_card_without_contacts_says_so(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 1_000))
    async with service_client(platform, "contact", tenant) as client:
        card = await client.get(f"{base(tenant)}/debtors/{d}")
    assert "Nessun recapito disponibile." in card.text
    # What the taxpayer gives on the phone is added where it keeps its provenance (ingest's form).
    assert f'href="/t/{tenant.tenant_slug}/ingest/debtors/{d}" data-testid="add-contact"' in card.text
