"""The ingest service's calendar: days are Rome's days."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

ROME = ZoneInfo("Europe/Rome")


def today() -> date:
    """Today in Rome (a file uploaded at 00:30 in Italy is dated that day)."""
    return datetime.now(ROME).date()
