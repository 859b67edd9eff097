from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

import pytest

from services.contact import repository_lease, repository_outcomes
from services.contact.consumers import _record, queue_builder
from services.contracts import (
    CaseAnswered,
    ContactsRegistered,
    DebtorContactUpdated,
    LimitationInterrupted,
    NoticeIssued,
    NoticeSent,
    PaymentReceived,
    PaymentRefunded,
    PaymentRevoked,
    PaymentsReceived,
    PlanCreated,
    PlanLapsed,
    PlanReamounted,
    PositionFact,
    PositionsRegistered,
)
from services.kernel.envelope import Envelope, UndecodableMessage
from services.kernel.identity import Identity
from services.platform import Platform
from tests.contact.helpers import (
    card_contacts,
    contact_fact,
    contact_updated,
    contacts_registered,
    debtor,
    deliver,
    fact,
    registered,
    scalar,
    uncapped,
)


def test_queue_builder_listens_to_positions_and_contacts() -> None:
    assert queue_builder.name == "contact.queue_builder"
    assert set(queue_builder.handlers) == {
        PositionsRegistered.routing_key(),
        ContactsRegistered.routing_key(),
        DebtorContactUpdated.routing_key(),
        PaymentReceived.routing_key(),
        PaymentsReceived.routing_key(),
        PaymentRefunded.routing_key(),
        PaymentRevoked.routing_key(),
        NoticeSent.routing_key(),
        NoticeIssued.routing_key(),
        PlanCreated.routing_key(),
        PlanLapsed.routing_key(),
        PlanReamounted.routing_key(),
        CaseAnswered.routing_key(),
        LimitationInterrupted.routing_key(),
    }


@pytest.mark.asyncio
async def test_same_envelope_twice_has_one_effect(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    env = registered(tenant.tenant_id, fact(d, 12_345), fact(d, 55))
    await deliver(platform, env)
    await deliver(platform, env)
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None
    assert (row.total_due_cents, row.positions_count, row.tenant_id) == (12_400, 2, tenant.tenant_id)
    claimed = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT count(*) FROM contact.inbox WHERE message_id = :m",
        m=env.message_id,
    )
    assert claimed == 1


