"""The row rules of `domain`, applied to thousands of rows at once as column operations (polars).

Pure functions without I/O. A big file is judged here in chunks: every rule of `domain.RowJudge`
is written as a column expression, and a row whose cells all pass with plain values is accepted
with the same normalised values and the same warnings (codes and Italian messages) that the
one-row rules would give it. Every other row (any rejection, a phone number outside
the common Italian shapes, digits or dates outside ASCII, a date before the year 1000) is judged by
`RowJudge.judge_numbered` itself, so its verdict and message are the one-row rule's by
construction. `tests/ingest/test_columnar.py` compares the two row by row on every fixture, on
generated files and on hand-made edge cases.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import date
from operator import itemgetter
from typing import Any

import polars as pl
from stdnum.it import codicefiscale

from services.ingest.domain import (
    ADDRESS_FIELDS,
    MIN_YEAR,
    REVENUE_ALIASES,
    TEXT_FIELDS,
    ColumnMapping,
    RowJudge,
    RowVerdict,
    is_blank,
    limitation_date,
)

# Python's whitespace (str.split, str.strip and `\s` in `re` all use it), as a regex class: the
# Rust regex `\s` is Unicode White_Space, which differs (U+001C..U+001F).
WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
_WS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"
_ASCII = r"^[\x00-\x7f]*$"
_CF = r"^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$"
_CF_DIGITS = {**{str(n): n for n in range(10)}, **{c: n for n, c in enumerate("LMNPQRSTUV")}}
_CF_MONTHS = {c: n + 1 for n, c in enumerate("ABCDEHLMPRST")}
_LETTERS = {c: n for n, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
# The check-character tables of python-stdnum, whose calc_check_digit the one-row rules use.
_ODD: dict[str, int] = codicefiscale._odd_values
_EVEN: dict[str, int] = codicefiscale._even_values
_IT_AMOUNT = r"^\+?([0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,([0-9]+))?$"
_PLAIN_AMOUNT = r"^\+?([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?$"
_MAX_DIGITS = 13
_MOBILE = r"^(?:\+39|0039)?(3[0-9]{8,9})$"
_LANDLINE = r"^(?:\+39|0039)?(0[0-9]{5,10})$"
_EMAIL = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
_DATE_IT = r"^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})$"
_DATE_ISO = r"^([0-9]{4})-([0-9]{2})-([0-9]{2})"
_FORMULA = r"^[=+\-@\t\r]"
# The columns of a stage record (`stage_record`) that come out of the frame.
_OUT = ("warnings", "warnings_it", "fiscal_code", "name", "revenue_type", "year", "act_number", "amount_cents",
        "phone", "email", "address")  # fmt: skip


# The stage table's columns (`repository.STAGE_COLUMNS`) with their types; arrays travel as
# PostgreSQL array literals, so that a chunk goes to COPY as CSV written by polars.
STAGE_SCHEMA: dict[str, Any] = {
    "row_number": pl.Int64, "line_number": pl.Int64, "verdict": pl.String, "field": pl.String,
    "reason_it": pl.String, "warnings": pl.String, "warnings_it": pl.String, "fiscal_code": pl.String,
    "name": pl.String, "revenue_type": pl.String, "year": pl.Int64, "act_number": pl.String,
    "amount_cents": pl.Int64, "phone": pl.String, "email": pl.String, "address": pl.String, "cells": pl.String,
}  # fmt: skip


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
        k.phone if k else None,
        k.email if k else None,
        k.address if k else None,
        list(v.cells),
    )


def records_frame(records: Sequence[tuple[Any, ...]]) -> pl.DataFrame:
    """Stage records (`stage_record`) as a frame of `STAGE_SCHEMA`."""
    rows = [(*r[:5], pg_array(r[5]), *r[6:16], pg_array(r[16])) for r in records]
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
    """Taxpayer cells of rows that `domain.is_totals` may take for a totals line: empty, or starting
    with "total" as `domain.normalise_header` reads it (any cell outside ASCII, to be safe)."""
    return (
        (taxpayer.str.strip_chars(WHITESPACE) == "")
        | ~taxpayer.str.contains(_ASCII)
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
            pl.col(f"raw_{i}").str.strip_chars(WHITESPACE).alias(f"in_{name}") for name, i in judge.mapping.columns.items()
        )  # fmt: skip
    literal = (
        pl.col("raw") if "raw" in raw.columns else _pg_array([pl.col(f"raw_{i}") for i in range(raw.width)])
    )
    judged = _judged_frame(judge, inputs)
    result = pl.concat([numbers.lazy(), judged, raw.lazy()], how="horizontal").collect()
    fast = result.filter(pl.col("ok")).select(
        "row_number",
        "line_number",
        pl.lit("accepted").alias("verdict"),
        pl.lit(None, pl.String).alias("field"),
        pl.lit(None, pl.String).alias("reason_it"),
        ("{" + pl.col("warnings").list.eval('"' + pl.element() + '"').list.join(",") + "}").alias("warnings"),
        *_OUT[1:],
        literal.alias("cells"),
    )
    slow = result.get_column("ok").not_().arg_true().to_list()
    row_numbers, lines = numbers.get_column("row_number"), numbers.get_column("line_number")
    verdicts = (judge.judge_numbered(row_numbers[i], lines[i], cells_of(i)) for i in slow)
    handed_back = records_frame([stage_record(v) for v in verdicts])
    return pl.concat([fast.cast(STAGE_SCHEMA), handed_back]).sort("row_number")  # type: ignore[arg-type]


def stage_csv(frame: pl.DataFrame) -> bytes:
    """CSV for `COPY ... (FORMAT csv)`: text quoted, so that only a null is an unquoted empty field."""
    return frame.write_csv(include_header=False, quote_style="non_numeric").encode()


def accepted_by_columns(judge: RowJudge, rows: Sequence[list[str]]) -> list[bool]:
    """For each row, whether the column rules accept it themselves (the rest is handed back)."""
    return _judged(judge, rows).select("ok").collect().get_column("ok").to_list()


def _judged(judge: RowJudge, rows: Sequence[list[str]]) -> pl.LazyFrame:
    """The frame of `rows` with every stage of the rules applied (`ok` and the `_OUT` columns)."""
    return _judged_frame(judge, _frame(judge.mapping, rows))


def _judged_frame(judge: RowJudge, inputs: pl.DataFrame) -> pl.LazyFrame:
    """`_judged` of the `in_<field>` columns of `_frame`."""
    judged = inputs.lazy()
    for stage in _stages(judge.mapping, judge.current_year, judge.today):
        judged = judged.with_columns(stage)
    return judged


def _frame(mapping: ColumnMapping, rows: Sequence[list[str]]) -> pl.DataFrame:
    """One text column per mapped field (`in_<field>`), stripped as `domain.row_values` strips cells."""
    widest = max(mapping.columns.values(), default=0)
    short = min(len(cells) for cells in rows) <= widest
    columns: dict[str, list[str]] = {}
    for name, index in mapping.columns.items():
        if short:
            columns[f"in_{name}"] = [cells[index] if index < len(cells) else "" for cells in rows]
        else:
            columns[f"in_{name}"] = list(map(itemgetter(index), rows))
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
    return frame.with_columns(pl.all().str.strip_chars(WHITESPACE))


class _Row:
    """Column expressions for the mapped fields of a frame."""

    def __init__(self, mapping: ColumnMapping) -> None:
        self.mapped = set(mapping.columns)

    def get(self, name: str) -> pl.Expr:
        """`values.get(name, "")`."""
        return pl.col(f"in_{name}") if name in self.mapped else pl.lit("")

    def present(self, name: str) -> pl.Expr:
        """`bool(values.get(name))`."""
        return pl.col(f"in_{name}") != "" if name in self.mapped else pl.lit(False)


def _collapse(text: pl.Expr) -> pl.Expr:
    """`" ".join(text.split())`."""
    return text.str.replace_all(_WS + "+", " ").str.strip_chars(" ")


def _ascii(text: pl.Expr) -> pl.Expr:
    return text.str.contains(_ASCII)


def _days_in_month(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return (
        pl.when(month == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )


def _valid_date(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    return (month >= 1) & (month <= 12) & (day >= 1) & (day <= _days_in_month(year, month))


def _codice_fiscale(code: pl.Expr) -> pl.Expr:
    """`domain.is_valid_codice_fiscale` on a normalised code: format, check character, birth date."""

    def char(i: int, table: dict[str, int]) -> pl.Expr:
        return code.str.slice(i, 1).replace_strict(table, default=None, return_dtype=pl.Int32)

    check = pl.sum_horizontal([char(i, _ODD if i % 2 == 0 else _EVEN) for i in range(15)]) % 26
    two_digits = char(6, _CF_DIGITS) * 10 + char(7, _CF_DIGITS)
    year = pl.when(two_digits >= 20).then(1900 + two_digits).otherwise(2000 + two_digits)
    day = (char(9, _CF_DIGITS) * 10 + char(10, _CF_DIGITS)) % 40
    month = char(8, _CF_MONTHS)
    return code.str.contains(_CF) & (char(15, _LETTERS) == check) & _valid_date(year, month, day)


def _partita_iva(code: pl.Expr) -> pl.Expr:
    """python-stdnum's `it.iva.is_valid` on a normalised code: 11 digits, not all zero in the first
    seven, a province office code, the Luhn check digit."""
    digits = [code.str.slice(i, 1).cast(pl.Int32, strict=False) for i in range(11)]
    doubled = [d * 2 - pl.when(d >= 5).then(9).otherwise(0) for d in digits[1::2]]
    office = code.str.slice(7, 3)
    return (
        code.str.contains(r"^[0-9]{11}$")
        & (code.str.slice(0, 7) != "0000000")
        & (((office >= "001") & (office <= "100")) | office.is_in(["120", "121", "888", "999"]))
        & ((pl.sum_horizontal(digits[0::2]) + pl.sum_horizontal(doubled)) % 10 == 0)
    )


def _amount_parts(text: pl.Expr, name: str) -> list[pl.Expr]:
    """First stage of `domain.parse_amount`: the regex matches of the compacted text."""
    compact = text.str.to_uppercase().str.replace_all(_WS + "|€|EUR", "")
    return [
        compact.str.extract_groups(_IT_AMOUNT).alias(f"_{name}_it"),
        compact.str.extract_groups(_PLAIN_AMOUNT).alias(f"_{name}_plain"),
    ]


def _amount(text: pl.Expr, name: str, allow_zero: bool) -> list[pl.Expr]:
    """Second stage of `domain.parse_amount` for amounts it accepts: `_{name}_cents` and
    `_{name}_ok` (readable here)."""
    italian, plain = pl.col(f"_{name}_it"), pl.col(f"_{name}_plain")
    is_italian = italian.struct.field("1").is_not_null()
    whole = (
        pl.when(is_italian)
        .then(italian.struct.field("1").str.replace_all(".", "", literal=True))
        .otherwise(plain.struct.field("1").str.replace_all(",", "", literal=True))
    )
    decimals = (
        pl.when(is_italian).then(italian.struct.field("2")).otherwise(plain.struct.field("2")).fill_null("")
    )
    cents = whole.cast(pl.Int64, strict=False) * 100 + decimals.str.pad_end(2, "0").cast(
        pl.Int64, strict=False
    )
    readable = (
        text.str.contains(r"^[\x00-\x7f€]*$")
        & whole.is_not_null()
        & (decimals.str.len_chars() <= 2)
        & (whole.str.strip_chars_start("0").str.len_chars() <= _MAX_DIGITS)
        & cents.is_not_null()
    )
    if not allow_zero:
        readable = readable & (cents > 0)
    return [cents.alias(f"_{name}_cents"), readable.fill_null(False).alias(f"_{name}_ok")]


def _date_parts(text: pl.Expr, name: str) -> list[pl.Expr]:
    """First stage of `domain.parse_date`: the regex matches of `text`, as struct columns."""
    return [
        text.str.extract_groups(_DATE_IT).alias(f"_{name}_it"),
        text.str.extract_groups(_DATE_ISO).alias(f"_{name}_iso"),
    ]


def _date(text: pl.Expr, name: str) -> list[pl.Expr]:
    """Second stage of `domain.parse_date`: `_{name}_key` (yyyymmdd or null), `_{name}_read`
    (readable here) and `_{name}_unread` (unreadable here); a text that is neither (outside ASCII,
    a year before 1000) is left to the one-row rules."""
    italian, iso = pl.col(f"_{name}_it"), pl.col(f"_{name}_iso")
    is_italian = italian.struct.field("1").is_not_null()
    is_iso = iso.struct.field("1").is_not_null()

    def part(it: str, iso_part: str) -> pl.Expr:
        return (
            pl.when(is_italian)
            .then(italian.struct.field(it))
            .otherwise(iso.struct.field(iso_part))
            .cast(pl.Int32, strict=False)
        )

    year, month, day = part("3", "1"), part("2", "2"), part("1", "3")
    valid = ((is_italian | is_iso) & (year >= 1) & _valid_date(year, month, day)).fill_null(False)
    known = _ascii(text) & ~(valid & (year < 1000)) & (text != "")
    return [
        pl.when(valid).then(year * 10000 + month * 100 + day).alias(f"_{name}_key"),
        (known & valid).alias(f"_{name}_read"),
        (known & ~valid).alias(f"_{name}_unread"),
    ]


def _stages(mapping: ColumnMapping, current_year: int, today: date) -> list[list[pl.Expr]]:
    """The rules as successive column stages (each stage reads the columns of the ones before: an
    expression used twice is computed once). The last stage has `ok` and the `_OUT` columns."""
    row = _Row(mapping)
    get = row.get
    amounts = ["amount"] if "amount" in row.mapped else ["amount_due", "amount_paid"]

    # Stage 1: normalised values and regex matches.
    first = [
        get("taxpayer").str.replace_all(_WS, "").str.to_uppercase().alias("fiscal_code"),
        get("revenue_type")
        .str.to_uppercase()
        .str.replace_all(_WS + r"|\.", "")
        .replace_strict(REVENUE_ALIASES, default=None, return_dtype=pl.String)
        .alias("revenue_type"),
        get("year").str.strip_suffix(".0").alias("_year"),
        _collapse(get("act_number")).alias("act_number"),
        get("phone").str.replace_all(_WS + r"|[./()\-]", "").alias("_phone"),
        get("email").str.to_lowercase().alias("_email"),
        *_date_parts(get("act_date"), "act"),
        *_date_parts(get("due_date"), "due"),
        *(e for f in amounts for e in _amount_parts(get(f), f)),
    ]

    # Stage 2: the credit (`domain.parse_values`), the name and the contacts.
    def nonempty(name: str) -> pl.Expr:
        return pl.when(get(name) != "").then(get(name))

    joined = pl.concat_str([nonempty("surname"), nonempty("first_name")], separator=" ", ignore_nulls=True)
    name = pl.coalesce(nonempty("name"), nonempty("company"), joined, pl.lit(""))
    national = pl.coalesce(
        pl.col("_phone").str.extract(_MOBILE, 1), pl.col("_phone").str.extract(_LANDLINE, 1)
    )
    email = pl.col("_email")
    parts = [pl.when(get(f) != "").then(get(f)) for f in ("address", "postcode", "city", "province")]
    second = [
        (_codice_fiscale(pl.col("fiscal_code")) | _partita_iva(pl.col("fiscal_code"))).alias("_cf_ok"),
        pl.col("_year").cast(pl.Int32, strict=False).alias("year"),
        _collapse(name).str.slice(0, 300).alias("name"),
        pl.when(national.is_not_null()).then(pl.lit("+39") + national).alias("phone"),
        # A number in another shape needs phonenumbers: the one-row rules judge that row.
        (national.is_not_null() | ~pl.col("_phone").str.contains("[0-9]")).alias("_phone_ok"),
        pl.when((get("email") != "") & (email.str.len_chars() <= 254) & email.str.contains(_EMAIL))
        .then(email)
        .alias("email"),
        _collapse(pl.concat_str(parts, separator=" ", ignore_nulls=True)).str.slice(0, 300).alias("address"),
        *_date(get("act_date"), "act"),
        *_date(get("due_date"), "due"),
        *_amount(get(amounts[0]), amounts[0], allow_zero=False),
        *(_amount(get("amount_paid"), "amount_paid", allow_zero=True) if len(amounts) > 1 else []),
    ]

    # Stage 3: the amount due, the verdict and the warnings (`domain.row_warnings`, in its order).
    if len(amounts) == 1:
        amount = pl.col("_amount_cents")
        amount_ok = [pl.col("_amount_ok")]
    else:
        has_paid = row.present("amount_paid")
        amount = pl.col("_amount_due_cents") - pl.when(has_paid).then(pl.col("_amount_paid_cents")).otherwise(
            0
        )
        amount_ok = [pl.col("_amount_due_ok"), ~has_paid | pl.col("_amount_paid_ok"), amount > 0]
    year, act_number = pl.col("year"), pl.col("act_number")
    ok = [
        _ascii(get("taxpayer")),
        pl.col("_cf_ok"),
        _ascii(get("revenue_type")),
        pl.col("revenue_type").is_not_null(),
        pl.col("_year").str.contains(r"^[0-9]{4}$"),
        year >= MIN_YEAR,
        year <= current_year,
        act_number.str.len_chars() >= 1,
        act_number.str.len_chars() <= 100,
        *amount_ok,
        _ascii(get("phone")),
        pl.col("_phone_ok"),
        *(pl.col(f"_{d}_read") | pl.col(f"_{d}_unread") | (get(f"{d}_date") == "") for d in ("act", "due")),
    ]
    address_missing = [get(f) == "" for f in ADDRESS_FIELDS if f in row.mapped]
    act_unread, due_unread = pl.col("_act_unread"), pl.col("_due_unread")
    shown = pl.when(act_unread).then(get("act_date")).otherwise(get("due_date"))
    limit = limitation_date(today)
    act_day = pl.coalesce(pl.col("_act_key"), pl.col("_due_key"))
    formatted = (
        (act_day % 100).cast(pl.String).str.zfill(2)
        + "/"
        + (act_day // 100 % 100).cast(pl.String).str.zfill(2)
        + "/"
        + (act_day // 10000).cast(pl.String)
    )
    formulas = [get(f).str.contains(_FORMULA) for f in TEXT_FIELDS if f in row.mapped]
    messages: list[tuple[str, pl.Expr, pl.Expr]] = [
        ("phone", row.present("phone") & pl.col("phone").is_null(), "Telefono non utilizzabile: «" + get("phone") + "»."),
        ("email", row.present("email") & pl.col("email").is_null(), "E-mail non valida: «" + get("email") + "»."),
        (
            "address",
            pl.any_horizontal(address_missing) if address_missing else pl.lit(False),
            pl.lit("Indirizzo incompleto (via, CAP o comune mancante)."),
        ),
        ("date", act_unread | due_unread, "Data non leggibile: «" + shown + "» (attese gg/mm/aaaa o aaaa-mm-gg)."),
        (
            "limitation",
            act_day < limit.year * 10000 + limit.month * 100 + limit.day,
            "Atto del " + formatted + ": oltre il termine di prescrizione di cinque anni.",
        ),
        (
            "formula",
            pl.any_horizontal(formulas) if formulas else pl.lit(False),
            pl.lit("Testo che inizia con = + - @: neutralizzato nelle esportazioni."),
        ),
    ]  # fmt: skip
    third = [
        pl.all_horizontal([c.fill_null(False) for c in ok]).alias("ok"),
        amount.alias("amount_cents"),
        *(when.fill_null(False).alias(f"_w_{code}") for code, when, _ in messages),
        *(text.alias(f"_m_{code}") for code, _, text in messages),
    ]
    codes = [code for code, _, _ in messages]
    warnings_it = pl.concat_str(
        [pl.when(pl.col(f"_w_{c}")).then(pl.col(f"_m_{c}")) for c in codes], separator=" ", ignore_nulls=True
    )
    fourth = [
        pl.concat_list([pl.when(pl.col(f"_w_{c}")).then(pl.lit(c)) for c in codes])
        .list.drop_nulls()
        .alias("warnings"),
        pl.when(warnings_it != "").then(warnings_it).alias("warnings_it"),
        year.cast(pl.Int64),
    ]
    return [first, second, third, fourth]
