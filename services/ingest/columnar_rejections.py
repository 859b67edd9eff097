"""Why a row is rejected, as polars column expressions: `domain_verdicts.parse_values` for the rows
whose cells the column rules read exactly as the one-row rules do.

Pure functions without I/O. `rejection` walks the same steps as `parse_values` (taxpayer, revenue
type, year, act number, amount): the first step that fails gives the field, the reason and the
Italian message, written from the templates of `domain`; a step whose cell the column rules may
read differently (text outside ASCII, say) leaves the row to the one-row rules, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import polars as pl

from services.ingest import domain
from services.ingest.columnar_rules import (
    ASCII,
    PLAIN,
    Row,
    amount_compact,
    amount_known,
    amount_pieces,
)
from services.ingest.domain_mapping import ColumnMapping

# Columns of the last stage: whether the column rules reject the row themselves, and why.
REJECTED, FIELD, REASON, MESSAGE = "_rejected", "_reject_field", "_reject_reason", "_reject_message"


@dataclass(frozen=True)
class _Step:
    """One rule of `parse_values`: `known` when the column rules read its cell exactly, `message`
    the Italian reason when it fails (null when it passes)."""

    field: str
    reason: str
    known: pl.Expr
    message: pl.Expr


def _text(template: str, *parts: pl.Expr | str | int) -> pl.Expr:
    """`template.format(*parts)` of column expressions."""
    pieces = template.split("{}")
    assert len(pieces) == len(parts) + 1
    out: list[pl.Expr] = [pl.lit(pieces[0])]
    for part, piece in zip(parts, pieces[1:], strict=True):
        out += [part if isinstance(part, pl.Expr) else pl.lit(str(part)), pl.lit(piece)]
    return pl.concat_str(out)


def _chain(cases: list[tuple[pl.Expr, pl.Expr]], otherwise: pl.Expr) -> pl.Expr:
    """`pl.when(c1).then(v1).when(c2).then(v2)…otherwise(otherwise)`."""
    chain: Any = pl
    for condition, value in cases:
        chain = chain.when(condition).then(value)
    return cast(pl.Expr, chain.otherwise(otherwise))


def _first(*cases: tuple[pl.Expr, str | pl.Expr]) -> pl.Expr:
    """The message of the first case whose condition holds, null when none does."""
    return _chain([(condition, _lit(message)) for condition, message in cases], pl.lit(None, pl.String))


def _lit(message: str | pl.Expr) -> pl.Expr:
    return pl.lit(message) if isinstance(message, str) else message


def _amount_step(text: pl.Expr, name: str, allow_zero: bool) -> _Step:
    """`domain.parse_amount` of an amount cell."""
    compact = amount_compact(text)
    whole, decimals, cents = amount_pieces(name)
    cases: list[tuple[pl.Expr, str | pl.Expr]] = [
        (compact == "", domain.AMOUNT_MISSING),
        (
            compact.str.starts_with("-") | (compact.str.starts_with("(") & compact.str.ends_with(")")),
            _text(domain.AMOUNT_NEGATIVE, text),
        ),
        (whole.is_null(), _text(domain.AMOUNT_UNREADABLE, text)),
        (decimals.str.len_chars() > 2, _text(domain.AMOUNT_DECIMALS, text)),
        (
            whole.str.strip_chars_start("0").str.len_chars() > domain.MAX_DIGITS,
            _text(domain.AMOUNT_OUT_OF_SCALE, text),
        ),
    ]
    if not allow_zero:
        cases.append((cents == 0, domain.AMOUNT_ZERO))
    known = amount_known(text) & ((compact == "") | whole.is_null() | cents.is_not_null())
    return _Step("amount", "amount", known, _first(*cases))


def _amount_steps(row: Row, amounts: list[str]) -> list[_Step]:
    """`domain_verdicts.amount_due`: the residual amount, or what is due less what was paid."""
    if len(amounts) == 1:
        return [_amount_step(row.get("amount"), "amount", allow_zero=False)]
    has_paid = row.present("amount_paid")
    paid = _amount_step(row.get("amount_paid"), "amount_paid", allow_zero=True)
    left = pl.col("_amount_due_cents") - pl.when(has_paid).then(pl.col("_amount_paid_cents")).otherwise(0)
    return [
        _amount_step(row.get("amount_due"), "amount_due", allow_zero=False),
        _Step("amount", "amount", ~has_paid | paid.known, pl.when(has_paid).then(paid.message)),
        _Step("amount", "nothing_due", left.is_not_null(), _first((left <= 0, domain.NOTHING_DUE))),
    ]


def _steps(row: Row, amounts: list[str], current_year: int) -> list[_Step]:
    code, year, act = pl.col("fiscal_code"), pl.col("year"), pl.col("act_number")
    revenue_text = row.get("revenue_type")
    year_text = row.get("year")
    return [
        _Step(
            "taxpayer",
            "taxpayer",
            row.get("taxpayer").str.contains(ASCII) & pl.col("_cf_ok").is_not_null(),
            _first(
                (code == "", domain.TAXPAYER_MISSING),
                (~pl.col("_cf_ok"), _text(domain.TAXPAYER_INVALID, code)),
            ),
        ),
        _Step(
            "revenue_type",
            "revenue_type",
            revenue_text.str.contains(ASCII),
            _first(
                (
                    pl.col("revenue_type").is_null(),
                    pl.when(revenue_text == "")
                    .then(pl.lit(domain.REVENUE_TYPE_MISSING))
                    .otherwise(_text(domain.REVENUE_TYPE_UNKNOWN, revenue_text)),
                )
            ),
        ),
        _Step(
            "year",
            "year",
            pl.lit(True),
            _first(
                (~pl.col("_year").str.contains(r"^[0-9]{4}$"), _text(domain.YEAR_INVALID, year_text)),
                (
                    (year < domain.MIN_YEAR) | (year > current_year),
                    _text(domain.YEAR_OUT_OF_RANGE, year.cast(pl.String), domain.MIN_YEAR, current_year),
                ),
            ),
        ),
        _Step(
            "act_number",
            "act_number",
            pl.lit(True),
            _first(
                (act.str.len_chars() == 0, domain.ACT_MISSING),
                (act.str.len_chars() > domain.ACT_MAX_LENGTH, domain.ACT_TOO_LONG),
            ),
        ),
        *_amount_steps(row, amounts),
    ]


def rejection(mapping: ColumnMapping, current_year: int) -> list[list[pl.Expr]]:
    """The stages after `columnar_rules.stages` (for the rows it does not accept): `REJECTED` (the
    column rules give the row's rejection themselves: its first failing step is known, the steps
    before it pass and are known, and `PLAIN` holds: the rest of its record, contacts and warnings,
    is theirs too), with `FIELD`, `REASON` and `MESSAGE` of that step. Each step's test and message
    is a column of its own: one expression built of them all costs more to plan than to run."""
    row = Row(mapping)
    steps = _steps(row, row.amounts, current_year)
    known, failed = (
        [pl.col(f"_rj_known_{i}") for i in range(len(steps))],
        [pl.col(f"_rj_message_{i}") for i in range(len(steps))],
    )
    decided = _chain(
        [
            c
            for i in range(len(steps))
            for c in ((~known[i], pl.lit(-1)), (failed[i].is_not_null(), pl.lit(i + 1)))
        ],
        pl.lit(0),
    )
    at = pl.col("_rj_step")

    def pick(values: list[pl.Expr]) -> pl.Expr:
        return _chain([(at == i, value) for i, value in enumerate(values, start=1)], pl.lit(None, pl.String))

    return [
        [
            *(step.known.fill_null(False).alias(f"_rj_known_{i}") for i, step in enumerate(steps)),
            *(step.message.alias(f"_rj_message_{i}") for i, step in enumerate(steps)),
        ],
        [decided.alias("_rj_step")],
        [
            ((at > 0) & pl.col(PLAIN)).alias(REJECTED),
            pick([pl.lit(step.field) for step in steps]).alias(FIELD),
            pick([pl.lit(step.reason) for step in steps]).alias(REASON),
            pick(failed).alias(MESSAGE),
        ],
    ]
