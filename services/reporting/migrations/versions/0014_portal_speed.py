"""The Ufficio tributi's portal kept as the projections change, instead of aggregated from every
position on each view (2 s for 100,000 positions): per debtor and group (the whole campaign, a
revenue type, a year, both) what the debtor has at each stage (`portal_debtors`), and per group the
figures (`portal_figures`). Statement-level triggers on positions, debtors and plans call
`reporting.portal_refresh` for the debtors a statement changed, in its transaction, whatever wrote it
(an event, the office's decision, a replay, an erasure); the refresh takes the debtors' rows out of
the figures, recomputes them from their positions and puts them back. Existing Comuni are filled
here. Also indexes for the weekly trend's outcomes and for the positions of a plan.

The stages are the portal's (`domain_portal`, `STAGE_HINTS`); `tests/reporting/test_portal_kept.py`
checks these tables against the stages computed from the rows.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None
S = "reporting"
NEW_TABLES = ("portal_debtors", "portal_figures")
SOURCES = ("positions", "debtors", "plans")
STAGES = ("assigned", "worked", "reached", "promised", "in_plan", "collected", "residual")
# A debtor's own stages, by the counter of theirs that puts them there.
DEBTOR_STAGES = {"worked": "attempts", "reached": "conversations", "promised": "promises"}
# The positions' stages, by their condition on a position p and its plan pl.
POSITION_STAGES = {
    "assigned": "true",
    "in_plan": "p.plan_id IS NOT NULL AND pl.lapsed_on IS NULL",
    "collected": "p.collected_cents > 0",
    "residual": "p.amount_cents > p.collected_cents",
}
LOCK = "hashtextextended('reporting.portal:' || p_tenant::text, 0)"


def _number(name: str, kind: type[sa.Integer] = sa.Integer) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, kind, nullable=False)


def _group() -> list[sa.Column]:  # type: ignore[type-arg]
    """A group: a revenue type ("" for every one) and a year (0 for every one)."""
    return [sa.Column("revenue_type", sa.Text, nullable=False), sa.Column("year", sa.Integer, nullable=False)]


def _tables() -> None:
    op.create_table(
        "portal_debtors",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        *_group(),
        sa.Column("fiscal_code", sa.Text, nullable=False),
        sa.Column("debtor_name", sa.Text, nullable=False),
        *(sa.Column(stage, sa.Boolean, nullable=False) for stage in DEBTOR_STAGES),
        _number("promises_cents", sa.BigInteger),
        *(
            column
            for stage in POSITION_STAGES
            for column in (
                _number(f"{stage}_positions"),
                _number(f"{stage}_amount_cents", sa.BigInteger),
                _number(f"{stage}_collected_cents", sa.BigInteger),
            )
        ),
        sa.PrimaryKeyConstraint("tenant_id", "debtor_id", "revenue_type", "year"),
        schema=S,
    )
    op.create_index(
        "portal_debtors_by_name",
        "portal_debtors",
        ["tenant_id", "revenue_type", "year", "debtor_name", "debtor_id"],
        schema=S,
    )
    op.create_table(
        "portal_figures",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        *_group(),
        _number("promises_cents", sa.BigInteger),
        *(
            column
            for stage in STAGES
            for column in (
                _number(f"{stage}_debtors"),
                _number(f"{stage}_positions"),
                _number(f"{stage}_cents", sa.BigInteger),
            )
        ),
        sa.PrimaryKeyConstraint("tenant_id", "revenue_type", "year"),
        schema=S,
    )


def _debtor_columns() -> list[str]:
    """The columns of `portal_debtors` after the debtor and group, in order."""
    columns = ["fiscal_code", "debtor_name", *DEBTOR_STAGES, "promises_cents"]
    for stage in POSITION_STAGES:
        columns += [f"{stage}_positions", f"{stage}_amount_cents", f"{stage}_collected_cents"]
    return columns


def _computed() -> str:
    """`portal_debtors`' rows of the debtors `p_debtors` of `p_tenant`, from their positions not
    cancelled: one per group of their positions."""
    values = ["min(p.fiscal_code)", "min(p.debtor_name)"]
    values += [f"coalesce(bool_or(d.{counter} > 0), false)" for counter in DEBTOR_STAGES.values()]
    values.append("coalesce(max(CASE WHEN d.promises > 0 THEN d.promised_cents END), 0)")
    for condition in POSITION_STAGES.values():
        values += [
            f"count(*) FILTER (WHERE {condition})",
            f"coalesce(sum(p.amount_cents) FILTER (WHERE {condition}), 0)",
            f"coalesce(sum(p.collected_cents) FILTER (WHERE {condition}), 0)",
        ]
    key = "p.tenant_id, p.debtor_id"
    return (
        f"SELECT {key}, coalesce(p.revenue_type, ''), coalesce(p.year, 0), {', '.join(values)}"
        f" FROM {S}.positions p"
        f" LEFT JOIN {S}.debtors d ON d.tenant_id = p.tenant_id AND d.debtor_id = p.debtor_id"
        f" LEFT JOIN {S}.plans pl ON pl.tenant_id = p.tenant_id AND pl.plan_id = p.plan_id"
        " WHERE p.tenant_id = p_tenant AND p.debtor_id = ANY(p_debtors) AND p.state <> 'cancelled'"
        f" GROUP BY GROUPING SETS (({key}), ({key}, p.revenue_type), ({key}, p.year),"
        f" ({key}, p.revenue_type, p.year))"
    )


def _stage_values(stage: str) -> tuple[str, str]:
    """A stage's positions and euro figure in a `portal_debtors` row c."""
    if stage in DEBTOR_STAGES:
        return (
            f"CASE WHEN c.{stage} THEN c.assigned_positions ELSE 0 END",
            f"CASE WHEN c.{stage} THEN c.assigned_amount_cents ELSE 0 END",
        )
    cents = {
        "collected": "c.collected_collected_cents",
        "residual": "c.residual_amount_cents - c.residual_collected_cents",
    }
    return f"c.{stage}_positions", cents.get(stage, f"c.{stage}_amount_cents")


