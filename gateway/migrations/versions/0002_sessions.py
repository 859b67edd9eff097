"""Server-side sessions, pending OpenID Connect logins and the identities linked to each user.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
S = "gateway"


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    # Sessions belong to a person, not to a Comune (an operator switches between Comuni in one
    # session), so the table is a global registry like users; only the gateway's role reaches it.
    # Only the SHA-256 of the session id is stored: a leaked table gives no usable cookie.
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.Text, primary_key=True),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey(f"{S}.users.id"), nullable=False),
        sa.Column("csrf_token", sa.Text, nullable=False),
        sa.Column("provider", sa.Text),
        sa.Column("id_token", sa.Text),
        sa.Column("acr", sa.Text),
        sa.Column("ip", sa.Text),
        sa.Column("user_agent", sa.Text),
        sa.Column("last_tenant_id", sa.Uuid),
        _ts("created_at"),
        _ts("last_seen_at"),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index("sessions_user", "sessions", ["user_id"], schema=S)
    # One row per login started (state, nonce, PKCE verifier), bound to the browser that started it
    # and consumed by the callback; never reused.
    op.create_table(
        "pending_logins",
        sa.Column("state_hash", sa.Text, primary_key=True),
        sa.Column("browser_hash", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("nonce", sa.Text, nullable=False),
        sa.Column("code_verifier", sa.Text, nullable=False),
        _ts("created_at"),
        schema=S,
    )
    # Accounts without a fiscal number (the firm's own identity provider) are matched by the
    # provider's issuer and subject.
    op.create_table(
        "user_identities",
        sa.Column("issuer", sa.Text, primary_key=True),
        sa.Column("subject", sa.Text, primary_key=True),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey(f"{S}.users.id"), nullable=False),
        _ts("created_at"),
        _ts("last_login_at"),
        schema=S,
    )
    op.create_index("user_identities_user", "user_identities", ["user_id"], schema=S)
