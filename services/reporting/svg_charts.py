"""Charts drawn on the server as SVG, without JavaScript: horizontal bars (one or more series),
columns and a line. Each names itself with <title> and <desc> (role="img", aria-labelledby), and
every bar or point carries its value (`data-value`) and prints it, so the table beside the chart
states the same figures. Colours from the Bootstrap Italia palette, at least 3:1 against white for
shapes (WCAG 1.4.11) and 4.5:1 for text. Pure: strings in, a string out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

# Bootstrap Italia: primary blue 5.6:1 on white, success green 5.1:1, dark slate 12.6:1.
PRIMARY = "#0066CC"
SUCCESS = "#008055"
SLATE = "#17324D"
TEXT = "#1A1A1A"
GRID = "#5C6F82"  # 5.0:1: the axis is a graphical object too
PALETTE = (PRIMARY, SUCCESS, SLATE)
FONT = 'font-family="Titillium Web, Geneva, Tahoma, sans-serif"'

Formatter = Callable[[int], str]


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[int, ...]
    colour: str = PRIMARY


def _text(value: str) -> str:
    return escape(value, quote=True)


def _open(chart_id: str, title: str, desc: str, width: int, height: int) -> list[str]:
    ident = _text(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" id="{ident}" class="chart" '
        f'aria-labelledby="{ident}-title {ident}-desc" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" {FONT}>',
        f'<title id="{ident}-title">{_text(title)}</title>',
        f'<desc id="{ident}-desc">{_text(desc)}</desc>',
    ]


def _scale(values: Sequence[int]) -> int:
    return max([1, *values])


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    fmt: Formatter,
    width: int = 720,
) -> str:
    """Horizontal bars: one group per category, one bar per series, each labelled with its value."""
    label_w, value_w, bar_h, gap = 210, 120, 18, 4
    group_h = len(series) * (bar_h + gap) + 12
    legend_h = 24 if len(series) > 1 else 0
    height = legend_h + max(1, len(categories)) * group_h + 8
    top = _scale([v for s in series for v in s.values])
    span = width - label_w - value_w
    out = _open(chart_id, title, desc, width, height)
    out += _legend(series, label_w) if legend_h else []
    out.append(f'<line x1="{label_w}" y1="{legend_h}" x2="{label_w}" y2="{height - 4}" stroke="{GRID}"/>')
    for i, category in enumerate(categories):
        y0 = legend_h + i * group_h + 6
        middle = y0 + (len(series) * (bar_h + gap)) / 2 + 4
        out.append(
            f'<text x="{label_w - 8}" y="{middle:.0f}" text-anchor="end" font-size="13" '
            f'fill="{TEXT}">{_text(category)}</text>'
        )
        for j, s in enumerate(series):
            value = s.values[i]
            y = y0 + j * (bar_h + gap)
            length = round(span * max(value, 0) / top)
            out.append(
                f'<rect x="{label_w}" y="{y}" width="{length}" height="{bar_h}" fill="{s.colour}" '
                f'data-series="{_text(s.name)}" data-value="{value}"/>'
            )
            out.append(
                f'<text x="{label_w + length + 6}" y="{y + bar_h - 4}" font-size="12" fill="{TEXT}" '
                f'class="value">{_text(fmt(value))}</text>'
            )
    out.append("</svg>")
    return "".join(out)


def _legend(series: Sequence[Series], x0: int) -> list[str]:
    out, x = [], x0
    for s in series:
        out.append(f'<rect x="{x}" y="4" width="14" height="14" fill="{s.colour}"/>')
        out.append(f'<text x="{x + 20}" y="16" font-size="12" fill="{TEXT}">{_text(s.name)}</text>')
        x += 40 + 8 * len(s.name)
    return out


def column_chart(
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    values: Sequence[int],
    fmt: Formatter,
    colour: str = SUCCESS,
    width: int = 720,
    height: int = 260,
) -> str:
    """Vertical columns (a week each, say), each with its value above (turned upright when wider
    than its column), the category below."""
    left, bottom = 12, 46
    slot = (width - left * 2) / max(1, len(categories))
    column = slot * 0.6
    labels = [fmt(v) for v in values]
    widest = max([0, *(len(label) for label in labels)]) * 6  # 10px text: about 6px a character
    upright = widest > slot - 4
    top_pad = widest + 10 if upright else 22
    plot_h = height - bottom - top_pad
    top = _scale(values)
    base = height - bottom
    out = _open(chart_id, title, desc, width, height)
    out.append(f'<line x1="{left}" y1="{base}" x2="{width - left}" y2="{base}" stroke="{GRID}"/>')
    for i, (category, value, label) in enumerate(zip(categories, values, labels, strict=True)):
        x = left + i * slot + (slot - column) / 2
        h = round(plot_h * max(value, 0) / top)
        centre = x + column / 2
        out.append(
            f'<rect x="{x:.1f}" y="{base - h}" width="{column:.1f}" height="{h}" fill="{colour}" '
            f'data-value="{value}"/>'
        )
        y = base - h - 5
        turn = f' transform="rotate(-90 {centre + 4:.1f} {y})"' if upright else ""
        anchor = "start" if upright else "middle"
        out.append(
            f'<text x="{centre + (4 if upright else 0):.1f}" y="{y}" text-anchor="{anchor}" font-size="10" '
            f'fill="{TEXT}" class="value"{turn}>{_text(label)}</text>'
        )
        out.extend(_category_below(category, centre, base))
    out.append("</svg>")
    return "".join(out)


def _category_below(category: str, centre: float, base: int) -> list[str]:
    """A category under its column or point, on two lines when it has a space ("Sett. 12/2026")."""
    head, _, tail = category.partition(" ")
    lines = [head, tail] if tail else [head]
    return [
        f'<text x="{centre:.1f}" y="{base + 16 + 14 * n}" text-anchor="middle" font-size="11" '
        f'fill="{TEXT}">{_text(line)}</text>'
        for n, line in enumerate(lines)
    ]


def line_chart(
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    values: Sequence[int],
    fmt: Formatter,
    colour: str = PRIMARY,
    width: int = 720,
    height: int = 260,
) -> str:
    """A line through one point per category, each point labelled with its value."""
    left, bottom, top_pad = 12, 46, 22
    slot = (width - left * 2) / max(1, len(categories))
    plot_h = height - bottom - top_pad
    top = _scale(values)
    base = height - bottom
    points = [(left + i * slot + slot / 2, base - plot_h * max(v, 0) / top) for i, v in enumerate(values)]
    out = _open(chart_id, title, desc, width, height)
    out.append(f'<line x1="{left}" y1="{base}" x2="{width - left}" y2="{base}" stroke="{GRID}"/>')
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
    for (x, y), category, value in zip(points, categories, values, strict=True):
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}" data-value="{value}"/>')
        out.append(
            f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" font-size="11" fill="{TEXT}" '
            f'class="value">{_text(fmt(value))}</text>'
        )
        out.extend(_category_below(category, x, base))
    out.append("</svg>")
    return "".join(out)
