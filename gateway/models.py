"""Gateway tables (schema `gateway`): tenants, users, memberships, API keys, invitations, rate limits,
sessions, pending logins, linked identities and the audit log."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(schema="gateway")

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("slug", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("fiscal_code", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("login", sa.Text, nullable=False, unique=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("email", sa.Text),
    sa.Column("fiscal_number", sa.Text, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("tenant_id", sa.Uuid, sa.ForeignKey("gateway.tenants.id"), primary_key=True),
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("gateway.users.id"), primary_key=True),
    sa.Column("role", sa.Text, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, sa.ForeignKey("gateway.tenants.id"), nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("prefix", sa.Text, nullable=False),
    sa.Column("key_hash", sa.Text, nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, sa.ForeignKey("gateway.tenants.id"), nullable=False),
    sa.Column("fiscal_number", sa.Text),
    sa.Column("email", sa.Text),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("invited_by", sa.Uuid, sa.ForeignKey("gateway.users.id")),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("accepted_at", sa.DateTime(timezone=True)),
    sa.Column("accepted_by", sa.Uuid, sa.ForeignKey("gateway.users.id")),
    # Refused at login (`refused_reason`): it would have put the person on both sides (0007).
    sa.Column("refused_at", sa.DateTime(timezone=True)),
    sa.Column("refused_reason", sa.Text),
)

rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("bucket", sa.Text, primary_key=True),
    sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("hits", sa.Integer, nullable=False),
)

# Sessions belong to a person, who may work for several Comuni: no tenant. The browser holds only a
# random id; the table holds its SHA-256.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.Text, primary_key=True),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.Column("csrf_token", sa.Text, nullable=False),
    sa.Column("provider", sa.Text),
    sa.Column("id_token", sa.Text),
    sa.Column("acr", sa.Text),
    sa.Column("ip", sa.Text),
    sa.Column("user_agent", sa.Text),
    sa.Column("last_tenant_id", sa.Uuid),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

# One row per OpenID Connect login started, consumed by its callback.
pending_logins = sa.Table(
    "pending_logins",
    metadata,
    sa.Column("state_hash", sa.Text, primary_key=True),
    sa.Column("browser_hash", sa.Text, nullable=False),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("nonce", sa.Text, nullable=False),
    sa.Column("code_verifier", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

# The identity providers' accounts (issuer, subject) linked to each person.
user_identities = sa.Table(
    "user_identities",
    metadata,
    sa.Column("issuer", sa.Text, primary_key=True),
    sa.Column("subject", sa.Text, primary_key=True),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

# The append-only audit log: who did what, when, from where, on which Comune.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("tenant_id", sa.Uuid),
    sa.Column("actor_user_id", sa.Uuid),
    sa.Column("actor_label", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("ip", sa.Text),
    sa.Column("detail", JSONB, nullable=False, server_default="{}"),
    # Entries are appended for Comuni the writer may not read back (RLS), so no RETURNING.
    implicit_returning=False,
)
