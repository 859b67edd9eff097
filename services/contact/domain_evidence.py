"""Pure rules of the evidence of a payment the debtor claims («Dice di aver già pagato»): which
files may come with which outcome, how many. What a file may be is the kernel's rule
(`services.kernel.evidence`), shared with payments."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from services.contact.domain import Outcome
from services.kernel.errors import DomainError

FIELD = "evidence"
# Files in one submission, and attached to one claim in all.
MAX_FILES_PER_UPLOAD = 5
MAX_FILES_PER_CLAIM = 10


def check_files_with_outcome(outcome: Outcome, files: int, names_only: bool) -> None:
    """Files come only with «Dice di aver già pagato»; a form that sent file names without their
    content (no JavaScript: the form went urlencoded) is refused rather than losing the files."""
    if names_only:
        raise DomainError(
            "La ricevuta non è stata trasmessa: riprova con JavaScript attivo, "
            "oppure registra l'esito senza file e allegala poi dalla scheda.",
            field=FIELD,
        )
    if files and outcome is not Outcome.GIA_PAGATO:
        raise DomainError("La ricevuta si allega solo con l'esito «Dice di aver già pagato».", field=FIELD)


def check_count(new: int, already: int = 0) -> None:
    """At least one file, at most `MAX_FILES_PER_UPLOAD` at once and `MAX_FILES_PER_CLAIM` in all."""
    if new == 0:
        raise DomainError("Scegli il file della ricevuta da allegare.", field=FIELD)
    if new > MAX_FILES_PER_UPLOAD:
        raise DomainError(f"Allega al massimo {MAX_FILES_PER_UPLOAD} file alla volta.", field=FIELD)
    if already + new > MAX_FILES_PER_CLAIM:
        left = max(MAX_FILES_PER_CLAIM - already, 0)
        raise DomainError(
            f"Si possono allegare al massimo {MAX_FILES_PER_CLAIM} ricevute a una dichiarazione "
            f"(ne restano {left}).",
            field=FIELD,
        )


def named(name: str, error: DomainError, several: bool) -> DomainError:
    """The refusal of one file among several names it."""
    if not several:
        return error
    return DomainError(f"{name}: {error.message}", field=error.field)


def by_call(attachments: Iterable[Any]) -> dict[uuid.UUID, list[Any]]:
    """The attachments grouped by the call of the claim they prove, each group in upload order."""
    grouped: dict[uuid.UUID, list[Any]] = {}
    for row in attachments:
        grouped.setdefault(row.contact_id, []).append(row)
    return grouped
