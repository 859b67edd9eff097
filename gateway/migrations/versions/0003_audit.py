"""Append-only audit log.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import OWNER_ROLE, TENANT_EXPR

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
S = "gateway"


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        # NULL for events that belong to no Comune (a failed login, a platform-wide change).
        sa.Column("tenant_id", sa.Uuid),
        sa.Column("actor_user_id", sa.Uuid),
        sa.Column("actor_label", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("ip", sa.Text),
        sa.Column("detail", sa.dialects.postgresql.JSONB, nullable=False, server_default="{}"),
        schema=S,
    )
    op.create_index("audit_log_tenant_at", "audit_log", ["tenant_id", "at"], schema=S)
    for statement in [
        f"ALTER TABLE {S}.audit_log ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {S}.audit_log FORCE ROW LEVEL SECURITY",
        # Anyone acting may append an entry for any Comune (or none); reading is per Comune.
        f"CREATE POLICY audit_append ON {S}.audit_log FOR INSERT WITH CHECK (true)",
        f"CREATE POLICY audit_read_tenant ON {S}.audit_log FOR SELECT USING (tenant_id = {TENANT_EXPR})",
        f"CREATE POLICY audit_read_owner ON {S}.audit_log FOR SELECT TO {OWNER_ROLE} USING (true)",
        f"""CREATE FUNCTION {S}.audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$""",
        f"""CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {S}.audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION {S}.audit_log_is_append_only()""",
        # Platform administrators browse every Comune's entries (the gateway checks the role first).
        f"""CREATE FUNCTION {S}.audit_entries(max_rows int, before_id bigint)
            RETURNS SETOF {S}.audit_log LANGUAGE sql STABLE SECURITY DEFINER
            SET search_path = pg_catalog AS $$
            SELECT * FROM {S}.audit_log WHERE id < before_id ORDER BY id DESC LIMIT max_rows $$""",
    ]:
        op.execute(statement)
