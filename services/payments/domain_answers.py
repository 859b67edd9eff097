"""What the Ufficio tributi's decisions on positions mean for payments (`CaseAnswered`): a
cancelled position (sgravio) is no longer due, its notices no longer payable, and nothing may be
issued, planned or paid on it any more; a corrected position is due for its new amount. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.kernel.errors import Conflict
from services.payments.domain import residual_cents
from services.payments.domain_lapse import collection_charges

OPEN, CANCELLED = "open", "cancelled"
# A notice of a cancelled position: no longer payable (the taxpayer's page says so).
CANCELLED_NOTICE = "unpayable"
# A notice for the amount before a correction: replaced (a new one is issued for what is due now).
CORRECTED_NOTICE = "replaced"


@dataclass(frozen=True)
class Decision:
    """The positions an answer cancels, or the one it gives a new amount (`new_cents`)."""

    cancel: tuple[uuid.UUID, ...] = ()
    correct: uuid.UUID | None = None
    new_cents: int = 0

    @property
    def position_ids(self) -> tuple[uuid.UUID, ...]:
        return self.cancel if self.correct is None else (self.correct,)


def decision(answer: str, position_ids: Sequence[str], corrected_cents: int) -> Decision | None:
    """What an answer decides on positions; None when it names none (upheld, rejected, suspended,
    or an answer of old)."""
    ids = tuple(uuid.UUID(p) for p in position_ids)
    if not ids:
        return None
    if answer == "cancelled":
        return Decision(cancel=ids)
    if answer == "corrected" and len(ids) == 1 and corrected_cents > 0:
        return Decision(correct=ids[0], new_cents=corrected_cents)
    return None


def corrected_amount(new_cents: int, paid_cents: int) -> int:
    """The amount a corrected position is due for: the office's, never below what was already paid
    (the office checked against its own figure; a payment may have crossed its answer)."""
    return max(new_cents, paid_cents)


def charges_after_correction(
    amount_cents: int, corrected_cents: int, notice_day: date, plan_day: date
) -> int:
    """c.803: a plan's charges are a share of what is due. Once the office's corrections have taken
    `corrected_cents` off the positions of a plan granted for `amount_cents` on `plan_day`, they
    stand on the rest, at the rate of the plan's day (3% within 60 days of the positions' first
    notice, `notice_day`, else 6%; the same caps)."""
    return collection_charges(max(0, amount_cents - corrected_cents), notice_day, plan_day)


def owed_cents(amount_cents: int, paid_cents: int, state: str) -> int:
    """What is still due on a position: nothing once the office cancelled it (sgravio)."""
    return 0 if state == CANCELLED else residual_cents(amount_cents, paid_cents)


def refuse_cancelled(positions: Iterable[Any]) -> None:
    """Nothing is issued, planned or paid on a position the office cancelled."""
    for p in positions:
        if getattr(p, "state", OPEN) == CANCELLED:
            raise Conflict(
                f"La posizione {p.act_number} è stata annullata dall'Ufficio tributi (sgravio): "
                "non è più dovuta."
            )
