"""Text written into a cell a spreadsheet opens (CSV, XLSX, the ingest report): one that starts like
a formula (`=`, `+`, `-`, `@`, tab, carriage return) would run as one, so it gets a leading
apostrophe (OWASP "CSV injection"). One rule for every export of every service."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_formula(text: str) -> bool:
    return text.startswith(FORMULA_START)


def neutralise(text: str) -> str:
    """Text safe to open in a spreadsheet: a leading formula character is escaped with a quote."""
    return "'" + text if is_formula(text) else text
