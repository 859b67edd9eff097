"""The Ufficio tributi records the Comune's acts that interrupt the limitation of a debtor's
positions (c.c. art. 2943), or takes one back entered by mistake: kept here, counted by every
limitation figure of the portal, the debtor's file and the relazione (`kernel.limitation`), and
sent to payments and contact (`LimitationInterrupted`), which count it the same way."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from services.contracts import LimitationInterrupted
from services.kernel.db import UnitOfWork
from services.kernel.errors import Conflict, DomainError, NotFound
from services.kernel.formats import format_rome
from services.kernel.identity import Identity
from services.kernel.limitation import act_served
from services.reporting import domain_portal as dp
from services.reporting import repository_limitation_acts as acts
from services.reporting import repository_portal as rp
from services.reporting.domain_limitation_acts import ActRequest, check_interrupts
from services.reporting.repository import access


def _said(kind: str, served_on: date, reference: str) -> str:
    return act_served(kind, served_on) + (f" ({reference})" if reference else "")


async def record_act(
    uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID, act: ActRequest, now: datetime
) -> uuid.UUID:
    """Keep the act for the positions it names, each still owed and not yet time-barred on the
    day it was served (as the payments and acts already recorded leave it); all or nothing."""
    tenant = ident.tenant_id
    positions = {p.position_id: p for p in await rp.debtor_positions(uow, tenant, debtor_id)}
    if not positions:
        raise NotFound("Debitore non trovato.")
    if any(p not in positions for p in act.position_ids):
        raise DomainError("Posizione non valida.", field="position_id")
    kept = await acts.of_debtor(uow, tenant, debtor_id)
    _refuse_repeated(kept, act)
    payments = await rp.debtor_payments(uow, tenant, debtor_id, list(positions))
    served = dp.served_days(kept)
    for pid in act.position_ids:
        p = positions[pid]
        check_interrupts(p, dp.barred_on(p, payments, served.get(pid, ())), act.served_on)
    act_id = await acts.record(uow, tenant, debtor_id, act, (ident.user_id, ident.display_name), now)
    event = LimitationInterrupted(
        act_id=str(act_id),
        debtor_id=str(debtor_id),
        position_ids=tuple(str(p) for p in act.position_ids),
        served_on=act.served_on.isoformat(),
        kind=act.kind,
    )
    await uow.publish([event.envelope(tenant, uow.correlation_id)])
    said = _said(act.kind, act.served_on, act.reference)
    await access.record(uow, tenant, ident.user_id, "record_limitation_act", debtor_id, said)
    return act_id


def _refuse_repeated(recorded: list[Any], act: ActRequest) -> None:
    """The same act (kind, day, one of its positions, the same reference or none) among the
    debtor's `recorded` ones not withdrawn: a form sent twice, or the same notice entered again."""
    for kept in recorded:
        same = (kept.kind, kept.served_on) == (act.kind, act.served_on) and kept.withdrawn_at is None
        if same and set(kept.position_ids or ()) & set(act.position_ids) and kept.reference == act.reference:
            raise Conflict(
                "Lo stesso atto risulta già registrato per questa posizione: "
                f"{_said(kept.kind, kept.served_on, kept.reference)} (il {format_rome(kept.recorded_at)}, "
                f"{kept.recorded_by_name}). Se è un altro atto dello stesso giorno, indica il suo riferimento.",
                field="served_on",
            )


async def withdraw_act(
    uow: UnitOfWork, ident: Identity, debtor_id: uuid.UUID, act_id: uuid.UUID, now: datetime
) -> None:
    """Take back an act recorded by mistake: from now on it interrupts nothing, here and in the
    other services. An act already taken back is refused, saying when and by whom."""
    tenant = ident.tenant_id
    found = await acts.locked(uow, tenant, debtor_id, act_id)
    if found is None:
        raise NotFound("Atto non trovato.")
    if found.withdrawn_at is not None:
        raise Conflict(
            f"L'atto è già stato annullato il {format_rome(found.withdrawn_at)} da {found.withdrawn_by_name}."
        )
    position_ids = await acts.withdraw(uow, tenant, act_id, ident.display_name, now)
    event = LimitationInterrupted(
        act_id=str(act_id),
        debtor_id=str(debtor_id),
        position_ids=tuple(str(p) for p in position_ids),
        served_on=found.served_on.isoformat(),
        kind=found.kind,
        withdrawn=True,
    )
    await uow.publish([event.envelope(tenant, uow.correlation_id)])
    said = _said(found.kind, found.served_on, found.reference)
    await access.record(uow, tenant, ident.user_id, "withdraw_limitation_act", debtor_id, said)
