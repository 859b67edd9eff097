"""Event handlers of the payments service."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.contracts import (
    CaseAnswered,
    ChargesRecomputed,
    ContactFact,
    ContactsRegistered,
    DebtorContactUpdated,
    JobRequested,
    LimitationInterrupted,
    PlanCreated,
    PlanExtended,
    PlanLapsed,
    PlanReamounted,
    PositionsRegistered,
)
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope, UndecodableMessage
from services.kernel.messaging import Consumer
from services.kernel.storage import ObjectStorage
from services.payments import (
    domain_answers,
    handlers,
    handlers_answers,
    handlers_gpd,
    handlers_jobs,
    handlers_positions,
)
from services.payments.repository_emails import KEPT_KINDS, EmailRecord, keep_emails


async def on_positions_registered(uow: UnitOfWork, envelope: Envelope) -> None:
    """Open a balance for every newly registered position."""
    event = PositionsRegistered.from_envelope(envelope)
    await handlers.register_positions(uow, envelope.tenant_id, event.positions)


def _decision(envelope: Envelope) -> tuple[domain_answers.Decision | None, datetime]:
    event = CaseAnswered.from_envelope(envelope)
    try:
        decided = domain_answers.decision(event.answer, event.position_ids, event.corrected_cents)
        at = datetime.fromisoformat(event.answered_at)
    except ValueError as exc:
        raise UndecodableMessage(f"bad case-answered event: {exc}") from exc
    if at.tzinfo is None:
        raise UndecodableMessage("case-answered event: naive answered_at")
    return decided, at


async def on_case_answered(uow: UnitOfWork, envelope: Envelope) -> None:
    """The Ufficio tributi cancelled positions (no longer due) or corrected one's amount."""
    decided, at = _decision(envelope)
    if decided is not None:
        await handlers_answers.office_decided(uow, envelope.tenant_id, decided, at)


async def on_limitation_interrupted(uow: UnitOfWork, envelope: Envelope) -> None:
    """The Ufficio tributi recorded (or took back) an act interrupting positions' limitation."""
    event = LimitationInterrupted.from_envelope(envelope)
    try:
        act_id, position_ids, served_on = event.parsed()
    except ValueError as exc:
        raise UndecodableMessage(f"bad limitation-interrupted event: {exc}") from exc
    await handlers_positions.keep_limitation_act(
        uow, envelope.tenant_id, act_id, position_ids, served_on, event.withdrawn
    )


balances = Consumer(
    name="payments.balances",
    handlers={
        PositionsRegistered.routing_key(): on_positions_registered,
        CaseAnswered.routing_key(): on_case_answered,
        LimitationInterrupted.routing_key(): on_limitation_interrupted,
    },
)


async def on_contacts_registered(uow: UnitOfWork, envelope: Envelope) -> None:
    """Keep the e-mail, PEC and postal addresses a batch brought in."""
    event = ContactsRegistered.from_envelope(envelope)
    records = [_email(f) for f in event.contacts if f.kind in KEPT_KINDS]
    await keep_emails(uow, envelope.tenant_id, records)


async def on_debtor_contact_updated(uow: UnitOfWork, envelope: Envelope) -> None:
    """An address added by tracing or by hand, or marked wrong (inactive) in ingest."""
    event = DebtorContactUpdated.from_envelope(envelope)
    if event.kind in KEPT_KINDS:
        await keep_emails(uow, envelope.tenant_id, [_email(event)])


def _email(datum: ContactFact | DebtorContactUpdated) -> EmailRecord:
    try:
        contact_id, debtor_id = uuid.UUID(datum.contact_id), uuid.UUID(datum.debtor_id)
    except ValueError as exc:
        raise UndecodableMessage(f"bad contact datum: {exc}") from exc
    return EmailRecord(contact_id, debtor_id, datum.kind, datum.value.strip(), datum.active)


emails = Consumer(
    name="payments.emails",
    handlers={
        ContactsRegistered.routing_key(): on_contacts_registered,
        DebtorContactUpdated.routing_key(): on_debtor_contact_updated,
    },
)


