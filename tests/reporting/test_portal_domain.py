"""The portal's pure parts: filters and pages, the weekly trend, the charts (accessible, with the
same figures as the tables beside them)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from services.kernel.errors import DomainError
from services.reporting import domain_portal as dp
from services.reporting import portal_content, svg_charts
from services.reporting.tabular import display_rows

SVG = "{http://www.w3.org/2000/svg}"


def group(key: str, **figures: tuple[int, int, int]) -> dp.GroupFigures:
    stages = tuple(dp.StageFigures(s, *figures.get(s, (0, 0, 0))) for s in dp.STAGES)
    return dp.GroupFigures(key, stages)


def sample() -> dp.Portal:
    total = group(
        "",
        assigned=(120, 150, 1_234_567),
        worked=(80, 100, 900_000),
        reached=(50, 60, 500_000),
        promised=(20, 25, 200_000),
        in_plan=(10, 12, 150_000),
        collected=(30, 35, 234_567),
        residual=(110, 140, 1_000_000),
    )
    imu = group("IMU", assigned=(70, 90, 834_567), collected=(20, 22, 134_567), worked=(50, 60, 1))
    tari = group("TARI <&>", assigned=(60, 60, 400_000), collected=(10, 13, 100_000))
    weeks = dp.weekly_trend(date(2026, 11, 30), {date(2026, 11, 23): 12_345}, {}, {date(2026, 11, 30): 7})
    watch = dp.limitation_watch(date(2026, 11, 30), [])
    return dp.Portal(total, (imu, tari), (group("2021", assigned=(1, 1, 5)),), weeks, 200_000, watch)


def test_the_page_is_bounded_and_refused_in_italian() -> None:
    assert dp.parse_page(None) == 1 and dp.parse_page("") == 1 and dp.parse_page("37") == 37
    for bad in ("0", "-1", "abc", "1e9", str(dp.MAX_PAGE + 1), "99999999999999999999"):
        with pytest.raises(DomainError) as refused:
            dp.parse_page(bad)
        assert refused.value.field == "page" and "pagina" in refused.value.message
        assert refused.value.status == 400


def test_filters_are_checked_field_by_field() -> None:
    today = date(2026, 12, 3)
    filt = dp.parse_filter({"entrata": "IMU", "anno": "2021", "fase": "reached", "page": "2"}, today)
    assert filt == dp.DebtorFilter("IMU", 2021, "reached", 2, today=today)
    assert filt.offset == dp.PAGE_SIZE
    assert filt.query() == "entrata=IMU&anno=2021&fase=reached"
    assert filt.query(3) == "entrata=IMU&anno=2021&fase=reached&page=3"
    assert dp.DebtorFilter(revenue_type="A&B C").query() == "entrata=A%26B+C"
    for params, field in (
        ({"anno": "21"}, "anno"),
        ({"fase": "tutti"}, "fase"),
        ({"entrata": "x" * 41}, "entrata"),
    ):
        with pytest.raises(DomainError) as refused:
            dp.parse_filter(params, today)
        assert refused.value.field == field
    assert dp.parse_filter({}, today) == dp.DebtorFilter(today=today)


def test_weekly_trend_has_every_week_monday_first_refunds_subtracted() -> None:
    today = date(2026, 11, 30)  # a Monday
    assert dp.trend_weeks(date(2026, 12, 6))[-1] == today  # Sunday: same ISO week
    weeks = dp.weekly_trend(
        today, {date(2026, 11, 23): 10_000, date(2026, 9, 14): 99}, {date(2026, 11, 23): 2_500}, {today: 3}
    )
    assert len(weeks) == 12
    assert weeks[0].start == date(2026, 9, 14) and weeks[-1].start == today
    assert all(w.start.weekday() == 0 for w in weeks)
    assert (weeks[-2].collected_cents, weeks[-1].outcomes, weeks[0].collected_cents) == (7_500, 3, 99)
    assert weeks[-1].label == "Sett. 49/2026"
    assert weeks[-1].period == "dal 30/11/2026 al 06/12/2026"


def test_percent_is_italian_and_safe_on_zero() -> None:
    assert dp.percent(1, 3) == "33,3%"
    assert dp.percent(5, 0) == "0,0%"


def accessible(chart: str) -> ET.Element:
    root = ET.fromstring(chart)  # noqa: S314 (our own SVG, not untrusted)
    assert root.get("role") == "img"
    ident = root.get("id")
    assert root.get("aria-labelledby") == f"{ident}-title {ident}-desc"
    assert root.find(f"{SVG}title").get("id") == f"{ident}-title"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").get("id") == f"{ident}-desc"  # type: ignore[union-attr]
    assert (root.find(f"{SVG}title").text or "").strip()  # type: ignore[union-attr]
    assert (root.find(f"{SVG}desc").text or "").strip()  # type: ignore[union-attr]
    return root


def values(root: ET.Element, tag: str = "rect", series: str | None = None) -> list[int]:
    found = [e for e in root.iter(f"{SVG}{tag}") if e.get("data-value") is not None]
    if series is not None:
        found = [e for e in found if e.get("data-series") == series]
    return [int(e.get("data-value", "")) for e in found]


def test_funnel_chart_is_accessible_and_states_the_tables_figures() -> None:
    figure = portal_content.funnel_figure(sample())
    root = accessible(figure.chart)
    table = figure.table
    funnel_rows = [r for r in table.rows if r[0] in [dp.STAGE_LABELS[s] for s in dp.FUNNEL]]
    assert values(root) == [r[1] for r in funnel_rows] == [120, 80, 50, 20, 10, 30]
    printed = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert printed == [display_rows(table)[i][1] for i in range(len(dp.FUNNEL))]
    assert "Affidati: 120" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    assert [c.header for c in table.columns][:4] == ["Fase", "Debitori", "Posizioni", "Importo"]


def test_revenue_type_chart_escapes_names_and_matches_its_table() -> None:
    figure = portal_content.group_figure("entrate", sample().by_type)
    assert "TARI &lt;&amp;&gt;" in figure.chart
    root = accessible(figure.chart)
    rows = figure.table.rows
    assert values(root, series="Carico") == [r[3] for r in rows] == [834_567, 400_000]
    assert values(root, series="Riscosso") == [r[8] for r in rows] == [134_567, 100_000]
    assert display_rows(figure.table)[0][3] == "€ 8.345,67"
    assert "IMU: carico € 8.345,67, riscosso € 1.345,67." in figure.chart


def test_weekly_charts_are_accessible_and_match_the_weeks_table() -> None:
    paid, contacts, table = portal_content.weekly_figures(sample().weeks)
    assert values(accessible(paid)) == [r[2] for r in table.rows]
    assert values(accessible(contacts), "circle") == [r[3] for r in table.rows]
    assert values(accessible(paid))[-2] == 12_345 and values(accessible(contacts), "circle")[-1] == 7


def test_an_empty_campaign_still_draws_valid_charts() -> None:
    weeks, watch = dp.weekly_trend(date(2026, 1, 1), {}, {}, {}), dp.limitation_watch(date(2026, 1, 1), [])
    empty = dp.Portal(dp.empty_group(), (), (), weeks, 0, watch)
    accessible(portal_content.funnel_figure(empty).chart)
    accessible(portal_content.group_figure("anni", ()).chart)
    for chart in portal_content.weekly_figures(empty.weeks)[:2]:
        accessible(chart)


def test_chart_colours_are_from_the_accessible_palette() -> None:
    chart = portal_content.funnel_figure(sample()).chart
    fills = set(re.findall(r'fill="(#[0-9A-Fa-f]{6})"', chart))
    assert fills <= {svg_charts.PRIMARY, svg_charts.SUCCESS, svg_charts.SLATE, svg_charts.TEXT}


def luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


@pytest.mark.parametrize(
    "colour", [svg_charts.PRIMARY, svg_charts.SUCCESS, svg_charts.SLATE, svg_charts.TEXT]
)
def test_every_colour_reaches_aa_contrast_on_white(colour: str) -> None:
    ratio = (1.05) / (luminance(colour) + 0.05)
    assert ratio >= 4.5, (colour, ratio)


def test_wide_column_labels_stand_upright_and_keep_their_value() -> None:
    weeks = dp.weekly_trend(date(2026, 11, 30), {date(2026, 11, 23): 123_456_789}, {}, {})
    chart = portal_content.weekly_figures(weeks)[0]
    root = accessible(chart)
    assert "rotate(-90" in chart and "€ 1.234.567,89" in chart
    assert values(root)[-2] == 123_456_789


def _row(run_out: bool, month: date | None, debtors: int, positions: int, cents: int, first: date) -> dict:
    return {"run_out": run_out, "month": month, "debtors": debtors, "positions": positions, "cents": cents,
            "first_on": first}  # fmt: skip


def test_the_limitation_watch_looks_a_year_ahead_month_by_month() -> None:
    rows = [
        _row(True, None, 2, 3, 35_000, date(2025, 1, 1)),
        _row(False, None, 4, 5, 120_001, date(2026, 12, 17)),
        _row(False, date(2027, 3, 1), 1, 1, 1, date(2027, 3, 17)),
        _row(False, date(2026, 12, 1), 3, 4, 120_000, date(2026, 12, 17)),
    ]
    watch = dp.limitation_watch(date(2026, 12, 3), rows)
    assert watch.until == date(2027, 12, 3)
    assert (watch.soon.debtors, watch.soon.positions, watch.soon.cents) == (4, 5, 120_001)
    assert (watch.barred.debtors, watch.barred.positions, watch.barred.cents) == (2, 3, 35_000)
    assert [(m.label, m.first_on, m.cents) for m in watch.months] == [
        ("dicembre 2026", date(2026, 12, 17), 120_000),
        ("marzo 2027", date(2027, 3, 17), 1),
    ]
    assert watch.first_on == date(2026, 12, 17)
    # Nothing owed: zeros, not a missing figure.
    empty = dp.limitation_watch(date(2026, 12, 3), [])
    assert (empty.soon.positions, empty.barred.cents, empty.months, empty.first_on) == (0, 0, (), None)
    # A year on from 29 February is 28 February.
    assert dp.limitation_until(date(2028, 2, 29)) == date(2029, 2, 28)
