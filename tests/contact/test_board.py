"""The supervisors' live board on the real database: today's work per operator, euro promised and
collected, the leases held now, and a lease given back to the queue (audited)."""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import replace
from datetime import datetime

import pytest
import sqlalchemy as sa

from services.contact.domain import ROME
from services.contracts import PaymentReceived
from services.kernel.identity import Identity
from services.platform import Platform
from tests.conftest import service_client
from tests.contact.helpers import debtor, deliver, fact, seed
from tests.contact.test_conduct_web import record, take
from tests.contact.test_web import as_user, base
from tests.support import contact_clock

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=ROME)
HX = {"HX-Request": "true"}


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}">([^<]+)<', html)
    assert found, name
    return found.group(1)


@pytest.mark.asyncio
async def test_the_board_shows_todays_work_and_a_supervisor_releases_a_lease(
    platform: Platform, tenant: Identity
) -> None:
    promised, refused, held = (str(uuid.uuid4()) for _ in range(3))
    position = fact(promised, 90_000)
    await seed(platform, tenant.tenant_id, position, fact(refused, 80_000), fact(held, 70_000))
    anna, bruno = as_user(tenant, "op-anna"), replace(as_user(tenant, "op-bruno"), display_name="Bruno Neri")
    supervisor = as_user(tenant, "sup-board", ("supervisor",))
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{promised}" in await take(platform, anna)
        await record(
            platform,
            anna,
            promised,
            outcome="promessa_pagamento",
            promise_amount="300,00",
            promise_due="2026-12-05",
        )
        assert f"/debtors/{refused}" in await take(platform, anna)
        await record(platform, anna, refused, outcome="rifiuto")
        assert f"/debtors/{held}" in await take(platform, bruno)  # and Bruno goes home
    payment = PaymentReceived(
        str(uuid.uuid4()), position.position_id, promised, 30_000, "2026-11-30", "pagoPA"
    )
    await deliver(platform, payment.envelope(tenant.tenant_id))
    with contact_clock(platform, MONDAY.replace(minute=15)):  # Bruno still holds his debtor
        async with service_client(platform, "contact", supervisor) as client:
            board = (await client.get(f"{base(supervisor)}/board")).text
            assert (figure(board, "calls"), figure(board, "promises"), figure(board, "collected")) == (
                "2",
                "1",
                "€ 300,00",
            )
            assert '<td>Utente di prova</td><td class="text-end">2</td>' in board  # a name, not an id
            # The lease names its holder as their identity said when they took it.
            assert "<td>Bruno Neri</td>" in board and "op-bruno" not in board and "Rimetti in coda" in board
            # Asked first: the operator loses the card they may be calling on.
            assert 'hx-confirm="Rimettere in coda ROSSI MARIO? Bruno Neri perde la scheda aperta."' in board
            released = await client.post(f"{base(supervisor)}/board/leases/{held}/release", headers=HX)
            assert released.status_code == 200 and "Nessun debitore in lavorazione." in released.text
            assert 'data-testid="released">La scheda di ROSSI MARIO è di nuovo in coda' in released.text
            again = await client.post(f"{base(supervisor)}/board/leases/{held}/release", headers=HX)
            assert again.status_code == 404
        async with service_client(platform, "contact", anna) as operator:
            assert (await operator.get(f"{base(anna)}/board")).status_code == 403
    row = await debtor(platform, tenant.tenant_id, held)
    assert row is not None and (row.assigned_to, row.status) == (None, "da_lavorare")
    sql = "SELECT action FROM contact.access_log WHERE tenant_id = :t AND action IN ('view_board', 'release_lease')"
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        actions = sorted((await uow.execute(sa.text(sql), {"t": tenant.tenant_id})).scalars())
    assert actions == ["release_lease", "view_board", "view_board"]