def _add_to_figures(rows: str, sign: str) -> str:
    """Add (`sign` "+") or take off ("-") the `portal_debtors` rows `rows` to their groups' figures,
    in the groups' order (every refresh locks the figures' rows in the same order)."""
    columns, values = ["promises_cents"], [f"{sign}sum(c.promises_cents)"]
    for stage in STAGES:
        positions, cents = _stage_values(stage)
        columns += [f"{stage}_debtors", f"{stage}_positions", f"{stage}_cents"]
        values += [
            f"{sign}count(*) FILTER (WHERE {positions} > 0)",
            f"{sign}sum({positions})",
            f"{sign}sum({cents})",
        ]
    updates = ", ".join(f"{c} = {S}.portal_figures.{c} + EXCLUDED.{c}" for c in columns)
    return (
        f"INSERT INTO {S}.portal_figures (tenant_id, revenue_type, year, {', '.join(columns)})"
        f" SELECT c.tenant_id, c.revenue_type, c.year, {', '.join(values)} FROM {rows} c"
        " GROUP BY c.tenant_id, c.revenue_type, c.year ORDER BY c.revenue_type, c.year"
        f" ON CONFLICT (tenant_id, revenue_type, year) DO UPDATE SET {updates}"
    )


def _refresh() -> str:
    columns = ", ".join(["tenant_id", "debtor_id", "revenue_type", "year", *_debtor_columns()])
    return f"""CREATE FUNCTION {S}.portal_refresh(p_tenant uuid, p_debtors uuid[]) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            IF p_debtors IS NULL OR cardinality(p_debtors) = 0 THEN
                RETURN;
            END IF;
            -- One refresh at a time per Comune: the office's decisions run beside the projections.
            PERFORM pg_advisory_xact_lock({LOCK});
            WITH gone AS (
                DELETE FROM {S}.portal_debtors WHERE tenant_id = p_tenant AND debtor_id = ANY(p_debtors)
                RETURNING *
            ) {_add_to_figures("gone", "-")};
            WITH fresh AS (
                INSERT INTO {S}.portal_debtors ({columns}) {_computed()} RETURNING *
            ) {_add_to_figures("fresh", "+")};
            DELETE FROM {S}.portal_figures WHERE tenant_id = p_tenant AND assigned_positions = 0;
        END $$"""


