"""The office's cancellations and corrections in the reporting service: the case page offers the
debtor's open positions; the answer changes them and the assigned total in its own transaction and
names them in `CaseAnswered`; a case takes one final answer (after any suspended ones), also when
two answers race; `reapply_decisions` brings rebuilt positions back to what was decided."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from services.contracts import AlreadyPaidClaimed, CaseAnswered, DisputeOpened, PlanReamounted
from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting import domain_relazione as rel
from services.reporting import domain_relazione_totals as tot
from services.reporting import handlers_cases, repository_relazione
from services.reporting.domain_relazione import Reason
from tests.conftest import service_client
from tests.reporting.helpers import deliver, fact, registered
from tests.reporting.test_cases import OPENED, to_cases, viewer


async def query(platform: Platform, tenant_id: uuid.UUID, sql: str, **params: object) -> list[sa.Row]:  # type: ignore[type-arg]
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        return list((await uow.execute(sa.text(sql), params)).all())


async def assigned(platform: Platform, tenant_id: uuid.UUID) -> int:
    rows = await query(platform, tenant_id, "SELECT assigned_cents FROM reporting.tenant_totals")
    return int(rows[0].assigned_cents)


async def positions(platform: Platform, tenant_id: uuid.UUID) -> dict[str, tuple[object, ...]]:
    sql = "SELECT position_id, state, amount_cents, original_cents, decided_at IS NOT NULL AS decided FROM reporting.positions"
    return {
        str(r.position_id): (r.state, r.amount_cents, r.original_cents, r.decided)
        for r in await query(platform, tenant_id, sql)
    }


async def sent(platform: Platform, tenant_id: uuid.UUID) -> list[dict[str, object]]:
    sql = "SELECT body FROM reporting.outbox WHERE routing_key = :k ORDER BY id"
    rows = await query(platform, tenant_id, sql, k=CaseAnswered.routing_key())
    return [json.loads(bytes(r.body))["payload"] for r in rows]


@pytest.mark.asyncio
async def test_a_cancellation_and_a_correction_change_their_positions_and_the_assigned_total(
    platform: Platform, tenant: Identity
) -> None:
    tid = tenant.tenant_id
    imu = fact(50_000, debtor_name="VERDI ANNA", act_number="IMU-2019-1")
    tari = fact(20_000, "TARI", debtor_id=imu.debtor_id, debtor_name="VERDI ANNA", act_number="TARI-2020-4")
    stranger = fact(70_000, debtor_name="NERI LUCA", act_number="IMU-2019-9")
    await deliver(platform, tid, registered(imu, tari, stranger))
    dispute, claim = str(uuid.uuid4()), str(uuid.uuid4())
    await to_cases(
        platform,
        tid,
        DisputeOpened(dispute, imu.debtor_id, "Immobile venduto nel 2018", "op-1", OPENED),
        AlreadyPaidClaimed(claim, imu.debtor_id, "Dice di aver pagato la TARI in parte", "op-1", OPENED),
    )
    assert await assigned(platform, tid) == 140_000
    base = f"/t/{tenant.tenant_slug}/reporting/pratiche"
    async with service_client(platform, "reporting", viewer(tenant, "comune_admin")) as client:
        page = (await client.get(f"{base}/{dispute}")).text
        assert 'data-testid="case-positions"' in page and "IMU-2019-1" in page and "TARI-2020-4" in page
        assert "IMU-2019-9" not in page  # another debtor's
        nothing = {"esito": "cancelled", "nota": "Immobile venduto nel 2018"}
        refused = await client.post(
            f"{base}/{dispute}/risposta", data=nothing, headers={"HX-Request": "true"}
        )
        assert refused.status_code == 400 and 'data-field="posizioni"' in refused.text
        strangers = {**nothing, "posizioni": stranger.position_id}
        refused = await client.post(
            f"{base}/{dispute}/risposta", data=strangers, headers={"HX-Request": "true"}
        )
        assert refused.status_code == 400 and 'data-field="posizioni"' in refused.text
        assert await assigned(platform, tid) == 140_000
        cancel = {**nothing, "posizioni": imu.position_id}
        # First what it changes, to confirm: nothing written yet.
        shown = await client.post(f"{base}/{dispute}/risposta", data=cancel, headers={"HX-Request": "true"})
        assert shown.status_code == 200 and 'data-testid="answer-preview"' in shown.text
        assert "IMU-2019-1" in shown.text and "€ 500,00 in meno" in shown.text
        assert 'name="conferma" value="1"' in shown.text and "<html" not in shown.text
        assert "plans/after-answer" not in shown.text  # in no plan: no plan to show
        assert await assigned(platform, tid) == 140_000
        cancel["conferma"] = "1"
        assert (await client.post(f"{base}/{dispute}/risposta", data=cancel)).status_code == 303
        assert await assigned(platform, tid) == 90_000
        # The second case: suspended first, then corrected (a suspended case is still open).
        wait = {"esito": "suspended", "nota": "In verifica con la banca"}
        assert (await client.post(f"{base}/{claim}/risposta", data=wait)).status_code == 303
        listed = (await client.get(base)).text  # a suspended case still waits for its final answer
        assert 'data-testid="waiting-count">1<' in listed and 'data-testid="suspended"' in listed
        page = (await client.get(f"{base}/{claim}")).text
        assert "IMU-2019-1" not in page and "TARI-2020-4" in page  # the cancelled one is offered no more
        correct = {
            "esito": "corrected",
            "nota": "Pagata in parte",
            "importo": "150,00",
            "posizioni": tari.position_id,
            "conferma": "1",
        }
        assert (await client.post(f"{base}/{claim}/risposta", data=correct)).status_code == 303
        again = {"esito": "rejected", "nota": "Ci abbiamo ripensato"}
        refused = await client.post(f"{base}/{claim}/risposta", data=again, headers={"HX-Request": "true"})
        assert refused.status_code == 400 and "ha già una risposta definitiva" in refused.text
        assert 'data-testid="waiting-count">0<' in (await client.get(base)).text
    assert await assigned(platform, tid) == 85_000
    now = await positions(platform, tid)
    assert now[imu.position_id] == ("cancelled", 50_000, None, True)
    assert now[tari.position_id] == ("open", 15_000, 20_000, True)
    assert now[stranger.position_id] == ("open", 70_000, None, False)
    recorded = await query(
        platform, tid, "SELECT answer, position_ids FROM reporting.case_answers ORDER BY answered_at"
    )
    assert [(r.answer, [str(p) for p in r.position_ids]) for r in recorded] == [
        ("cancelled", [imu.position_id]),
        ("suspended", []),
        ("corrected", [tari.position_id]),
    ]
    events = await sent(platform, tid)
    assert [(e["answer"], e["position_ids"], e["corrected_cents"]) for e in events] == [
        ("cancelled", [imu.position_id], 0),
        ("suspended", [], 0),
        ("corrected", [tari.position_id], 15_000),
    ]
    # A replay rebuilds the positions as registered; the decisions are applied again, in order.
    await rebuild_positions(platform, tid)
    assert await assigned(platform, tid) == 140_000
    async with platform.databases["reporting"].unit_of_work(tid) as uow:
        await handlers_cases.reapply_decisions(uow, tid)
        await uow.commit()
    assert await positions(platform, tid) == now and await assigned(platform, tid) == 85_000


async def rebuild_positions(platform: Platform, tenant_id: uuid.UUID) -> None:
    """What the replay leaves before `reapply_decisions`: every position open at its registered amount."""
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        await uow.execute(
            sa.text(
                "UPDATE reporting.positions SET state = 'open', decided_at = NULL, "
                "amount_cents = COALESCE(original_cents, amount_cents), original_cents = NULL"
            )
        )
        await uow.execute(sa.text("UPDATE reporting.tenant_totals SET assigned_cents = 140000"))
        await uow.commit()


@pytest.mark.asyncio
async def test_two_answers_racing_on_one_case_one_wins_the_other_changes_nothing(
    platform: Platform, tenant: Identity
) -> None:
    tid = tenant.tenant_id
    first = fact(30_000)
    second = fact(40_000, debtor_id=first.debtor_id)
    await deliver(platform, tid, registered(first, second))
    dispute = str(uuid.uuid4())
    await to_cases(platform, tid, DisputeOpened(dispute, first.debtor_id, "Non è mio", "op-1", OPENED))
    office = viewer(tenant, "comune_admin")
    started = asyncio.Event()

    async def answer(position_id: str) -> str:
        async with platform.databases["reporting"].unit_of_work(tid) as uow:
            await started.wait()
            typed = handlers_cases.Typed("cancelled", "Atto notificato a un omonimo", "", (position_id,))
            try:
                await handlers_cases.answer(uow, office, uuid.UUID(dispute), typed)
            except DomainError as refused:
                return refused.message
            await asyncio.sleep(0.2)  # hold the case's lock while the other waits for it
            await uow.commit()
            return "ok"

    racing = [asyncio.create_task(answer(p.position_id)) for p in (first, second)]
    await asyncio.sleep(0.05)
    started.set()
    outcomes: list[str] = sorted(await asyncio.gather(*racing))
    assert outcomes[1] == "ok" and "ha già una risposta definitiva" in outcomes[0]
    states = await positions(platform, tid)
    assert sorted(str(s[0]) for s in states.values()) == ["cancelled", "open"]
    assert len(await sent(platform, tid)) == 1
    assert await assigned(platform, tid) in (30_000, 40_000)


@pytest.mark.asyncio
async def test_positions_in_an_active_plan_may_be_cancelled_or_corrected(
    platform: Platform, tenant: Identity
) -> None:
    tid = tenant.tenant_id
    planned = fact(30_000, debtor_name="GALLI PIA")
    other = fact(10_000, "TARI", debtor_id=planned.debtor_id, debtor_name="GALLI PIA")
    await deliver(platform, tid, registered(planned, other))
    plan_id = uuid.uuid4()
    async with platform.databases["reporting"].unit_of_work(tid) as uow:
        await uow.execute(
            sa.text(
                "INSERT INTO reporting.plans (plan_id, tenant_id, debtor_id, position_ids, revenue_type, "
                "amount_cents, installments, first_due_date, created_by) VALUES (:p, :t, :d, "
                "ARRAY[:pos, :other]::uuid[], 'IMU', 40000, 3, :due, 'op-1')"
            ),
            {
                "p": plan_id,
                "t": tid,
                "d": uuid.UUID(planned.debtor_id),
                "pos": uuid.UUID(planned.position_id),
                "other": uuid.UUID(other.position_id),
                "due": date(2026, 12, 31),
            },
        )
        await uow.execute(sa.text("UPDATE reporting.positions SET plan_id = :p"), {"p": plan_id})
        await uow.commit()
    dispute = str(uuid.uuid4())
    await to_cases(platform, tid, DisputeOpened(dispute, planned.debtor_id, "Non dovuto", "op-1", OPENED))
    base = f"/t/{tenant.tenant_slug}/reporting/pratiche"
    admin = viewer(tenant, "comune_admin")
    async with service_client(platform, "reporting", admin) as client:
        page = (await client.get(f"{base}/{dispute}")).text
        assert "in un piano attivo: se annullata o corretta, le rate del piano si ricalcolano" in page
        # Before confirming, the plan as the answer would leave it: the payments service's block.
        typed = {"esito": "corrected", "nota": "Superficie errata", "importo": "150,00"}
        shown = await client.post(
            f"{base}/{dispute}/risposta", data=typed | {"posizioni": planned.position_id}
        )
        query = f"esito=corrected&amp;importo=15000&amp;posizione={planned.position_id}"
        assert f'hx-get="/t/{tenant.tenant_slug}/payments/plans/after-answer?{query}"' in shown.text
        # A cancellation (sgravio): payments spreads the plan again on what the other position leaves.
        data = {"esito": "cancelled", "nota": "Non dovuto", "posizioni": planned.position_id, "conferma": "1"}
        cancelled = await client.post(f"{base}/{dispute}/risposta", data=data)
    assert cancelled.status_code == 303, cancelled.text
    assert (await positions(platform, tid))[planned.position_id][0] == "cancelled"
    [event] = await sent(platform, tid)
    assert event["answer"] == "cancelled" and event["position_ids"] == [planned.position_id]
    # The other position of the plan, corrected on a second case.
    claim = str(uuid.uuid4())
    await to_cases(platform, tid, DisputeOpened(claim, planned.debtor_id, "Superficie", "op-1", OPENED))
    correct = {"esito": "corrected", "nota": "Superficie errata", "importo": "60,00", "conferma": "1"}
    async with service_client(platform, "reporting", admin) as client:
        answer = await client.post(
            f"{base}/{claim}/risposta", data=correct | {"posizioni": other.position_id}
        )
    assert answer.status_code == 303, answer.text
    [_, corrected] = await sent(platform, tid)
    assert corrected["corrected_cents"] == 6_000 and corrected["position_ids"] == [other.position_id]
    # Had the office cancelled both before any payment, payments would have cancelled the plan: the
    # portal says so rather than «0 rate».
    await deliver(
        platform, tid, PlanReamounted(str(plan_id), planned.debtor_id, planned.position_id, 40_000, 0, 0)
    )
    async with service_client(platform, "reporting", admin) as client:
        debtor = (
            await client.get(f"/t/{tenant.tenant_slug}/reporting/portale/debitori/{planned.debtor_id}")
        ).text
    assert (
        "IMU: € 400,00 dal 31/12/2026 – <strong>annullato</strong>: l'Ufficio tributi ha annullato (sgravio)"
        in debtor
    )
    assert "in 0 rate" not in debtor
    rows = debtor.split('data-testid="debtor-positions"', 1)[1].split("</table>", 1)[0].split("<tr>")
    [cancelled_row] = [r for r in rows if planned.act_number in r]
    [other_row] = [r for r in rows if other.act_number in r]
    assert "<td>—</td>" in cancelled_row and "in corso" not in cancelled_row
    assert "<td>annullato</td>" in other_row


async def relazione_lines(platform: Platform, tenant_id: uuid.UUID) -> dict[str, rel.Line]:
    scope = rel.Scope("final", date(2020, 1, 1), date.today(), date.today())
    found: dict[str, rel.Line] = {}
    async with platform.databases["reporting"].unit_of_work(tenant_id) as uow:
        async for part in repository_relazione.histories(uow, tenant_id, scope):
            found.update({h.act_number: rel.line(h, scope) for h in part})
    return found


@pytest.mark.asyncio
async def test_the_relazione_reconciles_with_the_load_and_follows_the_offices_answers(
    platform: Platform, tenant: Identity
) -> None:
    tid = tenant.tenant_id
    imu = fact(50_000, debtor_name="VERDI ANNA", act_number="IMU-2024-1")
    tari = fact(20_000, "TARI", debtor_name="NERI LUCA", act_number="TARI-2024-4")
    await deliver(platform, tid, registered(imu, tari))
    dispute, claim = str(uuid.uuid4()), str(uuid.uuid4())
    await to_cases(
        platform,
        tid,
        DisputeOpened(dispute, imu.debtor_id, "Non è mio", "op-1", OPENED),
        AlreadyPaidClaimed(claim, tari.debtor_id, "Pagato in parte", "op-1", OPENED),
    )
    # The calls that opened the cases are each debtor's last outcome.
    insert = (
        "INSERT INTO reporting.debtors (tenant_id, debtor_id, attempts, last_outcome) VALUES (:t, :d, 1, :o)"
        " ON CONFLICT (debtor_id) DO UPDATE SET attempts = 1, last_outcome = :o"
    )
    async with platform.databases["reporting"].unit_of_work(tid) as uow:
        for debtor, outcome in ((imu.debtor_id, "contestazione"), (tari.debtor_id, "gia_pagato")):
            await uow.execute(sa.text(insert), {"t": tid, "d": uuid.UUID(debtor), "o": outcome})
        await uow.commit()
    before = await relazione_lines(platform, tid)
    assert (before["IMU-2024-1"].reason, before["TARI-2024-4"].reason) == (
        Reason.DISPUTED,
        Reason.PAID_BEFORE,
    )
    base = f"/t/{tenant.tenant_slug}/reporting/pratiche"
    async with service_client(platform, "reporting", viewer(tenant, "comune_admin")) as client:
        rejected = {"esito": "rejected", "nota": "L'immobile risulta intestato al contribuente"}
        assert (await client.post(f"{base}/{dispute}/risposta", data=rejected)).status_code == 303
        correct = {
            "esito": "corrected",
            "nota": "Pagata in parte",
            "importo": "150,00",
            "posizioni": tari.position_id,
            "conferma": "1",
        }
        assert (await client.post(f"{base}/{claim}/risposta", data=correct)).status_code == 303
    after = await relazione_lines(platform, tid)
    # Neither claim explains what is still due any more: both go on to enforced collection.
    assert (after["IMU-2024-1"].reason, after["TARI-2024-4"].reason) == (
        Reason.IN_PROGRESS,
        Reason.IN_PROGRESS,
    )
    totals = tot.Totals()
    for line in after.values():
        totals.add(line)
    overall = totals.overall
    # Assigned 500 + 150, corrected 50: the 700 handed over, to the cent.
    assert (overall.assigned_cents, overall.cancelled_cents, overall.corrected_cents) == (65_000, 0, 5_000)
    assert overall.assigned_cents + overall.cancelled_cents + overall.corrected_cents == 70_000
