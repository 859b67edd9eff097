"""The Ufficio tributi's answers to the cases operators send it: what each kind and answer is
called, and what makes an answer acceptable. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from services.contracts_reporting import CASE_ANSWER_LABELS, CASE_KIND_LABELS
from services.kernel.errors import DomainError
from services.kernel.money import parse_euro

KIND_LABELS = CASE_KIND_LABELS
ANSWER_LABELS = CASE_ANSWER_LABELS
MAX_NOTE = 2000


@dataclass(frozen=True)
class Answer:
    answer: str
    note: str
    corrected_cents: int | None


def check_answer(answer: str, note: str, corrected: str) -> Answer:
    """The office's answer as typed; refused in Italian at the field at fault."""
    if answer not in ANSWER_LABELS:
        raise DomainError("Scegli la risposta.", field="esito")
    text = " ".join(note.split())
    if len(text) < 5:
        raise DomainError("Scrivi la motivazione della risposta (almeno 5 caratteri).", field="nota")
    if len(text) > MAX_NOTE:
        raise DomainError(f"La motivazione supera {MAX_NOTE} caratteri.", field="nota")
    if answer != "corrected":
        if corrected.strip():
            raise DomainError("L'importo corretto si indica solo con «Importo corretto».", field="importo")
        return Answer(answer, text, None)
    cents = parse_euro(corrected, field="importo", missing="Indica l'importo corretto dovuto.")
    return Answer(answer, text, cents)