@pytest.mark.asyncio
async def test_repeated_position_in_new_message_is_not_double_counted(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    shared = fact(d, 1_000)
    await deliver(platform, registered(tenant.tenant_id, shared))
    await deliver(platform, registered(tenant.tenant_id, shared, fact(d, 1)))
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None
    assert (row.total_due_cents, row.positions_count) == (1_001, 2)


@pytest.mark.asyncio
async def test_events_land_in_their_own_tenant(
    platform: Platform, tenant: Identity, other_tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    await deliver(platform, registered(tenant.tenant_id, fact(d, 500)))
    assert await debtor(platform, other_tenant.tenant_id, d) is None
    assert await debtor(platform, tenant.tenant_id, d) is not None


@pytest.mark.asyncio
async def test_contacts_registered_then_one_deactivated(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    mobile, landline = contact_fact(d, "+393471234567"), contact_fact(d, "+39061234567", confidence=40)
    mail = contact_fact(d, "mario@example.it", kind="email")
    # The contacts arrive before the debtor's positions: they are kept all the same.
    await deliver(platform, contacts_registered(tenant.tenant_id, mail, landline, mobile))
    assert await debtor(platform, tenant.tenant_id, d) is None
    assert await card_contacts(platform, tenant.tenant_id, d) == [
        ("phone", "+393471234567"),
        ("phone", "+39061234567"),
        ("email", "mario@example.it"),
    ]
    await deliver(platform, contact_updated(tenant.tenant_id, mobile, active=False))
    await deliver(platform, registered(tenant.tenant_id, fact(d, 500)))
    assert await debtor(platform, tenant.tenant_id, d) is not None
    assert await card_contacts(platform, tenant.tenant_id, d) == [
        ("phone", "+39061234567"),
        ("email", "mario@example.it"),
    ]
    # A late copy of the registration does not bring the number marked wrong back.
    await deliver(platform, contacts_registered(tenant.tenant_id, mobile))
    assert ("phone", "+393471234567") not in await card_contacts(platform, tenant.tenant_id, d)
    row = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT found_on::text || ' ' || confidence || ' ' || active FROM contact.debtor_contacts"
        " WHERE contact_id = :c",
        c=uuid.UUID(mobile.contact_id),
    )
    assert row == "2026-11-20 60 false"


@pytest.mark.asyncio
async def test_contact_added_by_an_operator_is_stored(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    traced = contact_fact(
        d, "alfa@pec.example.it", kind="pec", source="InfoTrace", found_on="2026-11-10", confidence=85
    )
    await deliver(platform, contact_updated(tenant.tenant_id, traced, active=True))
    assert await card_contacts(platform, tenant.tenant_id, d) == [("pec", "alfa@pec.example.it")]
    provenance = (
        "SELECT found_on::text || ' ' || confidence FROM contact.debtor_contacts WHERE contact_id = :c"
    )
    stored = await scalar(platform, tenant.tenant_id, provenance, c=uuid.UUID(traced.contact_id))
    assert stored == "2026-11-10 85"
    # An event written before the provenance fields existed is still understood, provenance unknown.
    older = contact_fact(d, "+393331112222")
    envelope = contact_updated(tenant.tenant_id, older, active=True)
    payload = {k: v for k, v in envelope.payload.items() if k not in ("found_on", "confidence")}
    await deliver(platform, replace(envelope, payload=payload))
    unknown = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT found_on IS NULL AND confidence IS NULL FROM contact.debtor_contacts WHERE contact_id = :c",
        c=uuid.UUID(older.contact_id),
    )
    assert unknown is True


@pytest.mark.asyncio
async def test_contacts_delivered_twice_are_one_row(platform: Platform, tenant: Identity) -> None:
    d = str(uuid.uuid4())
    env = contacts_registered(tenant.tenant_id, contact_fact(d))
    await deliver(platform, env)
    await deliver(platform, env)
    # the same facts again in a new message (a re-published batch) still make one row
    await deliver(
        platform, contacts_registered(tenant.tenant_id, *ContactsRegistered.from_envelope(env).contacts)
    )
    count = await scalar(
        platform,
        tenant.tenant_id,
        "SELECT count(*) FROM contact.debtor_contacts WHERE debtor_id = :d",
        d=uuid.UUID(d),
    )
    assert count == 1


def _paid(tenant: Identity, position: PositionFact, cents: int, payment_id: str | None = None) -> Envelope:
    return PaymentReceived(
        payment_id=payment_id or str(uuid.uuid4()),
        position_id=position.position_id,
        debtor_id=position.debtor_id,
        amount_cents=cents,
        paid_on="2026-11-20",
        recorded_by="operatore",
    ).envelope(tenant.tenant_id)


async def _next(platform: Platform, tenant: Identity, user: str) -> uuid.UUID | None:
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        taken = await repository_lease.take_next(uow, tenant.tenant_id, user, uncapped())
        await uow.commit()
    return taken


@pytest.mark.asyncio
async def test_payments_lower_what_is_due_and_a_paid_debtor_leaves_the_queue(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    position = fact(d, 10_000)
    payment_id = str(uuid.uuid4())
    await deliver(platform, _paid(tenant, position, 3_000, payment_id))  # before its position
    await deliver(platform, registered(tenant.tenant_id, position))
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.total_due_cents == 7_000
    await deliver(platform, _paid(tenant, position, 3_000, payment_id))  # the same payment, republished
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.total_due_cents == 7_000
    await deliver(platform, _paid(tenant, position, 7_000))
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.total_due_cents == 0
    assert await _next(platform, tenant, "operatore-1") is None  # nobody is called about a paid debt


@pytest.mark.parametrize(
    ("found_on", "confidence", "kind"),
    [
        ("10/11/2026", 60, "phone"),
        ("2026-13-01", 60, "phone"),
        ("2026-11-10", 101, "phone"),
        ("", -5, "phone"),
        ("2026-11-10", 60, "fax"),
    ],
)
def test_a_malformed_contact_datum_is_undecodable(found_on: str, confidence: int, kind: str) -> None:
    """Dead-lettered at once instead of failing three times on the same value."""
    fact = contact_fact(str(uuid.uuid4()), kind=kind, found_on=found_on, confidence=confidence)
    with pytest.raises(UndecodableMessage):
        _record(fact, fact.found_on, fact.confidence, True)
    assert _record(replace(fact, kind="phone"), "2026-11-10", 60, True).found_on == date(2026, 11, 10)


@pytest.mark.asyncio
async def test_phones_that_arrive_before_their_debtor_count_in_its_grade(
    platform: Platform, tenant: Identity
) -> None:
    """`ContactsRegistered` may be handled before the `PositionsRegistered` that creates the debtor
    (two queues of one consumer, no order between events): the best phone's reliability is read
    when the debtor comes, not left empty (found by bench/chaos.py)."""
    d = str(uuid.uuid4())
    await deliver(platform, contacts_registered(tenant.tenant_id, contact_fact(d, confidence=80)))
    await deliver(platform, registered(tenant.tenant_id, fact(d, 10_000)))
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.best_confidence == 80


@pytest.mark.asyncio
async def test_a_refund_or_a_revocation_makes_the_debtor_owe_again_once(
    platform: Platform, tenant: Identity
) -> None:
    d = str(uuid.uuid4())
    position = fact(d, 10_000)
    payment_id = str(uuid.uuid4())
    await deliver(platform, registered(tenant.tenant_id, position))
    await deliver(platform, _paid(tenant, position, 10_000, payment_id))
    assert await _next(platform, tenant, "operatore-1") is None
    refund = PaymentRefunded(
        str(uuid.uuid4()), payment_id, position.position_id, d, 3_000, "2026-11-25", "doppio", "Anna"
    ).envelope(tenant.tenant_id)
    await deliver(platform, refund)
    await deliver(platform, refund)
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.total_due_cents == 3_000
    assert await _next(platform, tenant, "operatore-1") == uuid.UUID(d)  # owing again: back in the queue
    revoked = PaymentRevoked(payment_id, position.position_id, d, 10_000, "01234567890123456", "R-1", "F-1")
    for _ in range(2):  # republished in a new envelope: once
        await deliver(platform, revoked.envelope(tenant.tenant_id))
    late_refund = PaymentRefunded(
        str(uuid.uuid4()), payment_id, position.position_id, d, 1_000, "2026-11-26", "altro", "Anna"
    ).envelope(tenant.tenant_id)
    await deliver(platform, late_refund)  # of a revoked payment: takes nothing more back
    row = await debtor(platform, tenant.tenant_id, d)
    assert row is not None and row.total_due_cents == 10_000  # not 13,000
    async with platform.databases["contact"].unit_of_work(tenant.tenant_id) as uow:
        history = await repository_outcomes.payments_of(uow, tenant.tenant_id, uuid.UUID(d))
    assert sorted((h.kind, h.amount_cents) for h in history) == [
        ("payment", 10_000),
        ("refund", -3_000),
        ("revocation", -7_000),
    ]
