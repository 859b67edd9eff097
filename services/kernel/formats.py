"""Values as Italian users read them on a page (the templates' filters): an instant in Rome's time,
a phone number grouped as people dial it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers

ROME = ZoneInfo("Europe/Rome")


def format_rome(moment: datetime | None) -> str:
    """An instant as Italian users read it: dd/mm/yyyy hh:mm in Europe/Rome."""
    return moment.astimezone(ROME).strftime("%d/%m/%Y %H:%M") if moment else ""


def format_phone(value: str) -> str:
    """The international format, grouped (`+39 333 111 2223`, `+39 06 1234 5678`), of the E.164
    form every service stores; anything that is not a valid number is shown as it is."""
    if not value.startswith("+"):
        return value
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_valid_number(number):
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
