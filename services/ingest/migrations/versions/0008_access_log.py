"""Append-only log of who looked at the personal data the ingest service shows.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
S = "ingest"


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject_id", sa.Uuid),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_index("access_log_subject", "access_log", ["tenant_id", "subject_id", "at"], schema=S)
    for statement in tenant_rls(S, "access_log"):
        op.execute(statement)
    # Append-only even for the application role, which is granted UPDATE/DELETE on every table.
    op.execute(
        f"""CREATE FUNCTION {S}.access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'access_log is append-only'; END $$"""
    )
    op.execute(
        f"""CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON {S}.access_log
            FOR EACH ROW EXECUTE FUNCTION {S}.access_log_append_only()"""
    )


def downgrade() -> None:
    op.drop_table("access_log", schema=S)
    op.execute(f"DROP FUNCTION {S}.access_log_append_only()")