@pytest.mark.asyncio
async def test_a_supervisor_scores_a_sample_of_an_operators_calls(
    platform: Platform, tenant: Identity
) -> None:
    first, second, silent = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(first, 90_000), fact(second, 80_000), fact(silent, 70_000))
    carla, supervisor = as_user(tenant, "op-carla"), as_user(tenant, "sup-quality", ("supervisor",))
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{first}" in await take(platform, carla)
        await record(platform, carla, first, outcome="rifiuto", note=f"Nota della chiamata {first[:4]}")
        assert f"/debtors/{second}" in await take(platform, carla)
        promised = {"promise_amount": "250,00", "promise_due": "2026-12-10"}
        await record(platform, carla, second, outcome="promessa_pagamento", **promised)
        # A call nobody answered has no conduct to score: not in the sample.
        assert f"/debtors/{silent}" in await take(platform, carla)
        await record(platform, carla, silent, outcome="non_risponde")
        async with service_client(platform, "contact", supervisor) as client:
            sample = (
                await client.get(f"{base(supervisor)}/board/review", params={"operatore": "op-carla"})
            ).text
            nobody = await client.get(f"{base(supervisor)}/board/review")
            assert nobody.status_code == 303 and nobody.headers["location"].endswith("/contact/board")
            calls = re.findall(r'action="[^"]+/board/review/([0-9a-f-]{36})"', sample)
            assert len(calls) == 2 and "Rifiuto" in sample
            # What the call set, for the reviewer to judge: the promise and its fate.
            assert "Promessa di € 250,00 entro il 10/12/2026 (in attesa)" in html.unescape(sample)
            bad = await client.post(f"{base(supervisor)}/board/review/{calls[0]}", data={"score": "9"})
            assert bad.status_code == 400 and "da 1 a 5" in bad.text
            # In the page (HTMX) the refusal goes under that call's form, which keeps what was typed.
            assert (
                f'hx-post="{base(supervisor)}/board/review/{calls[0]}" hx-target="#review-result-1"' in sample
            )
            shown = await client.post(
                f"{base(supervisor)}/board/review/{calls[0]}", data={"score": ""}, headers=HX
            )
            assert shown.status_code == 400 and 'data-field="score"' in shown.text
            done = await client.post(
                f"{base(supervisor)}/board/review/{calls[0]}", data={"score": "4", "comment": "Tono corretto"}
            )
            assert done.status_code == 303
            after = (await client.get(done.headers["location"])).text
            assert (
                'data-testid="average">4,0<' in after
                and "1 chiamata valutata" in after
                and len(re.findall(r'action="[^"]+/board/review/[0-9a-f-]{36}"', after)) == 1
            )
            # Every call scored: the heading still names the operator (it showed their id).
            await client.post(f"{base(supervisor)}/board/review/{calls[1]}", data={"score": "5"})
            emptied = (await client.get(done.headers["location"])).text
            assert f"Revisione della qualità · {carla.display_name}</h1>" in emptied
            board = (await client.get(f"{base(supervisor)}/board")).text
    assert "4,5/5 (2)" in board
    # The register says it in words: whose calls were read and scored, never an id.
    sql = (
        "SELECT action, detail FROM contact.access_log WHERE tenant_id = :t"
        " AND action LIKE 'quality%' ORDER BY id"
    )
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        logged = [tuple(r) for r in await uow.execute(sa.text(sql), {"t": tenant.tenant_id})]
    name = carla.display_name
    assert ("quality_review", f"punteggio 4 su 5 a una chiamata di {name}") in logged
    assert ("quality_sample", f"chiamate di {name}") in logged
    assert all("op-carla" not in detail for _, detail in logged)


