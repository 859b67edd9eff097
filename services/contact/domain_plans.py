"""The history's lines of the payments service's plan events on the debtor card. Pure: no I/O."""

from __future__ import annotations

from datetime import date

from services.kernel.money import format_euro


def plan_note(installments: int, amount_cents: int, first_due: date) -> str:
    return f"{installments} rate per {format_euro(amount_cents)}, prima scadenza il {first_due:%d/%m/%Y}"


def lapse_note(residual_cents: int) -> str:
    return f"Residuo di {format_euro(residual_cents)} dovuto in un'unica soluzione"


def reamount_note(cut_cents: int, installments: int) -> str:
    """A plan spread again on what the office's decision left, or cancelled with it (no installment)."""
    if installments == 0:
        return f"Annullate (sgravio) le posizioni del piano ({format_euro(cut_cents)}): le rate non sono più dovute"
    return (
        f"{format_euro(cut_cents)} in meno, rate ricalcolate sulle stesse scadenze ({installments} in tutto)"
    )
