"""A person works for the collection firm (operator, supervisor, platform administrator) or for a
Comune's tax office (comune_viewer, comune_admin), never both: a supervisor of one Comune could
otherwise make another Comune's office staff an operator of theirs (and read their taxpayers), or
an office admin give the firm's staff the office's own roles.

`other_side_role` says which role of the other side a person already holds anywhere (read across
Comuni, as the owner); a trigger refuses such a membership whatever writes it; accepting
invitations at login refuses such an invitation instead of failing the login, and keeps it, with
why, for the people page of the Comune that sent it (`refused_at`, `refused_reason`).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import OWNER_ROLE

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
S = "gateway"
OFFICE = "('comune_viewer', 'comune_admin')"

OTHER_SIDE = f"""
CREATE FUNCTION {S}.other_side_role(p_user uuid, p_role text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT m.role FROM {S}.memberships m
    WHERE m.user_id = p_user AND (m.role IN {OFFICE}) <> (p_role IN {OFFICE})
    ORDER BY m.role LIMIT 1 $$
"""

ONE_SIDE_TRIGGER = f"""
CREATE FUNCTION {S}.memberships_one_side() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog AS $$
BEGIN
    IF {S}.other_side_role(NEW.user_id, NEW.role) IS NOT NULL THEN
        RAISE EXCEPTION 'person % holds a role of the other side', NEW.user_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'memberships_one_side';
    END IF;
    RETURN NEW;
END $$
"""

ACCEPT_INVITATIONS = f"""
CREATE FUNCTION {S}.accept_invitations(p_user uuid, p_fiscal text, p_email text)
RETURNS TABLE (accepted_tenant uuid, accepted_role text, accepted boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    inv record;
    previous text := current_setting('app.tenant_id', true);
BEGIN
    FOR inv IN
        SELECT i.id, i.tenant_id, i.role FROM {S}.invitations i
        WHERE i.accepted_at IS NULL AND i.refused_at IS NULL
          AND ((p_fiscal IS NOT NULL AND i.fiscal_number = upper(p_fiscal))
               OR (p_email IS NOT NULL AND i.email = lower(p_email)))
        ORDER BY i.created_at
    LOOP
        PERFORM set_config('app.tenant_id', inv.tenant_id::text, true);
        accepted_tenant := inv.tenant_id;
        accepted_role := inv.role;
        IF {S}.other_side_role(p_user, inv.role) IS NOT NULL THEN
            UPDATE {S}.invitations SET refused_at = now(), refused_reason = 'other_side'
                WHERE id = inv.id AND accepted_at IS NULL AND refused_at IS NULL;
            IF FOUND THEN
                accepted := false;
                RETURN NEXT;
            END IF;
            CONTINUE;
        END IF;
        INSERT INTO {S}.memberships (tenant_id, user_id, role)
            VALUES (inv.tenant_id, p_user, inv.role) ON CONFLICT DO NOTHING;
        UPDATE {S}.invitations SET accepted_at = now(), accepted_by = p_user
            WHERE id = inv.id AND accepted_at IS NULL;
        IF FOUND THEN
            accepted := true;
            RETURN NEXT;
        END IF;
    END LOOP;
    PERFORM set_config('app.tenant_id', coalesce(previous, ''), true);
END $$
"""


def upgrade() -> None:
    op.add_column("invitations", sa.Column("refused_at", sa.DateTime(timezone=True)), schema=S)
    op.add_column("invitations", sa.Column("refused_reason", sa.Text), schema=S)
    for statement in [
        f"DROP INDEX {S}.invitations_pending",
        f"CREATE UNIQUE INDEX invitations_pending ON {S}.invitations "
        "(tenant_id, coalesce(fiscal_number, ''), coalesce(email, ''), role) "
        "WHERE accepted_at IS NULL AND refused_at IS NULL",
        f"CREATE POLICY owner_sides ON {S}.memberships FOR SELECT TO {OWNER_ROLE} USING (true)",
        OTHER_SIDE,
        ONE_SIDE_TRIGGER,
        f"CREATE TRIGGER memberships_one_side BEFORE INSERT ON {S}.memberships "
        f"FOR EACH ROW EXECUTE FUNCTION {S}.memberships_one_side()",
        f"DROP FUNCTION {S}.accept_invitations(uuid, text, text)",
        ACCEPT_INVITATIONS,
    ]:
        op.execute(statement)


PREVIOUS_ACCEPT = f"""
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


def downgrade() -> None:
    for statement in [
        f"DROP FUNCTION {S}.accept_invitations(uuid, text, text)",
        PREVIOUS_ACCEPT,
        f"DROP TRIGGER memberships_one_side ON {S}.memberships",
        f"DROP FUNCTION {S}.memberships_one_side()",
        f"DROP FUNCTION {S}.other_side_role(uuid, text)",
        f"DROP POLICY owner_sides ON {S}.memberships",
        f"DELETE FROM {S}.invitations WHERE refused_at IS NOT NULL",
        f"DROP INDEX {S}.invitations_pending",
        f"CREATE UNIQUE INDEX invitations_pending ON {S}.invitations "
        "(tenant_id, coalesce(fiscal_number, ''), coalesce(email, ''), role) WHERE accepted_at IS NULL",
    ]:
        op.execute(statement)
    op.drop_column("invitations", "refused_reason", schema=S)
    op.drop_column("invitations", "refused_at", schema=S)