class JobRunner:
    """Runs `JobRequested`; needs object storage, so it is built from the service context."""

    def __init__(self, storage: ObjectStorage) -> None:
        self.storage = storage

    async def __call__(self, uow: UnitOfWork, envelope: Envelope) -> None:
        event = JobRequested.from_envelope(envelope)
        try:
            job_id = uuid.UUID(event.job_id)
        except ValueError as exc:
            raise UndecodableMessage(f"bad job id {event.job_id!r}") from exc
        await handlers_jobs.run_job(uow, envelope.tenant_id, job_id, self.storage)


async def job_failed(uow: UnitOfWork, envelope: Envelope, error: Exception) -> None:
    """The last attempt failed: the job is marked failed, so its page stops waiting."""
    try:
        job_id = uuid.UUID(JobRequested.from_envelope(envelope).job_id)
    except ValueError:
        return
    await handlers_jobs.fail_job(uow, envelope.tenant_id, job_id)


def jobs(storage: ObjectStorage) -> Consumer:
    return Consumer(
        name="payments.jobs",
        handlers={JobRequested.routing_key(): JobRunner(storage)},
        on_final_failure=job_failed,
    )


def _ids(values: tuple[str, ...]) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(v) for v in values]
    except ValueError as exc:
        raise UndecodableMessage(f"bad id: {exc}") from exc


async def on_case_answered_gpd(uow: UnitOfWork, envelope: Envelope) -> None:
    """A position cancelled or re-amounted by the office: its GPD publication no longer stands."""
    decided, _ = _decision(envelope)
    if decided is not None:
        await handlers_answers.withdraw_from_pagopa(uow, envelope.tenant_id, decided)


async def on_charges_recomputed(uow: UnitOfWork, envelope: Envelope) -> None:
    """A plan's c.803 charges were computed again: what GPD holds of the notice they replaced goes."""
    event = ChargesRecomputed.from_envelope(envelope)
    [plan_id] = _ids((event.plan_id,))
    await handlers_answers.withdraw_replaced_charges(uow, envelope.tenant_id, plan_id)


async def on_plan_created(uow: UnitOfWork, envelope: Envelope) -> None:
    """The positions put in the plan stand no more alone: their GPD positions are invalidated."""
    event = PlanCreated.from_envelope(envelope)
    why = "posizione inserita in un piano di rateizzazione"
    await handlers_gpd.invalidate_replaced(uow, envelope.tenant_id, _ids(event.position_ids), why)


async def on_plan_extended(uow: UnitOfWork, envelope: Envelope) -> None:
    """The plan's installments were replaced: its GPD position (old installments) is invalidated."""
    event = PlanExtended.from_envelope(envelope)
    why = "piano prorogato, rate sostituite"
    await handlers_gpd.invalidate_replaced(uow, envelope.tenant_id, _ids((event.plan_id,)), why)


async def on_plan_reamounted(uow: UnitOfWork, envelope: Envelope) -> None:
    """A correction or a cancellation spread the plan's installments again, or cancelled the plan:
    its GPD position (old installments) is invalidated."""
    event = PlanReamounted.from_envelope(envelope)
    why = (
        "posizioni annullate dall'Ufficio tributi (sgravio): piano annullato"
        if event.installments_after == 0
        else "decisione dell'Ufficio tributi (correzione o sgravio), rate del piano ricalcolate"
    )
    await handlers_gpd.invalidate_replaced(uow, envelope.tenant_id, _ids((event.plan_id,)), why)


async def on_plan_lapsed(uow: UnitOfWork, envelope: Envelope) -> None:
    """A lapsed plan's installments may not be paid: its GPD position is invalidated."""
    event = PlanLapsed.from_envelope(envelope)
    why = "piano decaduto, residuo dovuto in un'unica soluzione"
    await handlers_gpd.invalidate_replaced(uow, envelope.tenant_id, _ids((event.plan_id,)), why)


# Calls pagoPA inside the consumer's transaction: an event at a time, a call per published position.
gpd = Consumer(
    name="payments.gpd",
    handlers={
        PlanCreated.routing_key(): on_plan_created,
        PlanExtended.routing_key(): on_plan_extended,
        PlanLapsed.routing_key(): on_plan_lapsed,
        PlanReamounted.routing_key(): on_plan_reamounted,
        CaseAnswered.routing_key(): on_case_answered_gpd,
        ChargesRecomputed.routing_key(): on_charges_recomputed,
    },
)
