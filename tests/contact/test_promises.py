"""Promises to pay: what a promise may be, which payments keep it, and, on the real database, a
promise kept by the payments that follow (through the payments events) and one broken by the daily
run that brings its debtor back to the queue first."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from services import jobs
from services.contact.domain import ROME, Outcome, OutcomeDecision, Status
from services.contact.domain_promises import OpenPromise, apply_payment, awaiting_promise, check_promise
from services.contracts import (
    PaymentFact,
    PaymentReceived,
    PaymentsReceived,
    PositionFact,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
)
from services.kernel.errors import DomainError, FieldErrors
from services.kernel.identity import Identity
from services.platform import Platform
from tests.contact.helpers import debtor, deliver, fact, seed
from tests.contact.test_conduct_web import record, take
from tests.contact.test_web import as_user
from tests.gateway.helpers import make_tenant
from tests.support import contact_clock, make_identity

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=ROME)


def test_a_promise_names_an_amount_owed_and_a_day_within_the_comunes_limit() -> None:
    today = date(2026, 11, 30)
    assert check_promise("150,50", "2026-12-10", today, 30, 50_000).amount_cents == 15_050
    assert check_promise("150", "30/12/2026", today, 30, 50_000).due_on == date(2026, 12, 30)
    for amount, due, field, text in (
        ("", "2026-12-10", "promise_amount", "Indica l'importo"),
        ("600,00", "2026-12-10", "promise_amount", "supera quanto il contribuente deve"),
        ("100", "", "promise_due", "Indica entro che giorno"),
        ("100", "29/11/2026", "promise_due", "già passato"),
        ("100", "31/12/2026", "promise_due", "entro 30 giorni: al più tardi il 30/12/2026"),
        ("100", "31/02/2026", "promise_due", "Data non valida"),
    ):
        with pytest.raises(DomainError, match=text) as refused:
            check_promise(amount, due, today, 30, 50_000)
        assert refused.value.field == field
    # Both wrong: both said at once (the date's was told only on the next attempt).
    with pytest.raises(FieldErrors) as both:
        check_promise("", "", today, 30, 50_000)
    assert both.value.errors == {
        "promise_amount": "Indica l'importo che il contribuente promette di pagare.",
        "promise_due": "Indica entro che giorno il contribuente pagherà.",
    }


def test_a_payment_keeps_the_oldest_promises_made_before_it() -> None:
    first = OpenPromise(uuid.uuid4(), 10_000, 0, date(2026, 11, 2))
    second = OpenPromise(uuid.uuid4(), 5_000, 0, date(2026, 11, 20))
    applied = apply_payment([second, first], 12_000, date(2026, 11, 25))
    assert [(a.id, a.paid_cents, a.kept) for a in applied] == [
        (first.id, 10_000, True),
        (second.id, 2_000, False),
    ]
    # A payment made before a promise does not count towards it.
    assert apply_payment([second], 5_000, date(2026, 11, 19)) == []


def test_a_debtor_waiting_on_a_promise_keeps_waiting_after_a_call_that_changes_nothing() -> None:
    worked = OutcomeDecision(Outcome.CONTATTATO, "", Status.LAVORATO, None)
    assert awaiting_promise(worked, promised=True).status is Status.PROMESSA
    assert awaiting_promise(worked, promised=False).status is Status.LAVORATO
    disputed = OutcomeDecision(Outcome.CONTESTAZIONE, "Immobile venduto", Status.SOSPESO, None)
    assert awaiting_promise(disputed, promised=True).status is Status.SOSPESO


async def outbox(platform: Platform, who: Identity, event: type) -> list[str]:
    sql = "SELECT convert_from(body, 'UTF8') FROM contact.outbox WHERE tenant_id = :t AND routing_key = :k"
    async with platform.databases["contact"].unit_of_work(who.tenant_id) as uow:
        return list(
            (await uow.execute(sa.text(sql), {"t": who.tenant_id, "k": event.routing_key()})).scalars()
        )


async def promise_row(platform: Platform, who: Identity, d: str) -> tuple[str, int]:
    sql = "SELECT status, paid_cents FROM contact.promises WHERE tenant_id = :t AND debtor_id = :d"
    async with platform.databases["contact"].unit_of_work(who.tenant_id) as uow:
        row = (await uow.execute(sa.text(sql), {"t": who.tenant_id, "d": uuid.UUID(d)})).one()
    return row.status, row.paid_cents


def paid(who: Identity, position: PositionFact, cents: int, on: str) -> PaymentReceived:
    return PaymentReceived(
        payment_id=str(uuid.uuid4()),
        position_id=position.position_id,
        debtor_id=position.debtor_id,
        amount_cents=cents,
        paid_on=on,
        recorded_by="pagoPA",
    )


@pytest.mark.asyncio
async def test_a_promise_is_kept_by_the_payments_that_follow_it(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    position = fact(d, 50_000)
    await seed(platform, tenant.tenant_id, position)
    op = as_user(tenant, "op-promise")
    with contact_clock(platform, MONDAY):
        await take(platform, op)
        status, text = await record(
            platform, op, d, outcome="promessa_pagamento", promise_amount="200,00", promise_due="2026-12-10"
        )
        assert status == 303, text
        assert "Nessun debitore da lavorare" in await take(platform, op)  # waiting on the promise
    [made] = await outbox(platform, tenant, PromiseMade)
    assert '"amount_cents":20000' in made and '"due_on":"2026-12-10"' in made
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.status == "promessa"
    # The debtor phones in a week later: a conversation that changes nothing leaves them waiting
    # on the promise (it said «Lavorato», and the queue lost count of the promise).
    with contact_clock(platform, MONDAY.replace(day=7)):
        status, text = await record(platform, op, d, outcome="contattato", note="Conferma il pagamento")
        assert status == 303, text
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and (row.status, row.last_outcome) == ("promessa", "contattato")
    await deliver(platform, paid(tenant, position, 15_000, "2026-12-02").envelope(tenant.tenant_id))
    assert await promise_row(platform, tenant, d) == ("open", 15_000)
    # The rest arrives with a reconciliation import, beside another debtor's payment.
    other = fact(str(uuid.uuid4()), 9_000)
    await seed(platform, tenant.tenant_id, other)
    facts = tuple(
        PaymentFact(
            str(uuid.uuid4()), p.position_id, p.debtor_id, cents, "2026-12-03", "flow", "I", "R", "F", False
        )
        for p, cents in ((position, 5_000), (other, 9_000))
    )
    await deliver(platform, PaymentsReceived("F", 1, 1, facts).envelope(tenant.tenant_id))
    assert await promise_row(platform, tenant, d) == ("kept", 20_000)
    [kept] = await outbox(platform, tenant, PromiseKept)
    assert '"kept_on":"2026-12-03"' in kept
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and (row.status, row.total_due_cents) == ("da_lavorare", 30_000)


@pytest.mark.asyncio
async def test_a_broken_promise_brings_its_debtor_back_first(platform: Platform) -> None:
    registered = await make_tenant(platform)  # the daily run reads the Comuni from the registry
    tenant = make_identity(registered.id, f"c-{registered.id.hex[:6]}")
    small, big = str(uuid.uuid4()), str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(small, 20_000))
    op = as_user(tenant, "op-broken")
    with contact_clock(platform, MONDAY):
        assert f"/debtors/{small}" in await take(platform, op)
        status, _ = await record(
            platform, op, small, outcome="promessa_pagamento", promise_amount="200", promise_due="2026-12-01"
        )
        assert status == 303
    await seed(platform, tenant.tenant_id, fact(big, 900_000))
    done = await jobs.contact_daily(platform, date(2026, 12, 2))
    assert done[tenant.tenant_id] == {"promises_broken": 1}
    assert await promise_row(platform, tenant, small) == ("broken", 0)
    assert len(await outbox(platform, tenant, PromiseBroken)) == 1
    with contact_clock(platform, datetime(2026, 12, 2, 10, 0, tzinfo=ROME)):
        # The broken promise comes before a debtor owing forty-five times as much.
        assert f"/debtors/{small}" in await take(platform, op)
