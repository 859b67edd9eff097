"""The row rules of the domain modules, applied to thousands of rows at once as column operations.

Pure functions without I/O (polars). A big file is judged here in chunks: every rule of
`domain_verdicts.RowJudge` is written as a column expression (`columnar_rules`), and a row whose
cells all pass with plain values is accepted with the same normalised values and the same warnings
(codes and Italian messages) that the one-row rules would give it; a row that fails a rule on cells
read the same way is rejected with the same field and message (`columnar_rejections`). Every other
row (a phone number outside the common Italian shapes, a deciding cell, digits or dates outside
ASCII, a date before the year 1000) is judged by `RowJudge.judge_numbered` itself, so its verdict
and message are the one-row rule's by construction. `tests/ingest/test_columnar.py` compares the
two row by row on every fixture, on generated files and on hand-made edge cases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import polars as pl

from services.ingest.columnar_rejections import FIELD, MESSAGE, REASON, REJECTED, rejection
from services.ingest.columnar_rules import ASCII, WHITESPACE, stages
from services.ingest.domain_mapping import TEXT_MARKER, ColumnMapping
from services.ingest.domain_verdicts import RowJudge, RowVerdict, is_blank

# The columns of a stage record (`stage_record`) that come out of the frame: a rejected row's record
# has no credit, every row's has its contacts.
_CREDIT = ("fiscal_code", "name", "revenue_type", "year", "act_number", "amount_cents", "act_on")
_CONTACTS = ("phone", "email", "address")


# The stage table's columns (`repository_settle.STAGE_COLUMNS`) with their types; arrays travel as
# PostgreSQL array literals, so that a chunk goes to COPY as CSV written by polars.
STAGE_SCHEMA: dict[str, Any] = {
    "row_number": pl.Int64, "line_number": pl.Int64, "verdict": pl.String, "field": pl.String,
    "reason_it": pl.String, "warnings": pl.String, "warnings_it": pl.String, "fiscal_code": pl.String,
    "name": pl.String, "revenue_type": pl.String, "year": pl.Int64, "act_number": pl.String,
    "amount_cents": pl.Int64, "act_on": pl.Date, "phone": pl.String, "email": pl.String, "address": pl.String, "cells": pl.String,
}  # fmt: skip


_NO_CSE = pl.QueryOptFlags(comm_subexpr_elim=False)


def pg_array(items: Sequence[str]) -> str:
    """A PostgreSQL text[] literal: every element quoted, backslash and quote escaped."""
    return "{" + ",".join('"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items) + "}"


def _pg_array(texts: list[pl.Expr]) -> pl.Expr:
    quoted = [
        '"' + t.str.replace_all("\\", "\\\\", literal=True).str.replace_all('"', '\\"', literal=True) + '"'
        for t in texts
    ]
    return "{" + pl.concat_str(quoted, separator=",") + "}"


def stage_record(v: RowVerdict) -> tuple[Any, ...]:
    """The stage record of one verdict of the one-row rules, in `STAGE_SCHEMA` order."""
    c, k = v.credit, v.contacts
    warnings = [code for code, _ in v.warnings]
    return (
        v.row_number,
        v.line_number,
        v.verdict,
        v.field,
        v.reason_it,
        warnings,
        " ".join(m for _, m in v.warnings) or None,
        c.fiscal_code if c else None,
        c.name if c else None,
        c.revenue_type if c else None,
        c.year if c else None,
        c.act_number if c else None,
        c.amount_cents if c else None,
        c.act_on if c else None,
        k.phone if k else None,
        k.email if k else None,
        k.address if k else None,
        list(v.cells),
    )


def records_frame(records: Sequence[tuple[Any, ...]]) -> pl.DataFrame:
    """Stage records (`stage_record`) as a frame of `STAGE_SCHEMA`."""
    rows = [(*r[:5], pg_array(r[5]), *r[6:17], pg_array(r[17])) for r in records]
    return pl.DataFrame(rows, schema=STAGE_SCHEMA, orient="row")


def stage_frame(judge: RowJudge, rows: Sequence[tuple[int, int, list[str]]]) -> pl.DataFrame:
    """The stage records of numbered data rows (row number, line, cells), as `records_frame` would
    give them from the one-row rules, in row order."""
    cells = [c for _, _, c in rows]
    numbers = pl.DataFrame(
        {"row_number": [n for n, _, _ in rows], "line_number": [line for _, line, _ in rows]},
        schema={"row_number": pl.Int64, "line_number": pl.Int64},
    )
    width = len(cells[0])
    if all(len(c) == width for c in cells):
        raw = pl.DataFrame({f"raw_{i}": list(map(itemgetter(i), cells)) for i in range(width)})
        wide = width > max(judge.mapping.columns.values(), default=0)
        return _stage(judge, numbers, raw, lambda i: cells[i], None if wide else _frame(judge.mapping, cells))
    raw = pl.DataFrame({"raw": [pg_array(c) for c in cells]}, schema={"raw": pl.String})
    return _stage(judge, numbers, raw, lambda i: cells[i], _frame(judge.mapping, cells))


def split_block(
    block: Sequence[tuple[int, str | list[str]]], delimiter: str, mapping: ColumnMapping
) -> pl.DataFrame | None:
    """The data rows of a block of rows of a delimited file (`reader.csv_items`: a row's text, to be
    split at each delimiter, or its cells) as a frame of `line_number` and the cells `raw_0`… in file
    order, blank rows left out. None when the one-row path must take the block: rows of different
    widths or narrower than the mapping, or a row that may be a totals line (`_totals_suspect`; a
    lookalike only the rows after it tell apart: `RowJudge.admit`)."""
    texts = [(i, line, item) for i, (line, item) in enumerate(block) if isinstance(item, str)]
    parsed = [(i, line, item) for i, (line, item) in enumerate(block) if not isinstance(item, str)]
    split = (
        pl.DataFrame(
            {"pos": [i for i, _, _ in texts], "line_number": [n for _, n, _ in texts], "text": [t for _, _, t in texts]},
            schema={"pos": pl.Int64, "line_number": pl.Int64, "text": pl.String},
        )
        .filter(pl.col("text").str.strip_chars(WHITESPACE + delimiter) != "")
        .select("pos", "line_number", pl.col("text").str.split(delimiter).alias("cells"))
    )  # fmt: skip
    rows = [(i, line, cells) for i, line, cells in parsed if not is_blank(cells)]
    widths = set(split.get_column("cells").list.len().unique().to_list()) | {len(c) for _, _, c in rows}
    if len(widths) != 1 or (width := widths.pop()) <= max(mapping.columns.values(), default=0):
        return None
    raw = pl.concat(
        [
            split.select("pos", "line_number", *(pl.col("cells").list.get(i).alias(f"raw_{i}") for i in range(width))),
            pl.DataFrame(
                [(i, line, *cells) for i, line, cells in rows],
                schema={"pos": pl.Int64, "line_number": pl.Int64, **{f"raw_{i}": pl.String for i in range(width)}},
                orient="row",
            ),
        ]
    ).sort("pos").drop("pos")  # fmt: skip
    taxpayer = mapping.columns.get("taxpayer")
    if taxpayer is None or _totals_suspect(raw.get_column(f"raw_{taxpayer}")).any():
        return None
    return raw


def _totals_suspect(taxpayer: pl.Series) -> pl.Series:
    """Taxpayer cells of rows that `domain_verdicts.is_totals` may take for a totals line: empty, or starting
    with "total" as `domain.normalise_header` reads it (any cell outside ASCII, to be safe)."""
    return (
        (taxpayer.str.strip_chars(WHITESPACE) == "")
        | ~taxpayer.str.contains(ASCII)
        | taxpayer.str.to_lowercase().str.replace_all("[^a-z0-9]", "").str.starts_with("total")
    )


def stage_frame_split(judge: RowJudge, first_row: int, raw: pl.DataFrame) -> pl.DataFrame:
    """`stage_frame` of the rows of `split_block`, numbered from `first_row`."""
    numbers = pl.DataFrame(
        {"row_number": pl.int_range(first_row, first_row + raw.height, eager=True), "line_number": raw["line_number"]}
    )  # fmt: skip
    cells = raw.drop("line_number")
    return _stage(judge, numbers, cells, lambda i: list(cells.row(i)))


def _stage(
    judge: RowJudge,
    numbers: pl.DataFrame,
    raw: pl.DataFrame,
    cells_of: Callable[[int], list[str]],
    inputs: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The stage records of rows whose cells are the `raw_0`… columns of `raw` (or its `raw` array
    literals, with their `inputs` from `_frame`): the rows the column rules accept straight from
    the frame, the others (`cells_of` their position) from the one-row rules."""
    if inputs is None:  # `_frame` of cells as wide as the mapping
        inputs = raw.select(
            _trimmed(pl.col(f"raw_{i}")).alias(f"in_{name}") for name, i in judge.mapping.columns.items()
        )  # fmt: skip
    literal = (
        pl.col("raw") if "raw" in raw.columns else _pg_array([pl.col(f"raw_{i}") for i in range(raw.width)])
    )
    judged = _judged_frame(judge, inputs)
    result = pl.concat([numbers.lazy(), judged, raw.lazy()], how="horizontal").with_row_index("_at").collect()
    # The few rows not accepted: why they are rejected, where the column rules can tell (on those
    # rows only: the messages cost more than the rules).
    others = _rejected(judge, result.filter(~pl.col("ok")))
    accepted, rejected = pl.col("ok"), pl.col(REJECTED).fill_null(False)
    fast = pl.concat([result.filter(accepted), others.filter(rejected)], how="diagonal_relaxed").select(
        "row_number",
        "line_number",
        pl.when(rejected).then("rejected:" + pl.col(REASON)).otherwise(pl.lit("accepted")).alias("verdict"),
        pl.when(rejected).then(pl.col(FIELD)).alias("field"),
        pl.when(rejected).then(pl.col(MESSAGE)).alias("reason_it"),
        ("{" + pl.col("warnings").list.eval('"' + pl.element() + '"').list.join(",") + "}").alias("warnings"),
        "warnings_it",
        *(pl.when(accepted).then(pl.col(c)).alias(c) for c in _CREDIT),
        *_CONTACTS,
        literal.alias("cells"),
    )
    slow = others.filter(~rejected).get_column("_at").to_list()
    row_numbers, lines = numbers.get_column("row_number"), numbers.get_column("line_number")
    verdicts = (judge.judge_numbered(row_numbers[i], lines[i], cells_of(i)) for i in slow)
    handed_back = records_frame([stage_record(v) for v in verdicts])
    return pl.concat([fast.cast(STAGE_SCHEMA), handed_back]).sort("row_number")  # type: ignore[arg-type]


