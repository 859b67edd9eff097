"""How many monthly installments a debt may be paid in (L. 160/2019 c.796-797, CDS art. 202-bis).

Pure rules: amounts in integer cents. A rule set is the default of c.796, a Comune's own regulation
(c.797: its bands and a minimum installment) or the CDS rule for traffic fines (art. 202-bis).
`allowed` answers with the fewest and most installments; `{1, 1}` means no plan, one payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from services.kernel.errors import DomainError
from services.kernel.money import format_euro

NO_PLAN = (1, 1)
# c.797: a regulation must allow at least 36 installments to debts over € 6,000.01.
LONG_DEBT_CENTS = 600_001
LONG_DEBT_INSTALLMENTS = 36
# c.796: at most 72 monthly installments.
MOST_INSTALLMENTS = 72
# art. 202-bis: fines above € 200; at most 12 installments up to € 2,000, 24 up to € 5,000, 60 above;
# each installment at least € 100.
CDS_FINE_ABOVE_CENTS = 20_000
CDS_BANDS = ((200_000, 12), (500_000, 24), (None, 60))
CDS_MIN_INSTALLMENT_CENTS = 10_000
# art. 202-bis c.1: the debtor's IRPEF taxable income at most € 10,628.16, plus € 1,032.91 for each
# family member living with them (whose incomes are added up), as the debtor declares it.
CDS_INCOME_LIMIT_CENTS = 1_062_816
CDS_INCOME_PER_MEMBER_CENTS = 103_291


@dataclass(frozen=True)
class Band:
    """Debts up to `up_to_cents` (None: any amount above the previous band) may be paid in
    `fewest` to `most` monthly installments; `most` 1 means no plan."""

    up_to_cents: int | None
    fewest: int
    most: int


# c.796, when the Comune has no regulation of its own.
DEFAULT_BANDS = (
    Band(10_000, 1, 1),
    Band(50_000, 2, 4),
    Band(300_000, 5, 12),
    Band(600_000, 13, 24),
    Band(2_000_000, 25, 36),
    Band(None, 37, 72),
)


@dataclass(frozen=True)
class RuleSet:
    """The bands in force for a Comune and revenue type, the smallest installment it allows, and the
    interest rate of its regulation (percent a year; None: the legal rate)."""

    bands: tuple[Band, ...] = DEFAULT_BANDS
    min_installment_cents: int = 0
    interest_rate: Decimal | None = None


def band_for(amount_cents: int, bands: tuple[Band, ...]) -> Band:
    for band in bands:
        if band.up_to_cents is None or amount_cents <= band.up_to_cents:
            return band
    return Band(None, *NO_PLAN)


def allowed(amount_cents: int, rules: RuleSet) -> tuple[int, int]:
    """The fewest and most monthly installments for this debt; (1, 1) when no plan is allowed."""
    if amount_cents <= 0:
        raise DomainError("Non c'è nulla da rateizzare: l'importo è zero.", field="amount_cents")
    band = band_for(amount_cents, rules.bands)
    most = band.most
    if rules.min_installment_cents > 0:
        most = min(most, amount_cents // rules.min_installment_cents)
    if most < max(band.fewest, 2):
        return NO_PLAN
    return band.fewest if band.fewest > 1 else 2, most


def cds_allowed(amount_cents: int, income_declared: bool) -> tuple[int, int]:
    """Art. 202-bis: a fine above € 200 of a taxpayer who declared the income condition."""
    if amount_cents <= CDS_FINE_ABOVE_CENTS:
        return NO_PLAN
    if not income_declared:
        raise DomainError(
            "Per rateizzare una sanzione del Codice della strada il contribuente deve dichiarare di "
            "avere un reddito entro il limite dell'art. 202-bis.",
            field="income_declared",
        )
    cap = next(most for up_to, most in CDS_BANDS if up_to is None or amount_cents <= up_to)
    most = min(cap, amount_cents // CDS_MIN_INSTALLMENT_CENTS)
    return NO_PLAN if most < 2 else (2, most)


def range_reason(amount_cents: int, revenue_type: str, rules: RuleSet) -> str:
    """Why the debt gets the installments `allowed_for` gives it, for the operator to say: the
    band and its source (the law's bands or the Comune's regulation), the smallest installment."""
    if revenue_type == "CDS":
        return (
            f"sanzione del Codice della strada: art. 202-bis, rate di almeno "
            f"{format_euro(CDS_MIN_INSTALLMENT_CENTS)}"
        )
    band = band_for(amount_cents, rules.bands)
    below = [b.up_to_cents for b in rules.bands if b.up_to_cents is not None and b.up_to_cents < amount_cents]
    start = max(below, default=0) + 1
    if band.up_to_cents is None:
        span = f"oltre {format_euro(start - 1)}"
    else:
        span = f"da {format_euro(start)} a {format_euro(band.up_to_cents)}"
    source = "L. 160/2019, art. 1 c. 796" if rules.bands == DEFAULT_BANDS else "regolamento del Comune"
    smallest = (
        f"; rata minima {format_euro(rules.min_installment_cents)}" if rules.min_installment_cents else ""
    )
    return f"debito {span}: {source}{smallest}"


def check_regulation(rules: RuleSet) -> RuleSet:
    """A Comune's own bands (c.797): ordered, ending with every amount above, within 72 monthly
    installments, and at least 36 for debts over € 6,000.01; Italian message otherwise."""
    bands = rules.bands
    if not bands or bands[-1].up_to_cents is not None:
        raise DomainError("L'ultima fascia deve valere per ogni importo superiore.", field="bands")
    limits = [b.up_to_cents or 0 for b in bands[:-1]]
    if any(limit <= 0 for limit in limits) or limits != sorted(set(limits)):
        raise DomainError("Le fasce devono avere importi massimi crescenti.", field="bands")
    for number, band in enumerate(bands, 1):
        if not 1 <= band.fewest <= band.most <= MOST_INSTALLMENTS:
            raise DomainError(
                f"Fascia {number}: da {band.fewest} a {band.most} rate non va bene: ogni fascia va da 1 a "
                f"{MOST_INSTALLMENTS} rate mensili, con il minimo non oltre il massimo.",
                field="bands",
            )
    if rules.min_installment_cents < 0:
        raise DomainError("La rata minima non può essere negativa.", field="min_installment_cents")
    long_debts = [b for b in bands if b.up_to_cents is None or b.up_to_cents >= LONG_DEBT_CENTS]
    smallest = rules.min_installment_cents
    too_few = smallest > 0 and LONG_DEBT_CENTS // smallest < LONG_DEBT_INSTALLMENTS
    if too_few or any(b.most < LONG_DEBT_INSTALLMENTS for b in long_debts):
        raise DomainError(
            "Il regolamento deve consentire almeno 36 rate mensili per i debiti oltre € 6.000,00 "
            "(L. 160/2019, art. 1 c. 797).",
            field="bands",
        )
    return rules


def _count(raw: Any, name: str, line: int) -> int:
    if type(raw) is not int:
        raise DomainError(f"Fascia {line}: «{name}» deve essere un numero intero.", field="bands")
    return raw


def read_bands(raw: Any) -> tuple[Band, ...]:
    """Bands as the API writes them: `[{"up_to_cents": 50000 | null, "min": 2, "max": 4}, …]`."""
    if not isinstance(raw, list) or not raw or len(raw) > 20:
        raise DomainError("«bands» è un elenco da 1 a 20 fasce.", field="bands")
    bands = []
    for line, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise DomainError(f"Fascia {line}: attesi «up_to_cents», «min» e «max».", field="bands")
        up_to = item.get("up_to_cents")
        limit = None if up_to is None else _count(up_to, "up_to_cents", line)
        bands.append(Band(limit, _count(item.get("min"), "min", line), _count(item.get("max"), "max", line)))
    return tuple(bands)


def read_rate(raw: Any) -> Decimal | None:
    """The regulation's own interest rate, percent a year as text ("1.5"); None for the legal rate."""
    if raw is None:
        return None
    try:
        rate = Decimal(str(raw).replace(",", "."))
    except InvalidOperation:
        rate = Decimal(-1)
    if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(20) or rate.as_tuple().exponent < -3:  # type: ignore[operator]
        raise DomainError(
            "Tasso di interesse non valido: da 0 a 20, al massimo tre decimali.", field="interest_rate"
        )
    return rate


def bands_json(bands: tuple[Band, ...]) -> list[dict[str, Any]]:
    return [{"up_to_cents": b.up_to_cents, "min": b.fewest, "max": b.most} for b in bands]
