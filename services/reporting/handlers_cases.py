"""Use cases of the Ufficio tributi's worklist: cases in from the contact service, the office's
answers out to it (`CaseAnswered`), the receipts a claim of payment came with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from services.contracts import CaseAnswered
from services.kernel.db import UnitOfWork
from services.kernel.errors import NotFound
from services.kernel.identity import Identity
from services.reporting import domain_cases, repository, repository_cases, repository_portal
from services.reporting.repository import access

PAGE = 200


@dataclass(frozen=True)
class Worklist:
    waiting: list[Any]
    answered: list[Any]
    evidence: dict[uuid.UUID, list[Any]]


async def open_case(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    await repository_cases.open_case(uow, tenant_id, values)


async def add_evidence(uow: UnitOfWork, tenant_id: uuid.UUID, values: dict[str, Any]) -> None:
    await repository_cases.add_evidence(uow, tenant_id, values)


async def worklist(uow: UnitOfWork, ident: Identity) -> Worklist:
    """The cases waiting for the office and the latest answered, with their receipts; the view is
    recorded in the access log (it names debtors)."""
    waiting = await repository_cases.worklist(uow, ident.tenant_id, True, PAGE)
    answered = await repository_cases.worklist(uow, ident.tenant_id, False, PAGE)
    files = await repository_cases.evidence_of(uow, ident.tenant_id, [c.id for c in [*waiting, *answered]])
    evidence: dict[uuid.UUID, list[Any]] = {}
    for f in files:
        evidence.setdefault(f.case_id, []).append(f)
    await access.record(uow, ident.tenant_id, ident.user_id, "view_cases", None, f"{len(waiting)} in attesa")
    return Worklist(waiting, answered, evidence)


@dataclass(frozen=True)
class CaseDetail:
    case: Any
    answers: list[Any]
    files: list[Any]
    # The debtor's open positions, to name in a cancellation or a correction.
    positions: list[Any]
    # Every position of the debtor's by id: the act numbers an answer names.
    acts: dict[uuid.UUID, str]

    @property
    def open(self) -> bool:
        """Still waiting for its final answer (unanswered, or suspended)."""
        return self.case.answer is None or self.case.answer in domain_cases.NOT_FINAL


async def case_detail(uow: UnitOfWork, ident: Identity, case_id: uuid.UUID) -> CaseDetail:
    found = await repository_cases.get_case(uow, ident.tenant_id, case_id)
    if found is None:
        raise NotFound()
    answers = await repository_cases.answers_of(uow, ident.tenant_id, case_id)
    files = await repository_cases.evidence_of(uow, ident.tenant_id, [case_id])
    positions = await repository_cases.open_positions(uow, ident.tenant_id, found.debtor_id)
    every = await repository_portal.debtor_positions(uow, ident.tenant_id, found.debtor_id)
    await access.record(uow, ident.tenant_id, ident.user_id, "view_case", found.debtor_id)
    return CaseDetail(found, answers, files, positions, {p.position_id: p.act_number for p in every})


@dataclass(frozen=True)
class Typed:
    """The answer as the office typed it: the answer, the note, the corrected amount, the
    positions ticked."""

    answer: str
    note: str
    corrected: str
    position_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preview:
    """What an answer that changes positions will do, for the office to confirm: each position
    (act, amount before and after, in a plan), and the assigned total's change."""

    answer: domain_cases.Answer
    positions: list[tuple[domain_cases.OpenPosition, int]]
    typed: Typed

    @property
    def assigned_delta_cents(self) -> int:
        return sum(after - p.amount_cents for p, after in self.positions)

    @property
    def plans_query(self) -> str | None:
        """The query of the payments service's block showing each active plan of the positions
        as the answer would leave it (`payments/plans/after-answer`); None when none is in a plan."""
        if not any(p.in_active_plan for p, _ in self.positions):
            return None
        a = self.answer
        pairs = [("esito", a.answer), ("importo", str(a.corrected_cents or 0))]
        return urlencode(pairs + [("posizione", str(p)) for p in a.position_ids])


def needs_confirmation(typed: Typed) -> bool:
    """A cancellation or a correction changes the credit: it is shown and confirmed first."""
    return typed.answer in domain_cases.ON_POSITIONS


