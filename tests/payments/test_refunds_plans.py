"""Refunds and revocations of money that paid a plan's installments (issue #13): what went back is
taken back from the installments, latest first, and the position page shows them due again; a
position in no plan and a payment made before the plan stay as before; a completed plan is owed
again what was refunded."""

from __future__ import annotations

import html
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.kernel.money import format_euro
from services.kernel.storage import read_all
from services.payments import handlers_lapse, handlers_refunds
from services.payments.domain_lapse import ROME, WentBack
from services.platform import Platform
from tests.conftest import service_client
from tests.payments.helpers import fact, scalar, seed
from tests.payments.test_notices import api, with_creditor
from tests.payments.test_plan_life import daily, make_plan, pay, pdf_text, run
from tests.payments.test_reconciliation import FDR, RECEIPTS, flow_xml, receipts_csv, upload
from tests.support import make_identity, position_fact


def admin(who: Identity) -> Identity:
    return make_identity(who.tenant_id, who.tenant_slug, roles=("comune_admin",))


def euro(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}".replace(".", ",")


def today() -> str:
    return datetime.now(ROME).date().strftime("%d/%m/%Y")


async def plan_of(platform: Platform, who: Identity, cents: int = 120_000) -> tuple[str, str]:
    """A position of `cents` in a plan of five installments; returns position and plan."""
    await with_creditor(platform, who)
    f = position_fact(cents, debtor_id=str(uuid.uuid4()), credit=("IMU", 2023, "P"))
    await seed(platform, who.tenant_id, f)
    async with service_client(platform, "payments", api(who)) as http:
        made = await http.post(
            "/api/v1/payments/plans", json={"position_ids": [f.position_id], "installments": 5}
        )
    assert made.status_code == 201, made.text
    return f.position_id, made.json()["plan_id"]


async def installments(platform: Platform, who: Identity, plan_id: str) -> list[Any]:
    async with platform.databases["payments"].unit_of_work(who.tenant_id) as uow:
        sql = (
            "SELECT number, principal_cents + interest_cents AS due, principal_cents AS principal, paid_cents,"
            " reopened_on "
            "FROM payments.plan_installments WHERE tenant_id = :t AND plan_id = :p ORDER BY number"
        )
        return list((await uow.execute(sa.text(sql), {"t": who.tenant_id, "p": uuid.UUID(plan_id)})).all())


async def pay_by_hand(platform: Platform, who: Identity, position_id: str, cents: int) -> str:
    async with service_client(platform, "payments", api(who)) as http:
        answer = await http.post(
            f"/api/v1/payments/positions/{position_id}/payments",
            json={
                "amount_cents": cents,
                "paid_on": datetime.now(ROME).date().isoformat(),
                "reason": "Bonifico",
            },
        )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["payment_id"])


async def refund(platform: Platform, who: Identity, payment_id: str, cents: int) -> None:
    form = {
        "amount": euro(cents),
        "refunded_on": today(),
        "reason": "Bonifico restituito all'ordinante",
        "conferma": "1",
    }
    async with service_client(platform, "payments", admin(who)) as http:
        done = await http.post(f"/t/{who.tenant_slug}/payments/payments/{payment_id}/rimborsi", data=form)
    assert done.status_code == 303, done.text


async def refund_directly(platform: Platform, who: Identity, payment_id: str, cents: int) -> dict[str, Any]:
    values = {"amount": euro(cents), "refunded_on": today(), "reason": "Versato per errore"}
    day = datetime.now(ROME).date()
    done: dict[str, Any] = await platform.databases["payments"].run(
        who.tenant_id,
        lambda uow: handlers_refunds.record_refund(uow, admin(who), uuid.UUID(payment_id), values, day),
    )
    return done


async def plan_rows(platform: Platform, who: Identity, position_id: str) -> list[str]:
    """The rows of the plan's table on the position page, as text."""
    async with service_client(platform, "payments", who) as http:  # an operator and administrator
        page = await http.get(f"/t/{who.tenant_slug}/payments/positions/{position_id}")
    assert page.status_code == 200
    table = page.text.split('data-testid="plan"')[1].split("</table>")[0]
    return [" ".join(row.split()) for row in table.split("<tr>")[2:]]


