"""The Ufficio tributi's answers to the cases operators send it: what each kind and answer is
called, what makes an answer acceptable, and what a cancellation or a correction does to the
positions it names. Pure: no I/O.

Rules of an answer:
- A case takes ONE final answer. "suspended" is not final: a suspended case stays open and waits
  for its final answer. Any answer to a case already answered otherwise is refused (nothing changes).
- A cancellation (sgravio) names one or more of the debtor's open positions, none of them collected
  in part or in full (a partly paid act is corrected down to what was collected instead). One in
  an active installment plan may be cancelled: the payments service spreads the plan's open
  installments again on what its other positions leave, and cancels a plan left with nothing
  (`services/payments/handlers_reamount.py`).
- A correction names exactly one open position (an act has its own amount, as the office's
  provvedimento di rettifica does) and its new amount: above zero, below the amount assigned now,
  not below what was already collected on it; only for a dispute or a claim of payment. A position
  in an active plan may be corrected: the payments service spreads the plan's open installments
  again on what is left (`services/payments/domain_reamount.py`).
- The other answers name no position and no amount.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.contracts_reporting import CASE_ANSWER_LABELS, CASE_KIND_LABELS
from services.kernel.errors import DomainError
from services.kernel.money import format_euro, parse_euro

KIND_LABELS = CASE_KIND_LABELS
ANSWER_LABELS = CASE_ANSWER_LABELS
MAX_NOTE = 2000
# The answers that leave a case open for another (final) one.
NOT_FINAL = frozenset({"suspended"})
# The answers that name positions.
ON_POSITIONS = frozenset({"cancelled", "corrected"})
CORRECTABLE_KINDS = frozenset({"dispute", "already_paid"})
# What each answer does, said beside it on the case's form.
ANSWER_HELP = {
    "upheld": "La società non chiama più per queste posizioni; la relazione di scarico le propone per il "
    "discarico (una difficoltà economica accolta resta sospesa per i servizi sociali).",
    "rejected": "Le chiamate riprendono e la riscossione continua sull'importo dovuto.",
    "cancelled": "Le posizioni scelte non sono più dovute ed escono dal carico affidato.",
    "corrected": "La posizione resta dovuta per il nuovo importo indicato.",
    "suspended": "La pratica resta aperta e le chiamate restano ferme finché non dai una risposta definitiva.",
}


def answers_for(kind: str) -> dict[str, str]:
    """The answers a case of `kind` may take, by their labels (an amount is corrected only for a
    dispute or a declared payment)."""
    return {k: v for k, v in ANSWER_LABELS.items() if k != "corrected" or kind in CORRECTABLE_KINDS}


@dataclass(frozen=True)
class OpenPosition:
    """A debtor's position as the office chooses it: its act, what is assigned and collected, and
    whether an active installment plan covers it."""

    position_id: uuid.UUID
    act_number: str
    amount_cents: int
    collected_cents: int
    in_active_plan: bool = False


@dataclass(frozen=True)
class Answer:
    answer: str
    note: str
    corrected_cents: int | None
    position_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class Effect:
    """What an answer does to one position: cancel it, or set its amount (`new_cents`)."""

    position_id: uuid.UUID
    cancel: bool
    new_cents: int | None


def may_answer(current: str | None) -> None:
    """A case is open while unanswered or suspended; otherwise a new answer is refused."""
    if current is not None and current not in NOT_FINAL:
        label = ANSWER_LABELS.get(current, current)
        raise DomainError(
            f"La pratica ha già una risposta definitiva («{label}»): non è possibile rispondere di nuovo.",
            field="esito",
        )


def _note(note: str) -> str:
    text = " ".join(note.split())
    if len(text) < 5:
        raise DomainError("Scrivi la motivazione della risposta (almeno 5 caratteri).", field="nota")
    if len(text) > MAX_NOTE:
        raise DomainError(f"La motivazione supera {MAX_NOTE} caratteri.", field="nota")
    return text


def check_form(answer: str, note: str) -> str:
    """The answer is one of the office's and the note says why (checked before anything is read);
    the note as kept."""
    if answer not in ANSWER_LABELS:
        raise DomainError("Scegli la risposta.", field="esito")
    return _note(note)


def _chosen(chosen: Sequence[str], positions: Mapping[uuid.UUID, OpenPosition]) -> list[OpenPosition]:
    picked: list[OpenPosition] = []
    for raw in dict.fromkeys(c.strip() for c in chosen if c.strip()):
        try:
            found = positions.get(uuid.UUID(raw))
        except ValueError:
            found = None
        if found is None:
            raise DomainError(
                "Scegli tra le posizioni aperte del contribuente (una non lo è più).", field="posizioni"
            )
        picked.append(found)
    return picked


def _cancellable(picked: list[OpenPosition]) -> None:
    if not picked:
        raise DomainError("Scegli almeno una posizione da annullare.", field="posizioni")
    for p in picked:
        if p.collected_cents > 0:
            raise DomainError(
                f"Sulla posizione {p.act_number} risultano già riscossi {format_euro(p.collected_cents)}: "
                "non si annulla, se ne corregge l'importo (almeno quanto riscosso).",
                field="posizioni",
            )


def _correction(picked: list[OpenPosition], corrected: str) -> int:
    if not picked:
        raise DomainError("Scegli la posizione di cui correggere l'importo.", field="posizioni")
    if len(picked) > 1:
        raise DomainError(
            "Scegli una sola posizione: l'importo si corregge un atto alla volta.", field="posizioni"
        )
    p = picked[0]
    if corrected.strip() and not corrected.strip(" €0.,"):
        raise DomainError(
            "Un importo corretto a zero è un annullamento: scegli «Annullata (sgravio)».", field="importo"
        )
    cents = parse_euro(corrected, field="importo", missing="Indica l'importo corretto dovuto.")
    if cents >= p.amount_cents:
        raise DomainError(
            f"L'importo corretto deve essere inferiore a quello in carico ({format_euro(p.amount_cents)}).",
            field="importo",
        )
    if cents < p.collected_cents:
        raise DomainError(
            f"L'importo corretto non può essere inferiore a quanto già riscosso "
            f"({format_euro(p.collected_cents)}).",
            field="importo",
        )
    return cents


def check_answer(
    answer: str,
    note: str,
    corrected: str,
    chosen: Sequence[str] = (),
    positions: Mapping[uuid.UUID, OpenPosition] | None = None,
    kind: str = "dispute",
) -> Answer:
    """The office's answer as typed (`chosen`: the positions ticked, among the debtor's open
    `positions`); refused in Italian at the field at fault."""
    text = check_form(answer, note)
    picked = _chosen(chosen, positions or {})
    if answer not in ON_POSITIONS:
        if picked:
            raise DomainError(
                "Le posizioni si scelgono solo per «Annullata (sgravio)» o «Importo corretto».",
                field="posizioni",
            )
        if corrected.strip():
            raise DomainError("L'importo corretto si indica solo con «Importo corretto».", field="importo")
        return Answer(answer, text, None)
    ids = tuple(p.position_id for p in picked)
    if answer == "cancelled":
        if corrected.strip():
            raise DomainError("L'importo corretto si indica solo con «Importo corretto».", field="importo")
        _cancellable(picked)
        return Answer(answer, text, None, ids)
    if kind not in CORRECTABLE_KINDS:
        raise DomainError(
            "L'importo si corregge solo per una contestazione o un pagamento dichiarato.", field="esito"
        )
    return Answer(answer, text, _correction(picked, corrected), ids)


def effects(answer: str, position_ids: Sequence[uuid.UUID], corrected_cents: int | None) -> list[Effect]:
    """What a recorded answer does to its positions (none for an answer that names none)."""
    if answer == "cancelled":
        return [Effect(p, True, None) for p in position_ids]
    if answer == "corrected" and corrected_cents is not None and len(position_ids) == 1:
        return [Effect(position_ids[0], False, corrected_cents)]
    return []