async def _checked(
    uow: UnitOfWork, ident: Identity, case_id: uuid.UUID, typed: Typed, lock: bool
) -> tuple[Any, dict[uuid.UUID, domain_cases.OpenPosition], domain_cases.Answer]:
    domain_cases.check_form(typed.answer, typed.note)
    found = await repository_cases.get_case(uow, ident.tenant_id, case_id, lock=lock)
    if found is None:
        raise NotFound()
    domain_cases.may_answer(found.answer)
    rows = await repository_cases.open_positions(uow, ident.tenant_id, found.debtor_id, lock=lock)
    offered = {r.position_id: repository_cases.as_open_position(r) for r in rows}
    checked = domain_cases.check_answer(
        typed.answer, typed.note, typed.corrected, typed.position_ids, offered, found.kind
    )
    return found, offered, checked


async def preview_answer(uow: UnitOfWork, ident: Identity, case_id: uuid.UUID, typed: Typed) -> Preview:
    """The answer checked as `answer` checks it, and what it would change; nothing is written."""
    found, offered, checked = await _checked(uow, ident, case_id, typed, lock=False)
    await access.record(
        uow, ident.tenant_id, ident.user_id, "view_case", found.debtor_id, "anteprima della risposta"
    )
    after = {e.position_id: 0 if e.cancel else (e.new_cents or 0) for e in _effects(checked)}
    shown = [(offered[p], after.get(p, offered[p].amount_cents)) for p in checked.position_ids]
    return Preview(checked, shown, typed)


def _effects(checked: domain_cases.Answer) -> list[domain_cases.Effect]:
    return domain_cases.effects(checked.answer, checked.position_ids, checked.corrected_cents)


async def answer(
    uow: UnitOfWork, ident: Identity, case_id: uuid.UUID, typed: Typed, now: datetime | None = None
) -> uuid.UUID:
    """The office answers a case: kept with who gave it and when; a cancellation or a correction
    changes its positions and the assigned total here, in this transaction, and everything is sent
    to the contact and payments services (`CaseAnswered`). A case already answered (other than
    suspended) is refused, also when two answers race: the case row is locked first."""
    found, offered, checked = await _checked(uow, ident, case_id, typed, lock=True)
    at = now or datetime.now(UTC)
    values = {
        "answer": checked.answer,
        "note": checked.note,
        "corrected_cents": checked.corrected_cents,
        "position_ids": list(checked.position_ids),
        "answered_by": ident.user_id,
        "answered_by_name": ident.display_name,
    }
    answer_id = await repository_cases.record_answer(uow, ident.tenant_id, case_id, values, at)
    effects = _effects(checked)
    amounts = {p: offered[p].amount_cents for p in checked.position_ids}
    delta = await repository_cases.apply_effects(uow, ident.tenant_id, effects, amounts, at)
    # A cancelled position leaves the assigned positions as well as the assigned amount.
    cancelled = sum(1 for e in effects if e.cancel and e.position_id in amounts)
    if delta or cancelled:
        await repository.bump_totals(uow, ident.tenant_id, assigned_cents=delta, positions=-cancelled)
    event = CaseAnswered(
        answer_id=str(answer_id),
        case_id=str(case_id),
        debtor_id=str(found.debtor_id),
        kind=found.kind,
        answer=checked.answer,
        note=checked.note,
        corrected_cents=checked.corrected_cents or 0,
        answered_by=ident.display_name,
        answered_at=at.isoformat(),
        position_ids=tuple(str(p) for p in checked.position_ids),
    )
    await uow.publish([event.envelope(ident.tenant_id, uow.correlation_id)])
    label = domain_cases.ANSWER_LABELS.get(checked.answer, checked.answer)
    await access.record(uow, ident.tenant_id, ident.user_id, "answer_case", found.debtor_id, label)
    return answer_id


async def reapply_decisions(uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
    """Re-apply every recorded cancellation and correction to the positions, in answer order
    (the replay calls it once the positions are rebuilt from events), then recount the assigned
    total over the open positions (what the live answers keep it at)."""
    for row in await repository_cases.decisions(uow, tenant_id):
        ids = tuple(row.position_ids)
        effects = domain_cases.effects(row.answer, ids, row.corrected_cents)
        if effects:
            amounts = await repository_cases.amounts_of(uow, tenant_id, list(ids))
            await repository_cases.apply_effects(uow, tenant_id, effects, amounts, row.answered_at)
    await repository_cases.recount_assigned(uow, tenant_id)


async def evidence_file(uow: UnitOfWork, ident: Identity, evidence_id: uuid.UUID) -> Any:
    found = await repository_cases.evidence(uow, ident.tenant_id, evidence_id)
    if found is None:
        raise NotFound()
    await access.record(
        uow, ident.tenant_id, ident.user_id, "download_evidence", found.case_id, found.file_name
    )
    return found