# What of a position the portal reads.
POSITION_COLUMNS = ("debtor_id", "fiscal_code", "debtor_name", "revenue_type", "year")
POSITION_COLUMNS += ("amount_cents", "collected_cents", "state", "plan_id")
# Per table: its key, what of a row the portal reads (on a row `{r}`), and the debtors of the
# changed rows `{rows}`; a plan's are those of the positions in it.
CHANGED = {
    "positions": (
        "position_id",
        ", ".join(f"{{r}}.{column}" for column in POSITION_COLUMNS),
        "SELECT tenant_id, debtor_id FROM {rows}",
    ),
    "debtors": (
        "debtor_id",
        "{r}.attempts > 0, {r}.conversations > 0, {r}.promises > 0,"
        " CASE WHEN {r}.promises > 0 THEN {r}.promised_cents ELSE 0 END",
        "SELECT tenant_id, debtor_id FROM {rows}",
    ),
    "plans": (
        "plan_id",
        "{r}.lapsed_on IS NULL",
        f"SELECT p.tenant_id, p.debtor_id FROM {S}.positions p JOIN {{rows}}"
        " ON p.tenant_id = r.tenant_id AND p.plan_id = r.plan_id",
    ),
}


def _changed_rows(table: str) -> dict[str, str]:
    """Per operation, the rows of a statement on `table` that may change the portal: every row
    inserted or deleted; of the rows updated, those whose portal columns changed, before and after."""
    key, read, _ = CHANGED[table]
    differs = f"({read.format(r='n')}) IS DISTINCT FROM ({read.format(r='o')})"
    updated = (
        f"SELECT n.* FROM new_rows n JOIN old_rows o ON o.{key} = n.{key} WHERE {differs}"
        f" UNION ALL SELECT o.* FROM old_rows o JOIN new_rows n ON o.{key} = n.{key} WHERE {differs}"
    )
    return {"INSERT": "new_rows", "UPDATE": f"({updated})", "DELETE": "old_rows"}


def _trigger_function(table: str) -> str:
    rows = _changed_rows(table)
    branches = "".join(
        f"""
            {"IF" if n == 0 else "ELSIF"} TG_OP = '{op_name}' THEN
                FOR t, ids IN SELECT x.tenant_id, array_agg(DISTINCT x.debtor_id)
                    FROM ({CHANGED[table][2].format(rows=f"{rows[op_name]} AS r")}) x GROUP BY x.tenant_id
                LOOP
                    PERFORM {S}.portal_refresh(t, ids);
                END LOOP;"""
        for n, op_name in enumerate(("INSERT", "UPDATE", "DELETE"))
    )
    return f"""CREATE FUNCTION {S}.portal_{table}_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            t uuid;
            ids uuid[];
        BEGIN{branches}
            END IF;
            RETURN NULL;
        END $$"""


def _triggers(table: str) -> list[str]:
    tables = {
        "INSERT": "NEW TABLE AS new_rows",
        "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "DELETE": "OLD TABLE AS old_rows",
    }
    return [
        f"CREATE TRIGGER portal_{table}_{event.lower()} AFTER {event} ON {S}.{table}"
        f" REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {S}.portal_{table}_changed()"
        for event, transition in tables.items()
    ]


def upgrade() -> None:
    _tables()
    op.create_index("outcomes_recorded", "outcomes", ["tenant_id", "recorded_at"], schema=S)
    op.create_index(
        "positions_plan",
        "positions",
        ["tenant_id", "plan_id"],
        schema=S,
        postgresql_where=sa.text("plan_id IS NOT NULL"),
    )
    op.execute(_refresh())
    for table in SOURCES:
        op.execute(_trigger_function(table))
        for statement in _triggers(table):
            op.execute(statement)
    for statement in FILL:
        op.execute(statement)
    for table in NEW_TABLES:
        for statement in tenant_rls(S, table):
            op.execute(statement)


# Migrations run as the tables' owner, which FORCE ROW LEVEL SECURITY holds to the tenant policy like
# everyone else: to fill every Comune's rows the sources are briefly not forced (the owner then
# reads every row), and the new tables get their policies only after.
FILL = (
    *(f"ALTER TABLE {S}.{table} NO FORCE ROW LEVEL SECURITY" for table in SOURCES),
    f"SELECT {S}.portal_refresh(tenant_id, array_agg(DISTINCT debtor_id)) FROM {S}.positions GROUP BY tenant_id",
    *(f"ALTER TABLE {S}.{table} FORCE ROW LEVEL SECURITY" for table in SOURCES),
)


def downgrade() -> None:
    for table in SOURCES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER portal_{table}_{event} ON {S}.{table}")
        op.execute(f"DROP FUNCTION {S}.portal_{table}_changed()")
    op.execute(f"DROP FUNCTION {S}.portal_refresh(uuid, uuid[])")
    op.drop_index("positions_plan", "positions", schema=S)
    op.drop_index("outcomes_recorded", "outcomes", schema=S)
    for table in reversed(NEW_TABLES):
        op.drop_table(table, schema=S)
