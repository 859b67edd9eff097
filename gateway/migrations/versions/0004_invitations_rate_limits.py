"""Invitations (memberships granted before a first login) and shared rate-limit counters.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import OWNER_ROLE, tenant_rls

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
S = "gateway"

# Turns a person's pending invitations into memberships at their first login. The Comuni are not
# known yet at that point, so the owner reads across tenants; each insert then runs with the
# invitation's tenant set, so the ordinary tenant policies still check every write.
ACCEPT_INVITATIONS = f"""
CREATE FUNCTION {S}.accept_invitations(p_user uuid, p_fiscal text, p_email text)
RETURNS TABLE (accepted_tenant uuid, accepted_role text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    inv record;
    previous text := current_setting('app.tenant_id', true);
BEGIN
    FOR inv IN
        SELECT i.id, i.tenant_id, i.role FROM {S}.invitations i
        WHERE i.accepted_at IS NULL
          AND ((p_fiscal IS NOT NULL AND i.fiscal_number = upper(p_fiscal))
               OR (p_email IS NOT NULL AND i.email = lower(p_email)))
        ORDER BY i.created_at
    LOOP
        PERFORM set_config('app.tenant_id', inv.tenant_id::text, true);
        INSERT INTO {S}.memberships (tenant_id, user_id, role)
            VALUES (inv.tenant_id, p_user, inv.role) ON CONFLICT DO NOTHING;
        UPDATE {S}.invitations SET accepted_at = now(), accepted_by = p_user
            WHERE id = inv.id AND accepted_at IS NULL;
        IF FOUND THEN
            accepted_tenant := inv.tenant_id;
            accepted_role := inv.role;
            RETURN NEXT;
        END IF;
    END LOOP;
    PERFORM set_config('app.tenant_id', coalesce(previous, ''), true);
END $$
"""


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, sa.ForeignKey(f"{S}.tenants.id"), nullable=False),
        sa.Column("fiscal_number", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("invited_by", sa.Uuid, sa.ForeignKey(f"{S}.users.id")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("accepted_at", sa.DateTime(timezone=True)),
        sa.Column("accepted_by", sa.Uuid, sa.ForeignKey(f"{S}.users.id")),
        sa.CheckConstraint("fiscal_number IS NOT NULL OR email IS NOT NULL", name="invitation_names_someone"),
        schema=S,
    )
    op.execute(
        f"CREATE UNIQUE INDEX invitations_pending ON {S}.invitations "
        "(tenant_id, coalesce(fiscal_number, ''), coalesce(email, ''), role) WHERE accepted_at IS NULL"
    )
    # Counters are shared by every gateway process; one row per bucket (a hashed client address,
    # account or API key), reset in place when its window has passed. Not tenant data: no RLS.
    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.Text, primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer, nullable=False),
        schema=S,
    )
    for statement in [
        *tenant_rls(S, "invitations"),
        f"CREATE POLICY owner_accept ON {S}.invitations FOR SELECT TO {OWNER_ROLE} USING (true)",
        ACCEPT_INVITATIONS,
    ]:
        op.execute(statement)
