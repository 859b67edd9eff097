"""An act of the Comune interrupting the limitation (c.c. art. 2943) as the Ufficio tributi records
it on the debtor's page: what it is, when it was served, the positions it names; refused in
Italian, at its field, when it could not interrupt anything. Pure: no I/O."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.kernel.errors import Conflict, DomainError
from services.kernel.limitation import ACT_KINDS

MAX_REFERENCE = 80


@dataclass(frozen=True)
class ActRequest:
    kind: str
    served_on: date
    reference: str
    position_ids: tuple[uuid.UUID, ...]


def read_act(form: Mapping[str, Any], position_ids: Sequence[str], today: date) -> ActRequest:
    """The act as the form gives it; refused at its field."""
    kind = str(form.get("kind") or "")
    if kind not in ACT_KINDS:
        raise DomainError("Scegli il tipo di atto notificato.", field="kind")
    raw = str(form.get("served_on") or "").strip()
    if not raw:
        raise DomainError("Indica il giorno in cui l'atto è stato notificato.", field="served_on")
    try:
        served_on = date.fromisoformat(raw) if "-" in raw else datetime.strptime(raw, "%d/%m/%Y").date()
    except ValueError:
        raise DomainError(f"«{raw[:20]}» non è una data valida (GG/MM/AAAA).", field="served_on") from None
    if served_on > today:
        raise DomainError(
            f"Il giorno di notifica non può essere dopo oggi ({today:%d/%m/%Y}).", field="served_on"
        )
    reference = " ".join(str(form.get("reference") or "").split())
    if len(reference) > MAX_REFERENCE:
        raise DomainError(
            f"Il riferimento dell'atto (protocollo o numero) può avere al più {MAX_REFERENCE} caratteri.",
            field="reference",
        )
    try:
        ids = tuple(dict.fromkeys(uuid.UUID(p) for p in position_ids))
    except ValueError:
        raise DomainError("Posizione non valida.", field="position_id") from None
    if not ids:
        raise DomainError("Scegli almeno una posizione a cui l'atto si riferisce.", field="position_id")
    return ActRequest(kind, served_on, reference, ids)


def check_interrupts(position: Any, barred_on: date, served_on: date) -> None:
    """An act interrupts a position still owed, served after its own act (or within its reference
    year when the file gave no act day) and before it was time-barred (`barred_on`, as it stands
    with the payments and the acts already recorded); otherwise it is refused, naming the position."""
    act = position.act_number
    if position.state == "cancelled":
        raise Conflict(f"La posizione {act} è stata annullata (sgravio): non c'è nulla da interrompere.")
    if position.collected_cents >= position.amount_cents:
        raise Conflict(f"La posizione {act} è saldata: non c'è nulla da interrompere.")
    first = position.act_on or date(position.year, 1, 1)
    if served_on < first:
        said = (
            f"dell'atto ({first:%d/%m/%Y})"
            if position.act_on
            else f"dell'anno di riferimento {position.year}"
        )
        raise DomainError(
            f"Per la posizione {act} la notifica del {served_on:%d/%m/%Y} viene prima {said}.",
            field="served_on",
        )
    if served_on >= barred_on:
        raise Conflict(
            f"La posizione {act} era già prescritta dal {barred_on:%d/%m/%Y}: un atto notificato il "
            f"{served_on:%d/%m/%Y} non la interrompe più (art. 2943 c.c.: solo mentre il termine corre).",
            field="served_on",
        )
