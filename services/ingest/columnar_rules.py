"""The row rules of the domain modules as polars column expressions, stage after stage (`stages`).

Pure functions without I/O, used by `columnar` to judge thousands of rows at once; each expression
names the one-row rule it mirrors.
"""

from __future__ import annotations

import sys
from datetime import date

import polars as pl
from stdnum.it import codicefiscale

from services.ingest.domain import (
    ACT_MAX_LENGTH,
    DATE_IMPOSSIBLE,
    DATE_UNREADABLE,
    MAX_DIGITS,
    MIN_YEAR,
    REVENUE_ALIASES,
)
from services.ingest.domain_contacts import ADDRESS_FIELDS, NAME_MISSING, TEXT_FIELDS
from services.ingest.domain_mapping import ColumnMapping
from services.kernel.limitation import Cutoffs

# Python's whitespace (str.split, str.strip and `\s` in `re` all use it), as a regex class: the
# Rust regex `\s` is Unicode White_Space, which differs (U+001C..U+001F).
WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
_WS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"
ASCII = r"^[\x00-\x7f]*$"
_CF = r"^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$"
_CF_DIGITS = {**{str(n): n for n in range(10)}, **{c: n for n, c in enumerate("LMNPQRSTUV")}}
_CF_MONTHS = {c: n + 1 for n, c in enumerate("ABCDEHLMPRST")}
_LETTERS = {c: n for n, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
# The check-character tables of python-stdnum, whose calc_check_digit the one-row rules use.
_ODD: dict[str, int] = codicefiscale._odd_values
_EVEN: dict[str, int] = codicefiscale._even_values
_IT_AMOUNT = r"^\+?([0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,([0-9]+))?$"
_PLAIN_AMOUNT = r"^\+?([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?$"
_MOBILE = r"^(?:\+39|0039)?(3[0-9]{8,9})$"
_LANDLINE = r"^(?:\+39|0039)?(0[0-9]{5,10})$"
_EMAIL = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
_DATE_IT = r"^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})$"
_DATE_ISO = r"^([0-9]{4})-([0-9]{2})-([0-9]{2})"
_FORMULA = r"^[=+\-@\t\r]"
PLAIN = "_plain"  # the column of `_verdict` that tells the rows whose contacts and warnings are read here


class Row:
    """Column expressions for the mapped fields of a frame."""

    def __init__(self, mapping: ColumnMapping) -> None:
        self.mapped = set(mapping.columns)

    def get(self, name: str) -> pl.Expr:
        """`values.get(name, "")`."""
        return pl.col(f"in_{name}") if name in self.mapped else pl.lit("")

    @property
    def amounts(self) -> list[str]:
        """The amount fields of `domain_verdicts.amount_due`: the residual, or what is due and paid."""
        return ["amount"] if "amount" in self.mapped else ["amount_due", "amount_paid"]

    def present(self, name: str) -> pl.Expr:
        """`bool(values.get(name))`."""
        return pl.col(f"in_{name}") != "" if name in self.mapped else pl.lit(False)


def _collapse(text: pl.Expr) -> pl.Expr:
    """`" ".join(text.split())`."""
    return text.str.replace_all(_WS + "+", " ").str.strip_chars(" ")


def _ascii(text: pl.Expr) -> pl.Expr:
    return text.str.contains(ASCII)


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
    compact = amount_compact(text)
    return [
        compact.str.extract_groups(_IT_AMOUNT).alias(f"_{name}_it"),
        compact.str.extract_groups(_PLAIN_AMOUNT).alias(f"_{name}_plain"),
    ]


def amount_pieces(name: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """`domain.parse_amount`'s whole part (separators removed; null when neither form matches),
    decimals and cents, from the matches of `_amount_parts`."""
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
    return whole, decimals, cents


def _amount(text: pl.Expr, name: str, allow_zero: bool) -> list[pl.Expr]:
    """Second stage of `domain.parse_amount` for amounts it accepts: `_{name}_cents` and
    `_{name}_ok` (readable here)."""
    whole, decimals, cents = amount_pieces(name)
    readable = (
        amount_known(text)
        & whole.is_not_null()
        & (decimals.str.len_chars() <= 2)
        & (whole.str.strip_chars_start("0").str.len_chars() <= MAX_DIGITS)
        & cents.is_not_null()
    )
    if not allow_zero:
        readable = readable & (cents > 0)
    return [cents.alias(f"_{name}_cents"), readable.fill_null(False).alias(f"_{name}_ok")]


def amount_known(text: pl.Expr) -> pl.Expr:
    """Whether an amount's text is one the column rules read as `domain.parse_amount` does (ASCII
    and the euro sign; other characters change in upper case or are spaces to Python only)."""
    return text.str.contains(r"^[\x00-\x7f€]*$")


def amount_compact(text: pl.Expr) -> pl.Expr:
    """`domain.parse_amount`'s `compact` (before the sign is taken off)."""
    return text.str.to_uppercase().str.replace_all(_WS + "|€|EUR", "")


def _formatted(template: str, part: pl.Expr) -> pl.Expr:
    """`template.format(part)` of a column expression (one `{}`)."""
    before, after = template.split("{}")
    return pl.lit(before) + part + pl.lit(after)


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
        (is_italian | is_iso).fill_null(False).alias(f"_{name}_shaped"),
    ]


def stages(mapping: ColumnMapping, current_year: int, today: date) -> list[list[pl.Expr]]:
    """The rules as successive column stages (each stage reads the columns of the ones before: an
    expression used twice is computed once). The last stage has `ok`, `PLAIN` and the columns of a
    stage record (`columnar._CREDIT`, `_CONTACTS`, the warnings)."""
    row = Row(mapping)
    amounts = row.amounts
    messages = _warnings(row, today)
    return [
        _normalised(row, amounts),
        _credit_and_contacts(row, amounts),
        _verdict(row, amounts, current_year, messages),
        _warning_lists(messages),
    ]


def _normalised(row: Row, amounts: list[str]) -> list[pl.Expr]:
    """Stage 1: normalised values and regex matches."""
    get = row.get
    return [
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


def _credit_and_contacts(row: Row, amounts: list[str]) -> list[pl.Expr]:
    """Stage 2: the credit (`domain_verdicts.parse_values`), the name and the contacts."""
    get = row.get

    def nonempty(name: str) -> pl.Expr:
        return pl.when(get(name) != "").then(get(name))

    joined = pl.concat_str([nonempty("surname"), nonempty("first_name")], separator=" ", ignore_nulls=True)
    name = pl.coalesce(nonempty("name"), nonempty("company"), joined, pl.lit(""))
    national = pl.coalesce(
        pl.col("_phone").str.extract(_MOBILE, 1), pl.col("_phone").str.extract(_LANDLINE, 1)
    )
    email = pl.col("_email")
    parts = [pl.when(get(f) != "").then(get(f)) for f in ("address", "postcode", "city", "province")]
    return [
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


def _verdict(
    row: Row, amounts: list[str], current_year: int, messages: list[tuple[str, pl.Expr, pl.Expr]]
) -> list[pl.Expr]:
    """Stage 3: the amount due, the verdict and the warnings (`domain_contacts.row_warnings`, in its
    order)."""
    get = row.get
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
        act_number.str.len_chars() <= ACT_MAX_LENGTH,
        *amount_ok,
    ]
    # The rest of a row's record (contacts, warnings) is the one-row rules' when these hold.
    plain = [
        _ascii(get("phone")),
        pl.col("_phone_ok"),
        *(pl.col(f"_{d}_read") | pl.col(f"_{d}_unread") | (get(f"{d}_date") == "") for d in ("act", "due")),
    ]
    return [
        pl.all_horizontal([c.fill_null(False) for c in ok + plain]).alias("ok"),
        pl.all_horizontal([c.fill_null(False) for c in plain]).alias(PLAIN),
        amount.alias("amount_cents"),
        *(when.fill_null(False).alias(f"_w_{code}") for code, when, _ in messages),
        *(text.alias(f"_m_{code}") for code, _, text in messages),
    ]


def _warnings(row: Row, today: date) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """Each warning of `domain_contacts.row_warnings`, in its order: (code, when, Italian message)."""
    get = row.get
    address_missing = [get(f) == "" for f in ADDRESS_FIELDS if f in row.mapped]
    act_unread, due_unread = pl.col("_act_unread"), pl.col("_due_unread")
    shown = pl.when(act_unread).then(get("act_date")).otherwise(get("due_date"))
    shaped = pl.when(act_unread).then(pl.col("_act_shaped")).otherwise(pl.col("_due_shaped"))
    impossible, unreadable = (_formatted(message, shown) for message in (DATE_IMPOSSIBLE, DATE_UNREADABLE))
    act_day = pl.coalesce(pl.col("_act_key"), pl.col("_due_key"))
    formulas = [get(f).str.contains(_FORMULA) for f in TEXT_FIELDS if f in row.mapped]
    return [
        ("phone", row.present("phone") & pl.col("phone").is_null(), "Telefono non utilizzabile: «" + get("phone") + "»."),
        ("email", row.present("email") & pl.col("email").is_null(), "E-mail non valida: «" + get("email") + "»."),
        ("name", pl.col("name") == "", pl.lit(NAME_MISSING)),
        (
            "address",
            pl.any_horizontal(address_missing) if address_missing else pl.lit(False),
            pl.lit("Indirizzo incompleto (via, CAP o comune mancante)."),
        ),
        ("date", act_unread | due_unread, pl.when(shaped).then(impossible).otherwise(unreadable)),
        ("limitation", *_limitation(act_day, Cutoffs.on(today))),
        (
            "formula",
            pl.any_horizontal(formulas) if formulas else pl.lit(False),
            pl.lit("Testo che inizia con = + - @: neutralizzato nelle esportazioni."),
        ),
    ]  # fmt: skip


def _limitation(act_day: pl.Expr, limit: Cutoffs) -> tuple[pl.Expr, pl.Expr]:
    """`domain_contacts.limitation_warning`: (when, message) from the act's day (`act_day`,
    yyyymmdd), else from the reference year as `domain.parse_year` reads it."""
    parts = (act_day % 100, act_day // 100 % 100)
    formatted = pl.concat_str(
        [*(p.cast(pl.String).str.zfill(2) for p in parts), act_day // 10000], separator="/"
    )
    first = limit.first_act
    year = pl.col("_year")
    old_year = year.str.contains(r"^[0-9]{4}$") & (year.cast(pl.Int32, strict=False) < limit.first_year)
    when = pl.when(act_day.is_not_null()).then(act_day < first.year * 10000 + first.month * 100 + first.day)
    message = pl.when(act_day.is_not_null()).then(
        "Atto del " + formatted + ": oltre il termine di prescrizione di cinque anni."
    )
    return (
        when.otherwise(old_year),
        message.otherwise(
            "Anno " + year + " senza data di notifica né scadenza: oltre il termine di prescrizione di "
            "cinque anni dalla fine dell'anno."
        ),
    )


def _warning_lists(messages: list[tuple[str, pl.Expr, pl.Expr]]) -> list[pl.Expr]:
    """Stage 4: the warnings' codes and their messages joined, the year as the stage table has it,
    the act's day."""
    codes = [code for code, _, _ in messages]
    warnings_it = pl.concat_str(
        [pl.when(pl.col(f"_w_{c}")).then(pl.col(f"_m_{c}")) for c in codes], separator=" ", ignore_nulls=True
    )
    return [
        pl.concat_list([pl.when(pl.col(f"_w_{c}")).then(pl.lit(c)) for c in codes])
        .list.drop_nulls()
        .alias("warnings"),
        pl.when(warnings_it != "").then(warnings_it).alias("warnings_it"),
        pl.col("year").cast(pl.Int64),
        _day(pl.coalesce(pl.col("_act_key"), pl.col("_due_key"))).alias("act_on"),
    ]


def _day(key: pl.Expr) -> pl.Expr:
    """A yyyymmdd key (`_date`) as a date (`domain.act_day`)."""
    return pl.date(key // 10000, key // 100 % 100, key % 100)