@pytest.mark.asyncio
async def test_a_supervisor_hands_a_held_card_to_another_operator_and_sees_todays_outcomes(
    platform: Platform, tenant: Identity
) -> None:
    first, second, third, fourth = (str(uuid.uuid4()) for _ in range(4))
    facts = (fact(first, 90_000), fact(second, 80_000), fact(third, 70_000), fact(fourth, 60_000))
    await seed(platform, tenant.tenant_id, *facts)
    anna = replace(as_user(tenant, "op-anna"), display_name="Anna Esposito")
    bruno = replace(as_user(tenant, "op-bruno"), display_name="Bruno Neri")
    supervisor = as_user(tenant, "sup-hands", ("supervisor",))
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{first}" in await take(platform, anna)
        await record(platform, anna, first, outcome="occupato")
        assert f"/debtors/{second}" in await take(platform, bruno)
        await record(platform, bruno, second, outcome="non_risponde")
        assert f"/debtors/{third}" in await take(platform, anna)  # Anna holds it and goes home
        assert f"/debtors/{fourth}" in await take(platform, bruno)  # Bruno is on a call
    with contact_clock(platform, MONDAY.replace(minute=10)):
        async with service_client(platform, "contact", supervisor) as client:
            board = (await client.get(f"{base(supervisor)}/board")).text
            # Today by outcome: each operator's and the Comune's.
            outcomes = board[board.index('data-testid="board-outcomes"') :]
            assert ">Occupato</th>" in outcomes and ">Non risponde</th>" in outcomes
            assert '<th scope="row">Comune</th><td class="text-end fw-bold">1</td>' in outcomes
            # Offered to the operators who worked the Comune, not to the one holding it.
            third_form = board[board.index(f"leases/{third}/reassign") :]
            third_form = third_form[: third_form.index("</select>")]
            offered = re.findall(r'<option value="([^"]+)">([^<]+)</option>', third_form)
            assert offered == [("op-bruno", "Bruno Neri")]
            url = f"{base(supervisor)}/board/leases/{third}/reassign"
            stranger = await client.post(url, data={"operatore": "op-nessuno"}, headers=HX)
            same = await client.post(url, data={"operatore": "op-anna"}, headers=HX)
            handed = await client.post(url, data={"operatore": "op-bruno"}, headers=HX)
            nobody = await client.post(
                f"{base(supervisor)}/board/leases/{first}/reassign",
                data={"operatore": "op-bruno"},
                headers=HX,
            )
    # A refusal is said at its row, the board still there.
    assert stranger.status_code == 400 and 'id="board"' in stranger.text
    assert f'id="affida-{third}-errore" role="alert">Scegli a quale operatore' in stranger.text
    assert same.status_code == 400 and "Anna Esposito ha già in lavorazione questo debitore." in same.text
    assert handed.status_code == 200, handed.text
    assert "La scheda di " in handed.text and "è ora affidata a Bruno Neri: la riceverà" in handed.text
    assert "come prossimo debitore, dopo quella che ha già aperta.</div>" in handed.text
    assert nobody.status_code == 404 and "Nessun operatore ha in lavorazione" in nobody.text
    row = await debtor(platform, tenant.tenant_id, third)
    assert row is not None and (row.assigned_to, row.assigned_name) == ("op-bruno", "Bruno Neri")
    # Bruno holds both cards now: he gets one, then, once it is recorded, the other.
    with contact_clock(platform, MONDAY.replace(minute=11)):
        one = (await take(platform, bruno)).rsplit("/debtors/", 1)[1].split("?")[0]
        assert one in (third, fourth)
        await record(platform, bruno, one, outcome="occupato")
        other = (await take(platform, bruno)).rsplit("/debtors/", 1)[1].split("?")[0]
        assert {one, other} == {third, fourth}
    sql = "SELECT detail FROM contact.access_log WHERE tenant_id = :t AND action = 'reassign_lease'"
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        details = list((await uow.execute(sa.text(sql), {"t": tenant.tenant_id})).scalars())
    assert details == ["da Anna Esposito a Bruno Neri"]


