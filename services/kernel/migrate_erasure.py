"""Migration steps for the end of a mandate (`services.mandate`): the closures table and an access
log that the erasure, and only the erasure, may empty.

Frozen like migrations: change them only by adding new functions for new migrations.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from services.kernel.migrate import context_op, tenant_rls


def create_closures(schema: str) -> None:
    """`db.closures_table`, with its row-level security."""
    op = context_op()
    op.create_table(
        "tenant_closures",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("erased_at", sa.DateTime(timezone=True)),
        sa.Column("objects", JSONB),
        schema=schema,
    )
    for statement in tenant_rls(schema, "tenant_closures"):
        op.execute(statement)


def erasable_access_log(schema: str) -> None:
    """The access log stays append-only, except for the erasure of a Comune's personal data: a
    transaction that set `app.erasure` to that Comune's id may delete that Comune's rows."""
    context_op().execute(
        f"""CREATE OR REPLACE FUNCTION {schema}.access_log_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE'
                   AND OLD.tenant_id::text = current_setting('app.erasure', true) THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION 'access_log is append-only';
            END $$"""
    )


def strict_access_log(schema: str) -> None:
    """The access log append-only without exception (what `erasable_access_log` replaced)."""
    context_op().execute(
        f"""CREATE OR REPLACE FUNCTION {schema}.access_log_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'access_log is append-only'; END $$"""
    )


def drop_closures(schema: str) -> None:
    context_op().drop_table("tenant_closures", schema=schema)
