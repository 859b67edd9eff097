"""One error hierarchy: a broken rule carries its Italian message, its field and its HTTP status.

No framework import here, so pure domain modules can raise these; `services.kernel.web` renders them
(an HTML fragment for HTMX, JSON for the API).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class DomainError(Exception):
    """A rule was broken; `message` is shown to the user in Italian."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status = 404

    def __init__(self, message: str = "Risorsa non trovata.") -> None:
        super().__init__(message)


class Forbidden(DomainError):
    status = 403

    def __init__(self, message: str = "Operazione non consentita per il tuo ruolo.") -> None:
        super().__init__(message)


class Conflict(DomainError):
    status = 409


class MandateClosed(DomainError):
    """A change asked of a Comune whose mandate ended (`services.mandate`)."""

    status = 409

    def __init__(self) -> None:
        super().__init__(
            "Il mandato di riscossione per questo Comune è chiuso: i dati si possono solo consultare."
        )


class FieldErrors(DomainError):
    """Several fields refused at once (a form shows each beside its field); the first is the
    message of a caller that shows one."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = dict(errors)


class Problems:
    """Gathers every field's refusal, so that a form is answered with all of them at once."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def check(self, fallback: T, rule: Callable[..., T], *args: Any) -> T:
        """`rule(*args)`, or `fallback` when it refuses (its refusal kept, the first per field)."""
        try:
            return rule(*args)
        except DomainError as problem:
            self.add(problem.field or "", problem.message)
            return fallback

    def add(self, field: str, message: str) -> None:
        self.found.setdefault(field, message)

    def raise_any(self) -> None:
        if self.found:
            raise FieldErrors(self.found)


def errors_of(problem: DomainError) -> dict[str, str]:
    """A refusal as field -> message, whether it names one field or several."""
    return (
        dict(problem.errors) if isinstance(problem, FieldErrors) else {problem.field or "": problem.message}
    )
