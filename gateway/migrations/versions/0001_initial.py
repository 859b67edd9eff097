"""Tenants, users, memberships, API keys, outbox and inbox.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import OWNER_ROLE, create_messaging_tables, tenant_rls

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
S = "gateway"


def _ts(name: str = "created_at") -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("slug", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("fiscal_code", sa.Text),
        _ts(),
        schema=S,
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("login", sa.Text, nullable=False, unique=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("fiscal_number", sa.Text, unique=True),
        _ts(),
        schema=S,
    )
    op.create_table(
        "memberships",
        sa.Column("tenant_id", sa.Uuid, sa.ForeignKey(f"{S}.tenants.id"), primary_key=True),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey(f"{S}.users.id"), primary_key=True),
        sa.Column("role", sa.Text, primary_key=True),
        _ts(),
        schema=S,
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, sa.ForeignKey(f"{S}.tenants.id"), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("prefix", sa.Text, nullable=False),
        sa.Column("key_hash", sa.Text, nullable=False, unique=True),
        _ts(),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    for statement in [
        *tenant_rls(S, "memberships"),
        # A signed-in user reads their own memberships across tenants (for the tenant switcher).
        f"CREATE POLICY own_memberships ON {S}.memberships FOR SELECT USING "
        f"(user_id = NULLIF(current_setting('app.user_id', true), '')::uuid)",
        *tenant_rls(S, "api_keys"),
        f"CREATE POLICY owner_lookup ON {S}.api_keys FOR SELECT TO {OWNER_ROLE} USING (true)",
        f"""CREATE FUNCTION {S}.find_api_key(hash text) RETURNS TABLE (key_id uuid, tenant_id uuid)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
            SELECT id, tenant_id FROM {S}.api_keys WHERE key_hash = hash AND revoked_at IS NULL $$""",
    ]:
        op.execute(statement)
    create_messaging_tables(S)
