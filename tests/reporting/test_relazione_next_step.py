"""The relazione's proposed next step from what reporting projected (PostgreSQL): an open promise not
yet due waits for its day, a hardship the office is examining or upheld is suspended, a position
never worked is to be worked; none of them is proposed for enforced collection, a refusal still is."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from services.contracts import HardshipFlagged, PromiseMade
from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting import domain_relazione as rel
from services.reporting import handlers_cases
from tests.reporting.helpers import deliver, fact, registered
from tests.reporting.test_case_decisions import relazione_lines
from tests.reporting.test_cases import OPENED, to_cases, viewer
from tests.reporting.test_ledger import outcome


def next_steps(lines: dict[str, rel.Line]) -> dict[str, str]:
    return {
        act: dict(zip(rel.COLUMNS, item.texts, strict=True))["Prossimo passo"] for act, item in lines.items()
    }


@pytest.mark.asyncio
async def test_promises_hardship_and_unworked_positions_are_not_proposed_for_enforcement(
    platform: Platform, tenant: Identity
) -> None:
    tid = tenant.tenant_id
    promised, examined, upheld, unworked, refused = (
        fact(10_000, act_number=act)
        for act in ("PROMESSA", "TUTELA-ESAME", "TUTELA-ACCOLTA", "MAI", "RIFIUTO")
    )
    due = date.today() + timedelta(days=10)
    await deliver(
        platform,
        tid,
        registered(promised, examined, upheld, unworked, refused),
        outcome(promised.debtor_id, "promessa_pagamento", 0),
        PromiseMade(
            str(uuid.uuid4()), promised.debtor_id, str(uuid.uuid4()), 10_000, due.isoformat(), "Olga", OPENED
        ),
        outcome(examined.debtor_id, "difficolta", 0),
        outcome(upheld.debtor_id, "difficolta", 0),
        outcome(refused.debtor_id, "rifiuto", 0),
    )
    cases = {debtor: str(uuid.uuid4()) for debtor in (examined.debtor_id, upheld.debtor_id)}
    await to_cases(
        platform, tid, *(HardshipFlagged(c, d, "Disoccupato", "op-1", OPENED) for d, c in cases.items())
    )
    async with platform.databases["reporting"].unit_of_work(tid) as uow:
        office = viewer(tenant, "comune_admin")
        await handlers_cases.answer(
            uow,
            office,
            uuid.UUID(cases[examined.debtor_id]),
            handlers_cases.Typed("suspended", "Attesa ISEE", ""),
        )
        await handlers_cases.answer(
            uow,
            office,
            uuid.UUID(cases[upheld.debtor_id]),
            handlers_cases.Typed("upheld", "Segnalato ai servizi", ""),
        )
        await uow.commit()

    assert next_steps(await relazione_lines(platform, tid)) == {
        "PROMESSA": f"In attesa del pagamento promesso entro il {due:%d/%m/%Y}",
        "TUTELA-ESAME": "Sospesa: tutela sociale in esame dall'Ufficio",
        "TUTELA-ACCOLTA": "Sospesa: tutela sociale accolta dall'Ufficio",
        "MAI": "Riconsegna al Comune: mai lavorata",
        "RIFIUTO": "Riscossione coattiva",
    }
