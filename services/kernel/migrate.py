"""Roles, schemas and Alembic migrations.

Migrations run as the owner role `<prefix>_owner`; each service connects as its own application
role `<prefix>_<service>` (no superuser, no BYPASSRLS, rights on its own schema only), and its outbox
relay as `<prefix>_<service>_relay` (rights on that outbox only). The prefix is RISCOSSA_ROLE_PREFIX
(default `riscossa`): roles are global to a PostgreSQL server, databases are not.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

if TYPE_CHECKING:
    from services.kernel.settings import Settings

DEFAULT_PREFIX = "riscossa"
TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
# The prefix of the migration being applied: the frozen migrations name roles through `OWNER_ROLE`
# and `relay_role`, which read it, so the same history creates each deployment's own roles.
_migrating_prefix: ContextVar[str] = ContextVar("role_prefix", default=DEFAULT_PREFIX)


def owner_role(prefix: str | None = None) -> str:
    return f"{prefix or _migrating_prefix.get()}_owner"


def app_role(service: str, prefix: str | None = None) -> str:
    return f"{prefix or _migrating_prefix.get()}_{service}"


def relay_role(service: str, prefix: str | None = None) -> str:
    return f"{prefix or _migrating_prefix.get()}_{service}_relay"


def __getattr__(name: str) -> str:
    # `OWNER_ROLE`, as the migrations import it: the owner of the deployment being migrated.
    if name == "OWNER_ROLE":
        return owner_role()
    raise AttributeError(name)


def role_url(admin_url: str, role: str, password: str) -> str:
    url = sa.engine.make_url(admin_url).set(drivername="postgresql+asyncpg", username=role, password=password)
    return url.render_as_string(hide_password=False)


def tenant_rls(schema: str, table: str) -> list[str]:
    """SQL enabling and forcing row-level security on a tenant-owned table."""
    qualified = f"{schema}.{table}"
    return [
        f"ALTER TABLE {qualified} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {qualified} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {qualified} USING (tenant_id = {TENANT_EXPR}) "
        f"WITH CHECK (tenant_id = {TENANT_EXPR})",
    ]


def outbox_inbox_sql(schema: str) -> list[str]:
    """RLS on the outbox and inbox, the relay's own policy and the NOTIFY trigger."""
    relay = relay_role(schema)
    return [
        *tenant_rls(schema, "outbox"),
        *tenant_rls(schema, "inbox"),
        f"CREATE POLICY relay_all ON {schema}.outbox TO {relay} USING (true) WITH CHECK (true)",
        f"""CREATE FUNCTION {schema}.notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify('{schema}_outbox', ''); RETURN NULL; END $$""",
        f"""CREATE TRIGGER outbox_notify AFTER INSERT ON {schema}.outbox
            FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_outbox()""",
    ]


def create_messaging_tables(schema: str) -> None:
    """The outbox and inbox of a service, with their RLS, relay policy and NOTIFY trigger.

    Called by each service's first migration; frozen like a migration: change it only by adding new
    functions for new migrations.
    """
    op = context_op()
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("message_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("routing_key", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        schema=schema,
    )
    op.create_index(
        "outbox_unsent", "outbox", ["id"], schema=schema, postgresql_where=sa.text("sent_at IS NULL")
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("message_id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=schema,
    )
    for statement in outbox_inbox_sql(schema):
        op.execute(statement)


def create_access_log(schema: str) -> None:
    """An append-only log of who saw personal data (`db.access_log_table`), with its RLS.

    Frozen like a migration: change it only by adding new functions for new migrations.
    """
    op = context_op()
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject_id", sa.Uuid),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=schema,
    )
    op.create_index("access_log_subject", "access_log", ["tenant_id", "subject_id", "at"], schema=schema)
    for statement in tenant_rls(schema, "access_log"):
        op.execute(statement)
    # Append-only even for the application role, which is granted UPDATE/DELETE on every table.
    op.execute(
        f"""CREATE FUNCTION {schema}.access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'access_log is append-only'; END $$"""
    )
    op.execute(
        f"""CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON {schema}.access_log
            FOR EACH ROW EXECUTE FUNCTION {schema}.access_log_append_only()"""
    )


def name_access_log(schema: str) -> None:
    """The access log keeps the person's name beside their id, and is read newest first per Comune
    (the register of accesses). Frozen like a migration."""
    op = context_op()
    op.add_column(
        "access_log", sa.Column("user_name", sa.Text, nullable=False, server_default=""), schema=schema
    )
    op.create_index("access_log_recent", "access_log", ["tenant_id", "id"], schema=schema)


def unname_access_log(schema: str) -> None:
    op = context_op()
    op.drop_index("access_log_recent", "access_log", schema=schema)
    op.drop_column("access_log", "user_name", schema=schema)


def drop_access_log(schema: str) -> None:
    op = context_op()
    op.drop_table("access_log", schema=schema)
    op.execute(f"DROP FUNCTION {schema}.access_log_append_only()")


def context_op() -> Any:
    from alembic import op

    return op


