"""Reporting rules: the projected facts, totals, residual, the dashboard's percentages and amounts. No I/O
(the relazione di scarico: `domain_relazione`; the aggio: `domain_aggio`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

ROME = ZoneInfo("Europe/Rome")

# How long a digest or rendiconto recorded as `sending` belongs to the run that claimed it: past it,
# the run is taken to have died between the commit and the record of the outcome, and the next run
# claims the e-mail again (one attempt more). The claim is stamped before the rest of the run's
# transaction (the PDF and XLSX rendered and stored, the Comune's other steps: seconds), then the
# SMTP talk (`SmtpMailer`'s 20 s timeout per operation) and the short record follow: a live attempt
# ends within a minute or two. 15 minutes leaves a wide margin against sending twice, and a run that
# died is made good by the next daily run, or by a run started by hand a quarter of an hour later.
SENDING_LEASE = timedelta(minutes=15)


@dataclass(frozen=True)
class Payment:
    """A payment received on a position, projected once (keyed by its id)."""

    payment_id: uuid.UUID
    position_id: uuid.UUID
    amount_cents: int
    paid_on: date
    debtor_id: uuid.UUID | None = None
    source: str = "manual"
    iuv: str = ""
    receipt_ref: str = ""
    flow_id: str = ""
    # When the event said it happened (a replay keeps it); None: now.
    received_at: datetime | None = None
    # What of it paid a plan's interest, owed on top of the debt: not collected against it.
    interest_cents: int = 0

    @property
    def debt_cents(self) -> int:
        """What of it pays the debt (the carico): the collected amounts count this."""
        return self.amount_cents - self.interest_cents


@dataclass(frozen=True)
class Outcome:
    """The outcome of an operator's contact with a debtor, projected once (keyed by its id)."""

    contact_id: uuid.UUID
    debtor_id: uuid.UUID
    outcome: str
    recorded_at: datetime


@dataclass(frozen=True)
class Totals:
    assigned_cents: int
    collected_cents: int

    @property
    def residual_cents(self) -> int:
        return residual(self.assigned_cents, self.collected_cents)

    @property
    def collected_percent(self) -> Decimal:
        return collected_percent(self.assigned_cents, self.collected_cents)


@dataclass(frozen=True)
class GroupTotals:
    revenue_type: str
    year: int | None
    positions: int
    totals: Totals


def residual(assigned_cents: int, collected_cents: int) -> int:
    return assigned_cents - collected_cents


def collected_percent(assigned_cents: int, collected_cents: int) -> Decimal:
    """Share of the assigned amount collected, in percent with one decimal (0 when nothing assigned)."""
    if assigned_cents <= 0:
        return Decimal("0.0")
    ratio = Decimal(collected_cents) * 100 / Decimal(assigned_cents)
    return ratio.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def format_cents(cents: int) -> str:
    """Cents as Italian money without the symbol: 123456 -> "1.234,56"."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros:,}".replace(",", ".") + f",{rest:02d}"
