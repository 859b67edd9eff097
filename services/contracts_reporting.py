"""Event contracts of the reporting service: the Ufficio tributi's answers to the cases the contact
service sent it (disputes, claims of payment already made, hardship, deceased debtors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.contracts_base import Event

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
    hardship, deceased): `answer` is upheld, rejected, cancelled (sgravio), corrected (the amount
    owed is now `corrected_cents`) or suspended; `note` says why. Every answer is one event; a
    later one replaces what an earlier one decided."""

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
