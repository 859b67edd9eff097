"""What the portal shows, built from its figures: each table (shown as HTML, downloaded as CSV and
XLSX) and the chart drawn from the same figures. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.kernel.formats import format_count
from services.kernel.money import format_euro
from services.reporting import domain_portal as dp
from services.reporting import svg_charts as svg
from services.reporting.tabular import Column, Table

TABLES = ("fasi", "entrate", "anni", "settimane")
# The two breakdowns: what they are called and the header of their first column.
GROUPS = {"entrate": ("per tipo di entrata", "Entrata"), "anni": ("per anno", "Anno")}


@dataclass(frozen=True)
class Figure:
    """A chart and the table that states its figures."""

    chart: str
    table: Table


_count = format_count


def funnel_table(portal: dp.Portal) -> Table:
    total = portal.total
    assigned = total.stage("assigned").debtors
    rows = tuple(
        (
            s.label,
            s.debtors,
            s.positions,
            s.cents,
            dp.STAGE_AMOUNT_LABELS[s.stage],
            dp.percent(s.debtors, assigned),
        )
        for s in total.stages
    )
    columns = (
        Column("Fase"),
        Column("Debitori", "int"),
        Column("Posizioni", "int"),
        Column("Importo", "cents"),
        Column("Importo riferito a"),
        Column("% dei debitori affidati", "percent"),
    )
    return Table("fasi", "Dalla presa in carico alla riscossione", columns, rows)


GROUP_COLUMNS = (
    Column("Posizioni", "int"),
    Column("Debitori", "int"),
    Column("Carico", "cents"),
    Column("Debitori lavorati", "int"),
    Column("Debitori raggiunti", "int"),
    Column("Debitori con promessa", "int"),
    Column("Posizioni in piano", "int"),
    Column("Riscosso", "cents"),
    Column("Residuo", "cents"),
    Column("% riscossa", "percent"),
)


def _group_row(g: dp.GroupFigures) -> tuple[object, ...]:
    assigned = g.stage("assigned")
    return (
        g.key,
        assigned.positions,
        assigned.debtors,
        assigned.cents,
        g.stage("worked").debtors,
        g.stage("reached").debtors,
        g.stage("promised").debtors,
        g.stage("in_plan").positions,
        g.stage("collected").cents,
        g.stage("residual").cents,
        g.collected_percent,
    )


def group_table(name: str, groups: Sequence[dp.GroupFigures]) -> Table:
    title, first = GROUPS[name]
    rows = tuple(_group_row(g) for g in groups)
    return Table(name, f"Carico e riscosso {title}", (Column(first), *GROUP_COLUMNS), rows)


def weeks_table(weeks: Sequence[dp.Week]) -> Table:
    columns = (
        Column("Settimana"),
        Column("Periodo"),
        Column("Riscosso netto", "cents"),
        Column("Esiti registrati", "int"),
    )
    rows = tuple((w.label, w.period, w.collected_cents, w.outcomes) for w in weeks)
    return Table("settimane", "Andamento settimanale", columns, rows)


DEBTOR_COLUMNS = (
    Column("Codice fiscale"),
    Column("Nominativo"),
    Column("Posizioni", "int"),
    Column("Carico", "cents"),
    Column("Riscosso", "cents"),
    Column("Residuo", "cents"),
    Column("Contatti tentati", "int"),
    Column("Ultimo esito"),
    Column("Data ultimo esito", "datetime"),
)


def debtors_table(title: str, rows: Sequence[Any]) -> Table:
    """The drill-down's debtors (rows with the repository's columns)."""
    values = tuple(
        (
            r.fiscal_code,
            r.debtor_name,
            int(r.positions),
            int(r.assigned_cents),
            int(r.collected_cents),
            int(r.residual_cents),
            int(r.attempts),
            dp.outcome_label(r.last_outcome) if r.last_outcome else "",
            r.last_outcome_at,
        )
        for r in rows
    )
    return Table("debitori", title, DEBTOR_COLUMNS, values)


def _pairs(labels: Sequence[str], values: Sequence[str]) -> str:
    return "; ".join(f"{label}: {value}" for label, value in zip(labels, values, strict=True)) + "."


def funnel_figure(portal: dp.Portal) -> Figure:
    stages = portal.total.funnel
    labels = [s.label for s in stages]
    counts = tuple(s.debtors for s in stages)
    desc = "Numero di debitori in ciascuna fase. " + _pairs(labels, [_count(n) for n in counts])
    chart = svg.bar_chart(
        "grafico-fasi",
        "Debitori per fase, dalla presa in carico alla riscossione",
        desc,
        labels,
        [svg.Series("Debitori", counts)],
        _count,
    )
    return Figure(chart, funnel_table(portal))


def group_figure(name: str, groups: Sequence[dp.GroupFigures]) -> Figure:
    title = GROUPS[name][0]
    keys = [g.key for g in groups]
    assigned = tuple(g.stage("assigned").cents for g in groups)
    collected = tuple(g.stage("collected").cents for g in groups)
    desc = (
        f"Carico e riscosso {title}. "
        + ("Nessun dato. " if not groups else "")
        + " ".join(
            f"{k}: carico {format_euro(a)}, riscosso {format_euro(c)}."
            for k, a, c in zip(keys, assigned, collected, strict=True)
        )
    )
    series = [svg.Series("Carico", assigned, svg.PRIMARY), svg.Series("Riscosso", collected, svg.SUCCESS)]
    chart = svg.bar_chart(f"grafico-{name}", f"Carico e riscosso {title}", desc, keys, series, format_euro)
    return Figure(chart, group_table(name, groups))


def weekly_figures(weeks: Sequence[dp.Week]) -> tuple[str, str, Table]:
    """The net collected per week (columns) and the outcomes per week (a line), one table."""
    labels = [w.label for w in weeks]
    collected = [w.collected_cents for w in weeks]
    recorded = [w.outcomes for w in weeks]
    paid = svg.column_chart(
        "grafico-riscosso-settimanale",
        f"Riscosso netto per settimana (ultime {len(weeks)})",
        "Somme riscosse al netto di revoche e rimborsi, per settimana. "
        + _pairs(labels, [format_euro(c) for c in collected]),
        labels,
        collected,
        format_euro,
    )
    contacts = svg.line_chart(
        "grafico-esiti-settimanali",
        f"Esiti di contatto registrati per settimana (ultime {len(weeks)})",
        "Numero di esiti registrati dagli operatori, per settimana. "
        + _pairs(labels, [_count(n) for n in recorded]),
        labels,
        recorded,
        _count,
    )
    return paid, contacts, weeks_table(weeks)


def table(name: str, portal: dp.Portal) -> Table:
    """One of the portal's aggregate tables by its name (TABLES)."""
    if name == "fasi":
        return funnel_table(portal)
    if name == "entrate":
        return group_table(name, portal.by_type)
    if name == "anni":
        return group_table(name, portal.by_year)
    return weeks_table(portal.weeks)


def _stages_json(g: dp.GroupFigures) -> dict[str, dict[str, int]]:
    return {s.stage: {"debtors": s.debtors, "positions": s.positions, "cents": s.cents} for s in g.stages}


def summary_json(portal: dp.Portal) -> dict[str, Any]:
    """The portal's figures for `GET /api/v1/reporting/summary` (key `portal`): every stage in
    debtors, positions and cents (the cents of `collected` are collected, of `residual` residual,
    of the others the amount assigned on their positions), by revenue type, by year, per week."""
    return {
        "stages": _stages_json(portal.total),
        "funnel": list(dp.FUNNEL),
        "promised_cents": portal.promised_cents,
        "collected_percent": portal.total.collected_percent,
        "by_revenue_type": [{"revenue_type": g.key, "stages": _stages_json(g)} for g in portal.by_type],
        "by_year": [{"year": int(g.key), "stages": _stages_json(g)} for g in portal.by_year],
        "weeks": [
            {
                "week_start": w.start.isoformat(),
                "iso_week": f"{w.start.isocalendar()[0]}-W{w.start.isocalendar()[1]:02d}",
                "collected_cents": w.collected_cents,
                "outcomes": w.outcomes,
            }
            for w in portal.weeks
        ],
    }
