"""Use cases of the Ufficio tributi's worklist: cases in from the contact service, the office's
answers out to it (`CaseAnswered`), the receipts a claim of payment came with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.contracts import CaseAnswered
from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.reporting import domain_cases, repository_cases
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


async def case_detail(
    uow: UnitOfWork, ident: Identity, case_id: uuid.UUID
) -> tuple[Any, list[Any], list[Any]]:
    found = await repository_cases.get_case(uow, ident.tenant_id, case_id)
    if found is None:
        raise NotFound()
    answers = await repository_cases.answers_of(uow, ident.tenant_id, case_id)
    files = await repository_cases.evidence_of(uow, ident.tenant_id, [case_id])
    await access.record(uow, ident.tenant_id, ident.user_id, "view_case", found.debtor_id)
    return found, answers, files


async def answer(
    uow: UnitOfWork,
    ident: Identity,
    case_id: uuid.UUID,
    raw: tuple[str, str, str],
    now: datetime | None = None,
) -> uuid.UUID:
    """The office answers a case (`raw`: answer, note, corrected amount as typed); kept with who
    gave it and when, and sent to the contact service (`CaseAnswered`)."""
    checked = domain_cases.check_answer(*raw)
    found = await repository_cases.get_case(uow, ident.tenant_id, case_id, lock=True)
    if found is None:
        raise NotFound()
    if checked.answer == "corrected" and found.kind not in ("dispute", "already_paid"):
        raise DomainError(
            "L'importo si corregge solo per una contestazione o un pagamento dichiarato.", field="esito"
        )
    at = now or datetime.now(UTC)
    values = {
        "answer": checked.answer,
        "note": checked.note,
        "corrected_cents": checked.corrected_cents,
        "answered_by": ident.user_id,
        "answered_by_name": ident.display_name,
    }
    answer_id = await repository_cases.record_answer(uow, ident.tenant_id, case_id, values, at)
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
    )
    await uow.publish([event.envelope(ident.tenant_id, uow.correlation_id)])
    await access.record(uow, ident.tenant_id, ident.user_id, "answer_case", found.debtor_id, checked.answer)
    return answer_id


async def evidence_file(uow: UnitOfWork, ident: Identity, evidence_id: uuid.UUID) -> Any:
    found = await repository_cases.evidence(uow, ident.tenant_id, evidence_id)
    if found is None:
        raise NotFound()
    await access.record(
        uow, ident.tenant_id, ident.user_id, "download_evidence", found.case_id, found.file_name
    )
    return found
