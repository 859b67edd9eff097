"""Text messages through a provider interface.

No SMS gateway is configured on this platform yet, so the only provider is the development one: it
writes the message to the log and says it did not send it (`delivers` is False), and the screens
say so. A real provider implements `SmsProvider` (send, and `delivers` True) and is returned by
`sms_provider` from its settings.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

from services.kernel.errors import DomainError
from services.kernel.formats import can_text
from services.kernel.formats import e164 as kernel_e164
from services.kernel.settings import Settings

log = logging.getLogger(__name__)


class SmsProvider(Protocol):
    @property
    def delivers(self) -> bool:
        """True when the message really reaches the phone (what a page may tell its user)."""
        ...

    async def send(self, to: str, text: str) -> str:
        """Sends the message to an E.164 number; returns the provider's message id."""
        ...


@dataclass(frozen=True)
class LogSmsProvider:
    """Development only: the message goes to the log, not to a phone."""

    delivers: bool = False

    async def send(self, to: str, text: str) -> str:
        message_id = f"dev-{uuid.uuid4()}"
        log.warning("development SMS provider: SMS to %s NOT sent (%s): %s", to, message_id, text)
        return message_id


def sms_provider(settings: Settings) -> SmsProvider:
    return LogSmsProvider()


def e164(raw: str) -> str:
    """The mobile number an SMS goes to, as E.164 (+39 assumed when no country code is given)."""
    text = raw.strip()
    if not text:
        raise DomainError("Indica il numero di cellulare a cui inviare l'SMS.", field="phone")
    number = kernel_e164(text)
    if number is None:
        raise DomainError(f"Numero di telefono non valido: «{text}» (es. +39 333 123 4567).", field="phone")
    if not can_text(number):
        raise DomainError(
            f"«{text}» è un numero fisso: l'SMS arriva solo a un cellulare (es. +39 333 123 4567).",
            field="phone",
        )
    return number
