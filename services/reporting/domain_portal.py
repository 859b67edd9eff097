"""The Ufficio tributi's portal: the campaign's stages from assigned to collected, by revenue type, by
year and week by week, and the filters of its drill-down to the debtors. Pure: no I/O."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

from services.contracts import OUTCOME_LABELS
from services.kernel.errors import DomainError
from services.kernel.formats import format_month
from services.kernel.limitation import barred_from, too_late

# The funnel, from what the Comune assigned to what was collected; the residual comes after.
FUNNEL = ("assigned", "worked", "reached", "promised", "in_plan", "collected")
STAGES = (*FUNNEL, "residual")
STAGE_LABELS: dict[str, str] = {
    "assigned": "Affidati",
    "worked": "Lavorati",
    "reached": "Raggiunti",
    "promised": "Con promessa di pagamento",
    "in_plan": "In piano di rateizzazione",
    "collected": "Con somme riscosse",
    "residual": "Con residuo da riscuotere",
    "barring": "Con residuo che si prescrive entro un anno",
    "barred": "Con residuo già prescritto",
}
# The drill-down's filters: the stages and, for the limitation's lists, the residual whose term
# runs out within a year of the filter's day, and the residual whose term ran out
# (`repository_portal.limitation_rows`).
DRILL_STAGES = (*STAGES, "barring", "barred")
# What the euro figure of each stage is: the amount assigned on its positions, except two.
STAGE_AMOUNT_LABELS: dict[str, str] = {
    **dict.fromkeys(STAGES, "Carico"),
    "collected": "Riscosso",
    "residual": "Residuo",
}
STAGE_HINTS: dict[str, str] = {
    "assigned": "posizioni affidate, escluse quelle annullate dall'Ufficio (sgravio)",
    "worked": "debitori con almeno un esito di contatto registrato",
    "reached": "debitori con almeno una conversazione (ha risposto il contribuente)",
    "promised": "debitori che hanno promesso di pagare",
    "in_plan": "posizioni in un piano di rateizzazione non decaduto",
    "collected": "posizioni con pagamenti (al netto di revoche e rimborsi)",
    "residual": "posizioni con una parte ancora da riscuotere",
}
POSITION_STATE_LABELS = {"open": "Aperta", "cancelled": "Annullata (sgravio)"}
PROMISE_LABELS = {"": "", "made": "In corso", "kept": "Mantenuta", "broken": "Non mantenuta"}
TREND_WEEKS = 12
PAGE_SIZE = 25
MAX_PAGE = 10_000
MAX_REVENUE_TYPE = 40
_YEAR = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class StageFigures:
    """How many debtors and positions are at a stage, and the stage's euro figure."""

    stage: str
    debtors: int
    positions: int
    cents: int

    @property
    def label(self) -> str:
        return STAGE_LABELS[self.stage]


@dataclass(frozen=True)
class GroupFigures:
    """Every stage of one group: the whole campaign (key ""), a revenue type, or a year."""

    key: str
    stages: tuple[StageFigures, ...]

    def stage(self, name: str) -> StageFigures:
        return next(s for s in self.stages if s.stage == name)

    @property
    def funnel(self) -> tuple[StageFigures, ...]:
        return tuple(s for s in self.stages if s.stage in FUNNEL)

    @property
    def collected_percent(self) -> str:
        return percent(self.stage("collected").cents, self.stage("assigned").cents)


@dataclass(frozen=True)
class Week:
    """An ISO week (Monday `start`, Europe/Rome): net collected and outcomes recorded."""

    start: date
    collected_cents: int
    outcomes: int

    @property
    def label(self) -> str:
        year, week, _ = self.start.isocalendar()
        return f"Sett. {week}/{year}"

    @property
    def period(self) -> str:
        return f"dal {self.start:%d/%m/%Y} al {self.start + timedelta(days=6):%d/%m/%Y}"


@dataclass(frozen=True)
class Portal:
    total: GroupFigures
    by_type: tuple[GroupFigures, ...]
    by_year: tuple[GroupFigures, ...]
    weeks: tuple[Week, ...]
    promised_cents: int
    limitation: LimitationWatch