@pytest.mark.asyncio
async def test_a_partial_refund_reopens_the_last_paid_installment_by_its_amount(
    platform: Platform, tenant: Identity
) -> None:
    position_id, plan_id = await plan_of(platform, tenant)
    first, second, third = (await installments(platform, tenant, plan_id))[:3]
    payment_id = await pay_by_hand(platform, tenant, position_id, first.due + second.due + 5_000)
    assert [i.paid_cents for i in await installments(platform, tenant, plan_id)] == [
        first.due,
        second.due,
        5_000,
        0,
        0,
    ]
    await refund(platform, tenant, payment_id, 3_000)
    after = await installments(platform, tenant, plan_id)
    assert [i.paid_cents for i in after] == [first.due, second.due, 2_000, 0, 0]
    assert after[2].reopened_on == datetime.now(ROME).date() and after[1].reopened_on is None
    rows = await plan_rows(platform, tenant, position_id)
    async with service_client(platform, "payments", tenant) as http:
        page = (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{position_id}")).text
    assert "rimborsati € 30,00" in page  # the payment's row says what «Pagato» no longer counts
    assert "Pagata</td>" in rows[1] and "€ 20,00" in rows[2]
    assert f"Pagata in parte: restano {format_euro(third.due - 2_000)}" in rows[2]
    # Reopened before its own due date: still due by that date (not «from today»: the officer would
    # read the debtor as late already).
    assert "di nuovo da pagare per un rimborso o un pagamento revocato, entro la sua scadenza" in rows[2]
    assert "di nuovo dovuta" not in rows[2] and "di nuovo" not in rows[1]


@pytest.mark.asyncio
async def test_a_larger_refund_spans_two_installments_and_the_page_shows_both_due(
    platform: Platform, tenant: Identity
) -> None:
    position_id, plan_id = await plan_of(platform, tenant)
    first, second = (await installments(platform, tenant, plan_id))[:2]
    payment_id = await pay_by_hand(platform, tenant, position_id, first.due + second.due + 5_000)
    await refund(platform, tenant, payment_id, 8_000)  # 50,00 from the third, 30,00 from the second
    after = await installments(platform, tenant, plan_id)
    assert [i.paid_cents for i in after] == [first.due, second.due - 3_000, 0, 0, 0]
    assert [i.reopened_on is not None for i in after] == [False, True, True, False, False]
    rows = await plan_rows(platform, tenant, position_id)
    assert "Pagata in parte" in rows[1] and "Da pagare" in rows[2] and "Pagata</td>" in rows[0]
    assert "di nuovo da pagare" in rows[1] and "di nuovo da pagare" in rows[2]


@pytest.mark.asyncio
async def test_a_refund_on_a_position_without_plan_is_as_before(platform: Platform, tenant: Identity) -> None:
    f = fact(10_000)
    await seed(platform, tenant.tenant_id, f)
    other_position, plan_id = await plan_of(platform, tenant)  # another debt in a plan, untouched
    await pay_by_hand(platform, tenant, other_position, 10_000)
    payment_id = await pay_by_hand(platform, tenant, f.position_id, 6_000)
    before = await installments(platform, tenant, plan_id)
    done = await refund_directly(platform, tenant, payment_id, 2_500)
    assert done["reopened"] == {}
    paid = "SELECT paid_cents FROM payments.positions WHERE tenant_id = :t AND id = :p"
    assert (
        await scalar(platform, tenant.tenant_id, paid, t=tenant.tenant_id, p=uuid.UUID(f.position_id))
        == 3_500
    )
    assert await installments(platform, tenant, plan_id) == before


@pytest.mark.asyncio
async def test_a_payment_made_before_the_plan_keeps_the_installments_and_a_completed_plan_reopens(
    platform: Platform, tenant: Identity
) -> None:
    await with_creditor(platform, tenant)
    f = position_fact(120_000, debtor_id=str(uuid.uuid4()), credit=("IMU", 2023, "P"))
    await seed(platform, tenant.tenant_id, f)
    early = await pay_by_hand(platform, tenant, f.position_id, 20_000)
    async with service_client(platform, "payments", api(tenant)) as http:
        made = await http.post(
            "/api/v1/payments/plans", json={"position_ids": [f.position_id], "installments": 5}
        )
    plan_id = made.json()["plan_id"]
    first = (await installments(platform, tenant, plan_id))[0]
    await pay_by_hand(platform, tenant, f.position_id, first.due)
    # The plan spread the 1,000.00 left after the early payment: refunding it is owed on the position.
    assert (await refund_directly(platform, tenant, early, 5_000))["reopened"] == {}
    assert (await installments(platform, tenant, plan_id))[0].paid_cents == first.due
    # Every installment paid, the plan is completed: what a refund gives back is owed on it again
    # (else the position would owe with every notice of the plan paid or no longer payable).
    rest = sum(i.due - i.paid_cents for i in await installments(platform, tenant, plan_id))
    last = await pay_by_hand(platform, tenant, f.position_id, rest)
    assert (await refund_directly(platform, tenant, last, 1_000))["reopened"] == {5: 1_000}
    rows = await installments(platform, tenant, plan_id)
    assert [i.due - i.paid_cents for i in rows] == [0, 0, 0, 0, 1_000]
    assert rows[4].reopened_on == datetime.now(ROME).date()


@pytest.mark.asyncio
async def test_an_installment_paid_on_its_notice_reopens_then_its_revocation_takes_only_the_rest(
    platform: Platform, tenant: Identity
) -> None:
    position_id, plan_id = await plan_of(platform, tenant)
    async with service_client(platform, "payments", api(tenant)) as http:
        options = (await http.post("/api/v1/payments/notices", json={"plan_id": plan_id})).json()["options"]
    first, second = options[1], options[2]
    for option, ref in ((second, "I-2"), (first, "I-1")):
        csv = receipts_csv((option["iuv"], euro(option["amount_cents"]), ref))
        assert (await upload(platform, tenant, RECEIPTS, csv))[1]["matched"] == 1
    sql = (
        "SELECT p.id FROM payments.payments p JOIN payments.payment_options o ON o.id = p.option_id "
        "WHERE p.tenant_id = :t AND o.iuv = :i"
    )
    payment_id = await scalar(platform, tenant.tenant_id, sql, t=tenant.tenant_id, i=first["iuv"])
    # The refund of installment 1's payment reopens installment 1, though 2 was paid too.
    done = await refund_directly(platform, tenant, str(payment_id), 2_000)
    assert done["reopened"] == {1: 2_000}
    due = [i.due for i in await installments(platform, tenant, plan_id)]
    assert [i.paid_cents for i in await installments(platform, tenant, plan_id)] == [
        due[0] - 2_000,
        due[1],
        0,
        0,
        0,
    ]
    status = "SELECT status FROM payments.payment_options WHERE tenant_id = :t AND iuv = :i"
    assert await scalar(platform, tenant.tenant_id, status, t=tenant.tenant_id, i=first["iuv"]) == "replaced"
    # Still listed on the position page: it was paid, its IUV is on record.
    async with service_client(platform, "payments", tenant) as http:
        page = html.unescape(
            (await http.get(f"/t/{tenant.tenant_slug}/payments/positions/{position_id}")).text
        )
    assert f"IUV {first['iuv']}" in page and "Pagato, poi sostituito" in page
    # pagoPA revokes that payment: only what was not refunded comes off, never below zero.
    revoked = await upload(platform, tenant, FDR, flow_xml([(first["iuv"], "I-1", first["amount_cents"], 3)]))
    assert revoked[1]["revoked"] == 1, revoked
    assert [i.paid_cents for i in await installments(platform, tenant, plan_id)] == [0, due[1], 0, 0, 0]


@pytest.mark.asyncio
async def test_revoking_the_plans_single_payment_reopens_its_installments(
    platform: Platform, tenant: Identity
) -> None:
    position_id, plan_id = await plan_of(platform, tenant)
    async with service_client(platform, "payments", api(tenant)) as http:
        single = (await http.post("/api/v1/payments/notices", json={"plan_id": plan_id})).json()["options"][0]
    csv = receipts_csv((single["iuv"], euro(single["amount_cents"]), "S-1"))
    assert (await upload(platform, tenant, RECEIPTS, csv))[1]["matched"] == 1
    assert all(i.paid_cents == i.due for i in await installments(platform, tenant, plan_id))
    revoked = await upload(
        platform, tenant, FDR, flow_xml([(single["iuv"], "S-1", single["amount_cents"], 3)])
    )
    assert revoked[1]["revoked"] == 1, revoked
    assert [i.paid_cents for i in await installments(platform, tenant, plan_id)] == [0] * 5
    rows = await plan_rows(platform, tenant, position_id)
    assert all("Da pagare" in row for row in rows)


@pytest.mark.asyncio
async def test_a_reopened_installment_gets_a_sollecito_before_it_can_lapse_the_plan(
    platform: Platform, tenant: Identity
) -> None:
    await with_creditor(platform, tenant)
    plan_id, _, _ = await make_plan(platform, tenant, None)  # due 28/02, 31/03, 30/04, 31/05, ...
    await pay(platform, tenant, plan_id, 1)
    await pay(platform, tenant, plan_id, 3)  # paid on time
    assert len((await daily(platform, tenant, date(2026, 4, 1)))["sollecito_and_lapse"].by_post) == 1
    third = (await installments(platform, tenant, str(plan_id)))[2]

    async def refunded(uow: UnitOfWork) -> dict[int, int]:
        went = WentBack(third.due, 3)
        return await handlers_lapse.take_back_installments(
            uow, tenant.tenant_id, plan_id, went, date(2026, 5, 12)
        )

    assert await run(platform, tenant, refunded) == {3: third.due}
    # On its due date (30/04, after the sollecito) with 2 it would lapse the plan at once: instead
    # it is due again from Tuesday 12/05 and first gets a sollecito of its own.
    report = (await daily(platform, tenant, date(2026, 5, 13)))["sollecito_and_lapse"]
    assert (len(report.by_post), report.lapsed) == (1, 0)
    # The sollecito names the day it fell due again, and the original one.
    text = pdf_text(await read_all(platform.storage, tenant.tenant_id, report.by_post[0]))
    assert "12/05/2026*" in text and "di nuovo dovuta dal 12/05/2026" in text
    assert "scadenza originaria 30/04/2026" in text
    # Installment 4 (due Sunday 31/05, payable until Monday 1/06) missed after that sollecito: now
    # the plan lapses (c.800).
    assert (await daily(platform, tenant, date(2026, 6, 1)))["sollecito_and_lapse"].lapsed == 0
    assert (await daily(platform, tenant, date(2026, 6, 2)))["sollecito_and_lapse"].lapsed == 1
