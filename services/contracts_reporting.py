"""Event contracts of the reporting service: the Ufficio tributi's answers to the cases the contact
service sent it (disputes, claims of payment already made, hardship, deceased debtors)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from services.contracts_base import Event, _typed_fields

# The cases' kinds and the office's answers, as both services name them to people.
CASE_KIND_LABELS: dict[str, str] = {
    "dispute": "Contestazione",
    "already_paid": "Dichiara di aver già pagato",
    "hardship": "Difficoltà economica (tutela sociale)",
    "deceased": "Contribuente deceduto",
}
CASE_ANSWER_LABELS: dict[str, str] = {
    "upheld": "Accolta",
    "rejected": "Respinta: riprendere la riscossione",
    "cancelled": "Annullata (sgravio)",
    "corrected": "Importo corretto",
    "suspended": "Sospesa in attesa di verifiche",
}


@dataclass(frozen=True)
class CaseAnswered(Event):
    """The office answered the case opened by the call `case_id` (its `kind`: dispute, already_paid,
    hardship, deceased): `answer` is upheld, rejected, cancelled (sgravio of the positions
    `position_ids`), corrected (the amount owed on the one position in `position_ids` is now
    `corrected_cents`) or suspended; `note` says why. A case gets one final answer, after any
    number of "suspended" ones. Events written before `position_ids` decode with () : the answer
    then names no position (a cancellation of old stopped the debtor's calls, nothing more)."""

    TYPE: ClassVar[str] = "reporting.case_answered"
    VERSION: ClassVar[int] = 1
    answer_id: str
    case_id: str
    debtor_id: str
    kind: str
    answer: str
    note: str
    corrected_cents: int
    answered_by: str
    answered_at: str
    position_ids: tuple[str, ...] = ()

    @classmethod
    def _from_payload(cls, payload: dict[str, Any]) -> CaseAnswered:
        fields = _typed_fields(cls, payload)
        if "position_ids" in fields:
            if not isinstance(fields["position_ids"], list):
                raise TypeError("position_ids must be a list")
            fields["position_ids"] = tuple(str(p) for p in fields["position_ids"])
        return cls(**fields)


@dataclass(frozen=True)
class ReportRequested(Event):
    """The reporting service's own work item: the relazione di scarico `report_id` (already recorded
    as queued) waits for the reporting worker, which writes its PDF, XLSX and CSV."""

    TYPE: ClassVar[str] = "reporting.job_requested"
    VERSION: ClassVar[int] = 1
    report_id: str


@dataclass(frozen=True)
class LimitationInterrupted(Event):
    """The Ufficio tributi recorded an act of the Comune that interrupts the limitation of the
    debtor's positions `position_ids` (c.c. art. 2943: a reminder, a formal demand, an injunction,
    an enforceable assessment served on the debtor), served on `served_on` (ISO date); `kind` is a
    key of `kernel.limitation.ACT_KINDS`. `withdrawn`: the office took the record back (entered
    by mistake) and the act counts for nothing; the whole act is then sent again so, and a
    withdrawal stays one whatever order the two arrive in."""

    TYPE: ClassVar[str] = "reporting.limitation_interrupted"
    VERSION: ClassVar[int] = 1
    act_id: str
    debtor_id: str
    position_ids: tuple[str, ...]
    served_on: str
    kind: str
    withdrawn: bool = False

    def parsed(self) -> tuple[uuid.UUID, tuple[uuid.UUID, ...], date]:
        """The act's id, its positions' ids and its day as values (ValueError when malformed)."""
        positions = tuple(uuid.UUID(p) for p in self.position_ids)
        return uuid.UUID(self.act_id), positions, date.fromisoformat(self.served_on)

    @classmethod
    def _from_payload(cls, payload: dict[str, Any]) -> LimitationInterrupted:
        fields = _typed_fields(cls, payload)
        if not isinstance(fields.get("position_ids"), list):
            raise TypeError("position_ids must be a list")
        fields["position_ids"] = tuple(str(p) for p in fields["position_ids"])
        return cls(**fields)
