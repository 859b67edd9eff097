"""The debtor card's reads in one statement give what the reads gave one by one: the same rows in
the same order, with the same Python types (ids, instants in UTC, days, amounts); the statement
also logs the view and keeps the Comune's settings for the transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from services.contact import (
    repository,
    repository_card,
    repository_conduct,
    repository_evidence,
    repository_outcomes,
    repository_promises,
    repository_scripts,
)
from services.contact.domain import Outcome, OutcomeDecision, Status
from services.contact.domain_conduct import ConductRules
from services.contact.domain_promises import Promise
from services.contact.repository_evidence import Attachment
from services.contracts import PaymentReceived
from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.platform import Platform
from tests.contact.helpers import contact_fact, contacts_registered, deliver, fact, seed


def cells(rows: object) -> list[tuple[object, ...]]:
    """A read's rows (one row, a list of rows, or a list of instants) as tuples of values."""
    listed = rows if isinstance(rows, list) else [rows]
    return [(r,) if isinstance(r, datetime) else tuple(r) for r in listed]


async def _receipts(
    uow: UnitOfWork, tenant_id: uuid.UUID, debtor_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    """Two receipts on the claim of `contact_id`, inserted in the reverse of their upload order."""
    now = datetime.now(UTC)
    for n in (2, 1):
        receipt = Attachment(
            uuid.uuid4(), contact_id, debtor_id, f"r{n}.pdf", "application/pdf", 10 * n,
            f"{n}" * 64, f"k/{n}", "op-1", "Olga", now + timedelta(seconds=n),
        )  # fmt: skip
        await repository_evidence.insert_attachment(uow, tenant_id, receipt)


@pytest.mark.asyncio
async def test_the_card_s_one_statement_reads_what_the_reads_did_one_by_one(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    first, second = fact(d, 120_000), fact(d, 30_055)
    await seed(platform, tenant.tenant_id, first, second)
    await deliver(
        platform,
        contacts_registered(
            tenant.tenant_id, contact_fact(d), contact_fact(d, "mario@example.it", "email", confidence=90)
        ),
    )
    paid = PaymentReceived(str(uuid.uuid4()), first.position_id, d, 20_000, "2026-11-20", "pagoPA")
    await deliver(platform, paid.envelope(tenant.tenant_id))
    debtor_id, now = uuid.UUID(d), datetime.now(UTC).replace(microsecond=123456)
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        for n, outcome in enumerate((Outcome.NON_RISPONDE, Outcome.PROMESSA_PAGAMENTO)):
            callback = now + timedelta(days=1) if n == 0 else None
            decision = OutcomeDecision(outcome, f"nota {n}", Status.DA_LAVORARE, callback)
            contact_id = await repository.record_outcome(
                uow, tenant.tenant_id, debtor_id, "op-1", decision, now + timedelta(minutes=n)
            )
        promise = Promise(amount_cents=10_050, due_on=date(2026, 12, 15))
        await repository_promises.insert_promise(
            uow, tenant.tenant_id, debtor_id, contact_id, "op-1", promise, now
        )
        await _receipts(uow, tenant.tenant_id, debtor_id, contact_id)
        since = now - timedelta(hours=1)
        one = await repository_card.card_reads(uow, tenant.tenant_id, debtor_id, since, "op-9")
        apart = (
            await repository.get_debtor(uow, tenant.tenant_id, debtor_id),
            await repository.debtor_positions_of(uow, tenant.tenant_id, debtor_id),
            await repository.contact_history(uow, tenant.tenant_id, debtor_id),
            await repository_outcomes.payments_of(uow, tenant.tenant_id, debtor_id),
            await repository.active_contacts(uow, tenant.tenant_id, debtor_id),
            await repository_promises.promises_of(uow, tenant.tenant_id, debtor_id),
            await repository_conduct.conversations_since(uow, tenant.tenant_id, debtor_id, since),
            await repository_evidence.attachments_of(uow, tenant.tenant_id, debtor_id),
        )
    assert one is not None
    read = (
        one.debtor,
        one.positions,
        one.history,
        one.payments,
        one.contacts,
        one.promises,
        one.conversations,
        one.evidence,
    )
    for got, expected in zip(read, apart, strict=True):
        mine, theirs = cells(got), cells(expected)
        assert mine == theirs
        for a, b in zip(sum(mine, ()), sum(theirs, ()), strict=True):
            # asyncpg's UUID is a uuid.UUID; a sum of cents, typed integer, came as a Decimal apart.
            numbers = isinstance(a, int | Decimal) and isinstance(b, int | Decimal)
            assert numbers or isinstance(b, type(a)) or isinstance(a, type(b)), (a, b)
            assert not isinstance(a, datetime) or a.utcoffset() == b.utcoffset()
    assert [e.file_name for e in one.evidence] == ["r1.pdf", "r2.pdf"]
    assert len(one.positions) == 2 and len(one.history) == 2 and len(one.contacts) == 2
    assert len(one.payments) == 1 and len(one.promises) == 1 and len(one.conversations) == 1


@pytest.mark.asyncio
async def test_the_card_s_statement_keeps_the_settings_names_the_previous_debtor_and_logs_the_view(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    d, before, elsewhere = (str(uuid.uuid4()) for _ in range(3))
    await seed(platform, tenant.tenant_id, fact(d, 50_000), fact(before, 20_000, name="VERDI ANNA"))
    await seed(platform, other_tenant.tenant_id, fact(elsewhere, 10_000, name="NERI LUCA"))
    debtor_id, since = uuid.UUID(d), datetime.now(UTC) - timedelta(days=1)
    rules = ConductRules(
        patron_day=(1, 20), patron_saint="San Sebastiano", daily_cap=1, promise_days=20,
        sip_template="sip:{numero}@pbx", weights={**ConductRules().weights, "amount": 7},
    )  # fmt: skip
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        await repository_conduct.save_rules(uow, tenant.tenant_id, rules, "sup-1")
        await repository_scripts.save_script(
            uow, tenant.tenant_id, "IMU", ("Passo uno", "Passo due"), "sup-1"
        )
        await repository_scripts.save_labels(uow, tenant.tenant_id, {"rifiuto": "Non vuole"}, "sup-1")
        card = partial(repository_card.card_reads, uow, tenant.tenant_id, since=since, viewer="op-9")
        named = await card(debtor_id, previous=uuid.UUID(before))
        kept = uow.memo.pop(("contact.setup", tenant.tenant_id))
        assert kept == await repository_conduct.setup_of(uow, tenant.tenant_id)
        stranger = await card(debtor_id, previous=uuid.UUID(elsewhere))  # another Comune's debtor
        missing = await card(uuid.uuid4())
        logged = await repository.access.entries(uow, tenant.tenant_id)
    assert kept.rules == rules and kept.scripts == {"IMU": ("Passo uno", "Passo due")}
    assert kept.labels == {"rifiuto": "Non vuole"}
    assert named is not None and named.previous_name == "VERDI ANNA"
    assert stranger is not None and stranger.previous_name is None and missing is None
    views = [(e.user_id, e.action, e.subject_id) for e in logged if e.action == "view_card"]
    assert views == [("op-9", "view_card", debtor_id)] * 2  # the card not found logged nothing


@pytest.mark.asyncio
async def test_the_outcome_s_first_read_locks_its_debtor_and_keeps_the_settings(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await seed(platform, tenant.tenant_id, fact(d, 50_000))
    db, debtor_id = platform.databases["contact"], uuid.UUID(d)
    nowait = sa.text("SELECT id FROM contact.debtors WHERE id = :d FOR UPDATE NOWAIT")
    async with db.unit_of_work(tenant.tenant_id) as holder:
        debtor, promised = await repository_card.locked_debtor(holder, tenant.tenant_id, debtor_id)
        assert debtor is not None and debtor.id == debtor_id and promised is False
        assert ("contact.setup", tenant.tenant_id) in holder.memo
        async with db.unit_of_work(tenant.tenant_id) as other:
            with pytest.raises(DBAPIError, match="could not obtain lock"):
                await other.execute(nowait, {"d": debtor_id})
        assert await repository_card.locked_debtor(holder, tenant.tenant_id, uuid.uuid4()) == (None, False)