def _ensure_role(name: str, login: bool, password: str | None) -> list[str]:
    attrs = "LOGIN" if login else "NOLOGIN"
    quoted = (password or "").replace("'", "''")
    pw = f" PASSWORD '{quoted}'" if password else ""
    return [
        f"""DO $$ BEGIN CREATE ROLE {name} {attrs} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE{pw};
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$""",
        f"ALTER ROLE {name} {attrs} NOSUPERUSER NOBYPASSRLS{pw}",
    ]


def bootstrap_sql(
    services: list[str],
    password: str,
    database: str,
    prefix: str = DEFAULT_PREFIX,
    passwords: Mapping[str, str] | None = None,
) -> list[str]:
    """The roles of `prefix` (each with its own password from `passwords`, keyed `<service>` and
    `<service>_relay`, else `password`) and the schemas; roles of any other prefix are left alone."""
    own = passwords or {}
    sql = _ensure_role(owner_role(prefix), False, None)
    for svc in services:
        app, relay = app_role(svc, prefix), relay_role(svc, prefix)
        sql += _ensure_role(app, True, own.get(svc) or password)
        sql += _ensure_role(relay, True, own.get(f"{svc}_relay") or password)
        sql.append(f'GRANT CONNECT ON DATABASE "{database}" TO {app}, {relay}')
        sql.append(f"CREATE SCHEMA IF NOT EXISTS {svc} AUTHORIZATION {owner_role(prefix)}")
    return sql


def grants_sql(service: str, prefix: str = DEFAULT_PREFIX) -> list[str]:
    app, relay = app_role(service, prefix), relay_role(service, prefix)
    return [
        f"GRANT USAGE ON SCHEMA {service} TO {app}, {relay}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {service} TO {app}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {service} TO {app}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {service} TO {app}",
        f"REVOKE ALL ON {service}.alembic_version FROM {app}",
        # Only where there is an outbox (the gateway has none since its migration 0005).
        f"""DO $$ BEGIN IF to_regclass('{service}.outbox') IS NOT NULL THEN
            GRANT SELECT, UPDATE ON {service}.outbox TO {relay}; END IF; END $$""",
    ]


async def migrate_settings(settings: Settings, services: list[str]) -> None:
    """`migrate` with the database, role prefix and passwords of the settings."""
    await migrate(
        settings.database_url,
        services,
        settings.app_db_password,
        prefix=settings.role_prefix,
        passwords=settings.db_passwords,
    )


async def migrate(
    admin_url: str,
    services: list[str],
    password: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    passwords: Mapping[str, str] | None = None,
) -> None:
    """Create roles and schemas, then run every service's migrations as the owner role."""
    engine = create_async_engine(admin_url)
    try:
        async with engine.connect() as conn:
            database = (await conn.execute(sa.text("SELECT current_database()"))).scalar_one()
            await conn.execute(sa.text("SELECT pg_advisory_lock(764012)"))
            try:
                await _check_owner(conn, services, prefix)
                for statement in bootstrap_sql(services, password, database, prefix, passwords):
                    await conn.execute(sa.text(statement))
                await conn.commit()
                for svc in services:
                    await conn.execute(sa.text(f"SET ROLE {owner_role(prefix)}"))
                    await conn.run_sync(_upgrade, svc, prefix)
                    for statement in grants_sql(svc, prefix):
                        await conn.execute(sa.text(statement))
                    await conn.execute(sa.text("RESET ROLE"))
                    await conn.commit()
            finally:
                await conn.execute(sa.text("SELECT pg_advisory_unlock(764012)"))
                await conn.commit()
    finally:
        await engine.dispose()


async def _check_owner(conn: AsyncConnection, services: list[str], prefix: str) -> None:
    """Refuse a database whose schemas another prefix's owner holds: its policies name that
    deployment's roles, so migrating it under a new prefix would half-work."""
    rows = await conn.execute(
        sa.text("SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = ANY(:s)"),
        {"s": services},
    )
    foreign = sorted(f"{schema} ({owner})" for schema, owner in rows if owner != owner_role(prefix))
    if foreign:
        raise RuntimeError(
            f"Schemas not owned by {owner_role(prefix)}: {', '.join(foreign)}. This database was migrated"
            " with another RISCOSSA_ROLE_PREFIX (or its schemas were made by hand); keep that prefix."
        )


def _upgrade(connection: sa.Connection, service: str, prefix: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(service)))
    cfg.attributes["connection"] = connection
    cfg.attributes["schema"] = service
    # Set here, in the thread of the migrations, which read it through `OWNER_ROLE` and `relay_role`.
    token = _migrating_prefix.set(prefix)
    try:
        command.upgrade(cfg, "head")
    finally:
        _migrating_prefix.reset(token)


def migrations_dir(service: str) -> Path:
    root = Path(__file__).resolve().parent.parent
    return (
        (root / service / "migrations") if service != "gateway" else (root.parent / "gateway" / "migrations")
    )


def run_env() -> None:
    """Body of every service's Alembic env.py: migrate inside the connection given by `migrate`."""
    config: Any = context.config
    connection = config.attributes["connection"]
    schema = config.attributes["schema"]
    context.configure(connection=connection, version_table_schema=schema, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def drop_connections(conn: AsyncConnection, database: str) -> None:
    await conn.execute(
        sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"
        ),
        {"d": database},
    )
