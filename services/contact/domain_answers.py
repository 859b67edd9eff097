"""What the Ufficio tributi's answer to a case does to the debtor's calls. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence

from services.contact.domain import Status
from services.contracts_reporting import CASE_ANSWER_LABELS, CASE_KIND_LABELS
from services.kernel.money import format_euro

# The history's outcome of an answer (shown beside calls and messages, never recorded by operators).
ANSWER_ENTRY = "risposta_ufficio"


def status_after(kind: str, answer: str, still_owed: bool | None = None) -> Status:
    """The debtor's status once the office answered: calls resume (rejected, or the amount
    corrected), stay paused (suspended; hardship upheld: the Comune's social-support channel takes
    it) or stop (the dispute, the claim of payment or the death upheld). A cancellation (sgravio)
    of some positions resumes the calls for the others still owed (`still_owed`) and stops them
    when nothing is owed any more; one naming no positions (events of old) stops them."""
    if answer in ("rejected", "corrected"):
        return Status.DA_LAVORARE
    if answer == "cancelled" and still_owed:
        return Status.DA_LAVORARE
    if answer == "suspended" or (answer == "upheld" and kind == "hardship"):
        return Status.SOSPESO
    return Status.CHIUSO


def answer_note(
    kind: str, answer: str, note: str, corrected_cents: int, acts: Sequence[str] = (), positions: int = 0
) -> str:
    """The history's line of an answer: the case, the answer (its positions by act number, else
    how many), the office's reason."""
    decided = CASE_ANSWER_LABELS.get(answer, answer)
    named = f"att{'o' if len(acts) == 1 else 'i'} {', '.join(acts)}" if acts else ""
    if answer == "corrected":
        decided += f" ({format_euro(corrected_cents)}{', ' + named if named else ''})"
    elif answer == "cancelled" and (named or positions):
        decided += f" ({named or str(positions) + (' posizione' if positions == 1 else ' posizioni')})"
    return f"{CASE_KIND_LABELS.get(kind, kind)}: {decided}. {note}"