@pytest.mark.asyncio
async def test_a_supervisor_hands_a_callback_kept_for_an_absent_operator_to_a_colleague_or_anyone(
    platform: Platform, tenant: Identity
) -> None:
    kept, other = str(uuid.uuid4()), str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(kept, 90_000), fact(other, 80_000))
    anna = replace(as_user(tenant, "op-anna-cb"), display_name="Anna Esposito")
    bruno = replace(as_user(tenant, "op-bruno-cb"), display_name="Bruno Neri")
    supervisor = as_user(tenant, "sup-callbacks", ("supervisor",))
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{kept}" in await take(platform, anna)
        status, _ = await record(
            platform, anna, kept, outcome="richiamare", callback_at="2026-12-01T10:00", callback_mine="1"
        )
        assert status == 303
        assert f"/debtors/{other}" in await take(platform, bruno)
        await record(platform, bruno, other, outcome="rifiuto")
    url = f"{base(supervisor)}/board/callbacks/{kept}/hand"
    with contact_clock(platform, MONDAY.replace(minute=10)):
        async with service_client(platform, "contact", supervisor) as client:
            board = (await client.get(f"{base(supervisor)}/board")).text
            reserved = board[board.index('data-testid="board-callbacks"') :]
            assert "Anna Esposito</td><td>01/12/2026 10:00</td>" in reserved
            offered = re.findall(r'<option value="([^"]+)">([^<]+)</option>', reserved)
            assert offered == [("chiunque", "Chiunque"), ("op-bruno-cb", "Bruno Neri")]
            stranger = await client.post(url, data={"operatore": "op-nessuno"}, headers=HX)
            same = await client.post(url, data={"operatore": "op-anna-cb"}, headers=HX)
            handed = await client.post(url, data={"operatore": "op-bruno-cb"}, headers=HX)
    assert stranger.status_code == 400 and f'id="richiamo-{kept}-errore" role="alert">Scegli' in stranger.text
    assert same.status_code == 400 and "già riservato a Anna Esposito" in same.text
    assert handed.status_code == 200 and "è ora riservato a Bruno Neri" in handed.text
    # Tomorrow at its time it comes to Bruno, not to Anna.
    with contact_clock(platform, datetime(2026, 12, 1, 10, 5, tzinfo=ROME)):
        assert "Nessun debitore da lavorare" in await take(platform, anna)
        assert f"/debtors/{kept}" in await take(platform, bruno)
        status, _ = await record(
            platform, bruno, kept, outcome="non_risponde", callback_at="2026-12-02T10:00", callback_mine="1"
        )
        assert status == 303
        async with service_client(platform, "contact", supervisor) as client:
            anyone = await client.post(url, data={"operatore": "chiunque"}, headers=HX)
            again = await client.post(url, data={"operatore": "chiunque"}, headers=HX)
    assert anyone.status_code == 200 and "è ora per chiunque" in anyone.text
    assert again.status_code == 404 and "Nessun richiamo è riservato" in again.text
    row = await debtor(platform, tenant.tenant_id, kept)
    assert row is not None and row.callback_for is None
    # Anyone's now, on time (no answer: a day after the call at the earliest, 10:05).
    with contact_clock(platform, datetime(2026, 12, 2, 10, 6, tzinfo=ROME)):
        assert f"/debtors/{kept}" in await take(platform, anna)
    sql = "SELECT detail FROM contact.access_log WHERE tenant_id = :t AND action = 'hand_callback'"
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        details = list((await uow.execute(sa.text(sql), {"t": tenant.tenant_id})).scalars())
    assert details == ["da Anna Esposito a Bruno Neri", "da Bruno Neri a chiunque"]


@pytest.mark.asyncio
async def test_an_operator_who_only_opened_the_comune_can_be_handed_a_card(
    platform: Platform, tenant: Identity
) -> None:
    """Before, «Affida a» knew only operators who had recorded a call, hold a card or have a list:
    one just given the Comune could not be handed anything until their first debtor. Opening the
    Comune (its line on their home, or its queue) makes them known; a supervisor is never offered."""
    held = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(held, 90_000))
    anna = replace(as_user(tenant, "op-anna"), display_name="Anna Esposito")
    carla = replace(as_user(tenant, "op-carla"), display_name="Carla Nuova")
    supervisor = as_user(tenant, "sup-new", ("supervisor",))
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{held}" in await take(platform, anna)  # and goes home
        async with service_client(platform, "contact", supervisor) as client:
            before = (await client.get(f"{base(supervisor)}/board")).text
            assert (await client.get(f"{base(supervisor)}/summary", headers=HX)).status_code == 200
        async with service_client(platform, "contact", carla) as client:
            assert (await client.get(f"{base(carla)}/summary", headers=HX)).status_code == 200
        async with service_client(platform, "contact", supervisor) as client:
            after = (await client.get(f"{base(supervisor)}/board")).text
            handed = await client.post(
                f"{base(supervisor)}/board/leases/{held}/reassign", data={"operatore": "op-carla"}, headers=HX
            )
        # Anna opens the card she held: to read, the outcome is Carla's to record now.
        async with service_client(platform, "contact", anna) as client:
            annas = (await client.get(f"{base(anna)}/debtors/{held}")).text
        async with service_client(platform, "contact", carla) as client:
            carlas = (await client.get(f"{base(carla)}/debtors/{held}")).text
    assert 'data-testid="held-by">In lavorazione da Carla Nuova' in annas and 'id="outcome-form"' not in annas
    assert 'id="outcome-form"' in carlas and 'data-testid="held-by"' not in carlas
    # Nor does Anna build or send the payment Carla agrees in her call (they stayed live for her).
    assert "chi ha la scheda in lavorazione (Carla Nuova)" in annas and "/payments/plans/builder" not in annas
    assert 'data-testid="pay-held"' not in carlas and "/payments/plans/builder?" in carlas
    offered = r'<option value="([^"]+)">([^<]+)</option>'
    assert re.findall(offered, before) == []
    assert re.findall(offered, after) == [("op-carla", "Carla Nuova")]
    assert handed.status_code == 200 and "è ora affidata a Carla Nuova" in handed.text