def stage_csv(frame: pl.DataFrame) -> bytes:
    """CSV for `COPY ... (FORMAT csv)`: text quoted, so that only a null is an unquoted empty field."""
    return frame.write_csv(include_header=False, quote_style="non_numeric").encode()


def judged_by_columns(judge: RowJudge, rows: Sequence[list[str]]) -> tuple[list[bool], list[bool]]:
    """For each row, whether the column rules accept it themselves, and whether they reject it
    themselves (the rest is handed back to the one-row rules)."""
    frame = _rejected(judge, _judged_frame(judge, _frame(judge.mapping, rows)).collect())
    return frame.get_column("ok").to_list(), frame.get_column(REJECTED).to_list()


def _judged_frame(judge: RowJudge, inputs: pl.DataFrame) -> pl.LazyFrame:
    """`_judged` of the `in_<field>` columns of `_frame`."""
    judged = inputs.lazy()
    for stage in stages(judge.mapping, judge.current_year, judge.today):
        judged = judged.with_columns(stage)
    return judged


def _rejected(judge: RowJudge, judged: pl.DataFrame) -> pl.DataFrame:
    """`judged` with the stages of `columnar_rejections.rejection` applied (`REJECTED` and why).
    Without common subexpressions: polars 1.35 does not broadcast their temporary columns and
    fails on some frames of a few rows ("unable to add a column of length 0 to a DataFrame of
    height 1"; pola-rs/polars pull request 27975)."""
    frame = judged.lazy()
    for stage in rejection(judge.mapping, judge.current_year):
        frame = frame.with_columns(stage)
    return frame.collect(optimizations=_NO_CSE)


def _frame(mapping: ColumnMapping, rows: Sequence[list[str]]) -> pl.DataFrame:
    """One text column per mapped field (`in_<field>`), stripped as `domain_mapping.row_values` strips cells."""
    widest = max(mapping.columns.values(), default=0)
    short = min(len(cells) for cells in rows) <= widest
    columns: dict[str, list[str]] = {}
    for name, index in mapping.columns.items():
        if short:
            columns[f"in_{name}"] = [cells[index] if index < len(cells) else "" for cells in rows]
        else:
            columns[f"in_{name}"] = list(map(itemgetter(index), rows))
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
    return frame.with_columns(_trimmed(pl.all()))


def _trimmed(text: pl.Expr) -> pl.Expr:
    """`domain_mapping.trimmed` of a column: the spaces around, a spreadsheet's text marker before."""
    return text.str.strip_chars(WHITESPACE).str.strip_prefix(TEXT_MARKER).str.strip_chars(WHITESPACE)
