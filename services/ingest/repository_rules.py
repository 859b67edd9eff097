"""The domain's rules in SQL, for the statements that apply them to a whole batch at once.

Each takes its constants and patterns from the domain module it mirrors; `tests/ingest/
test_rule_parity.py` runs both forms on the same cases.
"""

from __future__ import annotations

from services.ingest.domain_contacts import (
    ADDRESS_GRADE_CONFIDENCE,
    FILE_CONFIDENCE,
    INCOMPLETE_ADDRESS_CONFIDENCE,
    PEC_DOMAIN_PATTERN,
    WRITTEN_KINDS,
)

assert "'" not in PEC_DOMAIN_PATTERN  # it is written into SQL as a literal


def email_kind_sql(column: str) -> str:
    """`domain_contacts.email_kind` of an e-mail column."""
    return f"CASE WHEN split_part({column}, '@', 2) ~ '{PEC_DOMAIN_PATTERN}' THEN 'pec' ELSE 'email' END"


def address_confidence_sql(warnings: str) -> str:
    """`domain_contacts.address_confidence` of a row's warnings column."""
    incomplete, complete = INCOMPLETE_ADDRESS_CONFIDENCE, FILE_CONFIDENCE
    return f"CASE WHEN 'address' = ANY({warnings}) THEN {incomplete} ELSE {complete} END"


def pec_grades_sql(email: str) -> str:
    """Whether a row's e-mail grades its debtor: a PEC (`domain_contacts.WRITTEN_KINDS`) at the
    confidence of the Comune's file, as the plain test the constants come down to."""
    if "pec" not in WRITTEN_KINDS or FILE_CONFIDENCE < ADDRESS_GRADE_CONFIDENCE:
        return "false"
    return f"coalesce(split_part({email}, '@', 2) ~ '{PEC_DOMAIN_PATTERN}', false)"


def address_grades_sql(warnings: str) -> str:
    """Whether a row's address grades its debtor (its `address_confidence` reaches
    `ADDRESS_GRADE_CONFIDENCE`), as the plain test the constants come down to: it is evaluated for
    every row of a batch."""
    complete = FILE_CONFIDENCE >= ADDRESS_GRADE_CONFIDENCE
    incomplete = INCOMPLETE_ADDRESS_CONFIDENCE >= ADDRESS_GRADE_CONFIDENCE
    if complete == incomplete:
        return "true" if complete else "false"
    flagged = f"'address' = ANY({warnings})"
    return flagged if incomplete else f"NOT {flagged}"