@dataclass(frozen=True)
class BarringMonth:
    """The residual whose limitation runs out in the month of `month` (its first day), from `first_on`."""

    month: date
    positions: int
    cents: int
    first_on: date

    @property
    def label(self) -> str:
        return format_month(self.month)


@dataclass(frozen=True)
class LimitationWatch:
    """What the limitation (`kernel.limitation`) bars in the residual: what runs out after `today`
    until `until` (a year on: `soon`, and month by month), and what already has (`barred`)."""

    today: date
    until: date
    soon: StageFigures
    months: tuple[BarringMonth, ...]
    barred: StageFigures

    @property
    def first_on(self) -> date | None:
        """The first day on which some residual becomes time-barred, within the year."""
        return self.months[0].first_on if self.months else None


def limitation_until(today: date) -> date:
    """The last day of the portal's look ahead: the same day a year on (28 February for 29)."""
    return date(
        today.year + 1, today.month, min(today.day, calendar.monthrange(today.year + 1, today.month)[1])
    )


def barred_on(position: Any, payments: Iterable[Any], served: Iterable[date] = ()) -> date:
    """The first day `position` is time-barred, counting its payments among `payments` not revoked
    and the days `served` its interrupting acts not withdrawn were served on
    (`kernel.limitation.barred_from`)."""
    days = [p.paid_on for p in payments if p.position_id == position.position_id and p.revoked_on is None]
    return barred_from(position.year, [*days, *served], position.act_on)


def acts_too_late(position: Any, payments: Iterable[Any], acts: Iterable[Any]) -> set[Any]:
    """The acts not withdrawn among `acts` that name `position` but were served when it was already
    time-barred (an act or a payment that had kept it in time was since withdrawn or revoked): they
    interrupt nothing (`kernel.limitation.too_late`)."""
    mine = [a for a in acts if a.withdrawn_at is None and position.position_id in (a.position_ids or ())]
    days = [p.paid_on for p in payments if p.position_id == position.position_id and p.revoked_on is None]
    late = too_late(position.year, [*days, *(a.served_on for a in mine)], position.act_on)
    return {a.act_id for a in mine if a.served_on in late}


def served_days(acts: Iterable[Any]) -> dict[Any, list[date]]:
    """The days the acts not withdrawn among `acts` (rows with `position_ids`, `served_on`,
    `withdrawn_at`) were served, by position."""
    days: dict[Any, list[date]] = {}
    for act in acts:
        if act.withdrawn_at is None:
            for position_id in act.position_ids or ():
                days.setdefault(position_id, []).append(act.served_on)
    return days


def limitation_watch(today: date, rows: Sequence[Mapping[str, Any]]) -> LimitationWatch:
    """From `repository_portal.limitation_rows`: one row per group (`run_out`, `month`; `month`
    None for the whole of what ran out or runs out within the year), with `debtors`, `positions`,
    `cents` and `first_on`."""
    empty = StageFigures("residual", 0, 0, 0)
    totals = {
        r["run_out"]: StageFigures("residual", r["debtors"], r["positions"], int(r["cents"]))
        for r in rows
        if r["month"] is None
    }
    months = sorted(
        (BarringMonth(r["month"], r["positions"], int(r["cents"]), r["first_on"]) for r in rows if r["month"] and not r["run_out"]),
        key=lambda m: m.month,
    )  # fmt: skip
    return LimitationWatch(
        today, limitation_until(today), totals.get(False, empty), tuple(months), totals.get(True, empty)
    )


@dataclass(frozen=True)
class DebtorFilter:
    """The drill-down's filters: every one optional; `page` from 1."""

    revenue_type: str | None = None
    year: int | None = None
    stage: str | None = None
    page: int = 1
    # A fiscal code (or its start) or part of a name, as the office types it when a taxpayer calls.
    search: str | None = None
    # The day the limitation's stages are judged on (not in the query string: always today).
    today: date | None = None

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    def query(self, page: int | None = None) -> str:
        """The filters as a query string (Italian names, as the page's links carry them)."""
        pairs = [
            ("cerca", self.search),
            ("entrata", self.revenue_type),
            ("anno", self.year),
            ("fase", self.stage),
            ("page", page),
        ]
        return urlencode([(k, v) for k, v in pairs if v not in (None, "")])

    def describe(self) -> str:
        parts = [STAGE_LABELS[self.stage]] if self.stage else ["Tutti i debitori affidati"]
        if self.revenue_type:
            parts.append(f"entrata {self.revenue_type}")
        if self.year:
            parts.append(f"anno {self.year}")
        if self.search:
            parts.append(f"che corrispondono a «{self.search}»")
        return ", ".join(parts)


