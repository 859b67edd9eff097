"""What `bench/chaos.py` compares: every count and euro total in every service's tables, the outbox
rows left unsent and the messages left in the broker's queues."""

from __future__ import annotations

from bench.chaos_drive import query
from services.platform import BUSINESS_SERVICES

# Rows that record who looked at what, or the plumbing itself: not business figures.
SKIPPED_TABLES = ("outbox", "inbox", "access_log", "alembic_version", "batch_progress")
# Columns whose values depend on the moment or on a sequence, not on the input.
SKIPPED_COLUMNS = ("id", "seq", "base", "next_base", "chunk", "chunks")
NUMERIC = ("smallint", "integer", "bigint", "numeric")
# Figures that differ between two clean runs of the same input, so no comparison can judge them;
# shown apart with the reason, not counted as lost or doubled.
ORDER_DEPENDENT: dict[str, str] = {}  # none since register_positions reads the best phone too


Figures = dict[str, int]


async def figures(dsn: str) -> Figures:
    """`service.table rows` and `service.table sum(column)` of every integer column."""
    columns = await query(
        dsn,
        "SELECT c.table_schema, c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = ANY($1) AND t.table_type = 'BASE TABLE' ORDER BY 1, 2, c.ordinal_position",
        list(BUSINESS_SERVICES),
    )
    tables: dict[tuple[str, str], list[str]] = {}
    for row in columns:
        key = (row["table_schema"], row["table_name"])
        if key[1] in SKIPPED_TABLES or key[1].startswith("outbox"):
            continue
        tables.setdefault(key, [])
        if row["data_type"] in NUMERIC and row["column_name"] not in SKIPPED_COLUMNS:
            tables[key].append(row["column_name"])
    found: Figures = {}
    for (schema, table), numbers in tables.items():
        sums = "".join(f', coalesce(sum("{c}"), 0)::bigint AS "{c}"' for c in numbers)
        row = (await query(dsn, f'SELECT count(*) AS rows{sums} FROM "{schema}"."{table}"'))[0]
        found[f"{schema}.{table} rows"] = int(row["rows"])
        for column in numbers:
            found[f"{schema}.{table} sum({column})"] = int(row[column])
    return found


async def unsent(dsn: str) -> dict[str, int]:
    """Outbox rows not yet confirmed by the broker, per service."""
    found = {}
    for service in BUSINESS_SERVICES:
        rows = await query(dsn, f"SELECT count(*) AS n FROM {service}.outbox WHERE sent_at IS NULL")
        found[service] = int(rows[0]["n"])
    return found


def compare(clean: Figures, chaos: Figures) -> tuple[list[tuple[str, int, int]], int, int]:
    """The figures that differ (name, clean, chaos), and how many are short (lost) or over (doubled)."""
    differ = [
        (name, clean.get(name, 0), chaos.get(name, 0))
        for name in sorted(set(clean) | set(chaos))
        if clean.get(name, 0) != chaos.get(name, 0) and name not in ORDER_DEPENDENT
    ]
    lost = sum(1 for _, a, b in differ if b < a)
    return differ, lost, len(differ) - lost
