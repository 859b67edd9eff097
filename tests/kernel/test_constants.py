"""`db.constant`: our own fixed values written into a statement's text, so that PostgreSQL's plan
kept for a prepared statement knows them (a partial index on a status), never a parameter's value."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from services.contact import repository_lease
from services.kernel.db import constant, constants


def sql(clause: object) -> str:
    return str(sa.select(sa.literal(1)).where(clause).compile(dialect=postgresql.asyncpg.dialect()))


def test_a_constant_is_in_the_text_and_an_in_list_is_fixed() -> None:
    status = sa.column("status", sa.Text)
    assert "status = 'da_lavorare'" in sql(status == constant("da_lavorare"))
    assert "status IN ('broken', 'open')" in sql(status.in_(constants(("open", "broken"))))
    assert "> 0" in sql(sa.column("n", sa.BigInteger) > constant(0))


@pytest.mark.parametrize("bad", ["o'clock", "a\\b", "Da lavorare", "", True, 1.5])
def test_only_whole_numbers_and_lowercase_codes_are_constants(bad: object) -> None:
    with pytest.raises(ValueError, match="not a constant"):
        constant(bad)  # type: ignore[arg-type]


def test_the_lease_names_the_partial_indexes_statuses_in_its_text() -> None:
    """The queue's partial indexes (`debtors_pool`, `debtors_callbacks`, `debtors_lapsed`) are on a
    status: the lease writes each in its text, so the plan PostgreSQL keeps can use them."""
    text = str(repository_lease.LEASE.compile(dialect=postgresql.asyncpg.dialect()))
    for status in ("da_lavorare", "da_richiamare", "in_lavorazione"):
        assert f"status = '{status}'" in text
    assert "POSTCOMPILE" not in text  # no IN list expanded again on every execution
