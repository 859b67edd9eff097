"""One error hierarchy: a broken rule carries its Italian message, its field and its HTTP status.

No framework import here, so pure domain modules can raise these; `services.kernel.web` renders them
(an HTML fragment for HTMX, JSON for the API).
"""

from __future__ import annotations


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