def stages_of(row: Mapping[str, Any]) -> tuple[StageFigures, ...]:
    """Every stage from a row with `<stage>_debtors`, `<stage>_positions` and `<stage>_cents`."""
    return tuple(
        StageFigures(
            stage,
            _int(row[f"{stage}_debtors"]),
            _int(row[f"{stage}_positions"]),
            _int(row[f"{stage}_cents"]),
        )
        for stage in STAGES
    )


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | Decimal | str) else 0


def empty_group(key: str = "") -> GroupFigures:
    return GroupFigures(key, tuple(StageFigures(s, 0, 0, 0) for s in STAGES))


def percent(part: int, whole: int) -> str:
    """`part` of `whole` as an Italian percentage with one decimal ("12,5%"); 0 when nothing."""
    if whole <= 0:
        return "0,0%"
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{value}%".replace(".", ",")


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def trend_weeks(today: date, count: int = TREND_WEEKS) -> tuple[date, ...]:
    """The Mondays of the last `count` ISO weeks, the current one last."""
    last = week_start(today)
    return tuple(last - timedelta(weeks=n) for n in range(count - 1, -1, -1))


def weekly_trend(
    today: date,
    paid: Mapping[date, int],
    refunded: Mapping[date, int],
    outcomes: Mapping[date, int],
    count: int = TREND_WEEKS,
) -> tuple[Week, ...]:
    """Each of the last `count` weeks, empty ones included: collected net of refunds, outcomes."""
    return tuple(
        Week(start, paid.get(start, 0) - refunded.get(start, 0), outcomes.get(start, 0))
        for start in trend_weeks(today, count)
    )


def parse_page(raw: str | None) -> int:
    """A page number from 1 to MAX_PAGE; anything else is refused at the field."""
    if raw is None or raw == "":
        return 1
    text = raw.strip()
    if not text.isdigit() or len(text) > 6 or not 1 <= int(text) <= MAX_PAGE:
        raise DomainError(
            f"Il numero di pagina deve essere un intero da 1 a {MAX_PAGE:,}.".replace(",", "."), field="page"
        )
    return int(text)


MAX_SEARCH = 80


def parse_filter(params: Mapping[str, str], today: date) -> DebtorFilter:
    """The drill-down's filters from the query string (cerca, entrata, anno, fase, page), in Italian;
    the limitation's stages judged on `today`."""
    revenue_type = (params.get("entrata") or "").strip() or None
    if revenue_type is not None and len(revenue_type) > MAX_REVENUE_TYPE:
        raise DomainError("Il tipo di entrata indicato non è valido.", field="entrata")
    raw_year = (params.get("anno") or "").strip()
    if raw_year and not (_YEAR.match(raw_year) and 1900 <= int(raw_year) <= 2100):
        raise DomainError("L'anno deve essere di quattro cifre (es. 2021).", field="anno")
    stage = (params.get("fase") or "").strip() or None
    if stage is not None and stage not in DRILL_STAGES:
        raise DomainError("La fase indicata non esiste.", field="fase")
    search = " ".join((params.get("cerca") or "").split()) or None
    if search is not None and not 2 <= len(search) <= MAX_SEARCH:
        raise DomainError(f"Cerca con almeno 2 e al più {MAX_SEARCH} caratteri.", field="cerca")
    return DebtorFilter(
        revenue_type,
        int(raw_year) if raw_year else None,
        stage,
        parse_page(params.get("page")),
        search,
        today,
    )


def outcome_label(code: str) -> str:
    return OUTCOME_LABELS.get(code, code.replace("_", " ").capitalize())


def pages(total: int) -> int:
    """How many pages `total` rows fill (at least one)."""
    return max(1, -(-total // PAGE_SIZE))
