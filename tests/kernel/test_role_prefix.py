"""Two deployments on one PostgreSQL server: each `migrate` creates and alters only the roles of its
own prefix (RISCOSSA_ROLE_PREFIX), the frozen migrations name that prefix's roles in their policies,
and each role gets its own password when one is given."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from services.kernel.messaging import asyncpg_dsn
from services.kernel.migrate import app_role, drop_connections, migrate, owner_role, relay_role
from tests.conftest import SERVER_URL

# The gateway's migrations name the owner in their policies, ingest's name its relay.
SERVICES = ["gateway", "ingest"]


@pytest_asyncio.fixture
async def server() -> AsyncIterator[tuple[AsyncConnection, list[str], list[str]]]:
    """The server's superuser connection, and the databases and role prefixes to drop at the end."""
    engine = create_async_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    databases: list[str] = []
    prefixes: list[str] = []
    async with engine.connect() as conn:
        yield conn, databases, prefixes
        for name in databases:
            await drop_connections(conn, name)
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        for prefix in prefixes:
            for role in [owner_role(prefix)] + [
                f(s, prefix) for s in SERVICES for f in (app_role, relay_role)
            ]:
                await conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
    await engine.dispose()


async def _database(conn: AsyncConnection, databases: list[str]) -> str:
    name = f"riscossa_prefix_{uuid.uuid4().hex[:8]}"
    await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    databases.append(name)
    return sa.engine.make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


async def _password_hashes(conn: AsyncConnection, prefix: str) -> dict[str, str]:
    rows = await conn.execute(
        sa.text("SELECT rolname, rolpassword FROM pg_authid WHERE rolname LIKE :p"), {"p": f"{prefix}\\_%"}
    )
    return {name: password for name, password in rows}


def _is_password(verifier: str, password: str) -> bool:
    """Whether a SCRAM-SHA-256 verifier (pg_authid.rolpassword) is that of `password` (the local
    server may trust loopback logins, so logging in proves nothing)."""
    method, rest = verifier.split("$", 1)
    counts, keys = rest.split("$")
    iterations, salt = counts.split(":")
    stored_key = keys.split(":")[0]
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return method == "SCRAM-SHA-256" and hashlib.sha256(client_key).digest() == base64.b64decode(stored_key)


async def _policy_roles(url: str) -> dict[str, list[str]]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT polname, array(SELECT rolname FROM pg_roles WHERE oid = ANY(polroles)) AS roles"
            " FROM pg_policy WHERE polname IN ('relay_all', 'owner_lookup', 'audit_read_owner')"
        )
        return {r["polname"]: sorted(r["roles"]) for r in rows}
    finally:
        await conn.close()


@pytest.mark.asyncio
async def test_two_deployments_on_one_server_touch_only_their_own_roles(
    server: tuple[AsyncConnection, list[str], list[str]],
) -> None:
    conn, databases, prefixes = server
    run = uuid.uuid4().hex[:6]
    a, b = f"rpa{run}", f"rpb{run}"
    prefixes += [a, b]
    url_a, url_b = await _database(conn, databases), await _database(conn, databases)

    await migrate(url_a, SERVICES, "pw-a", prefix=a, passwords={"ingest_relay": "pw-a-relay"})
    a_before = await _password_hashes(conn, a)
    assert set(a_before) == {owner_role(a)} | {f(s, a) for s in SERVICES for f in (app_role, relay_role)}
    await migrate(url_b, SERVICES, "pw-b", prefix=b)
    await migrate(url_b, SERVICES, "pw-b2", prefix=b)  # a later release of B sets its passwords again

    # B's migrations altered none of A's roles (a password set again gets a new salt).
    assert await _password_hashes(conn, a) == a_before
    assert _is_password(a_before[app_role("ingest", a)], "pw-a")
    assert _is_password(a_before[relay_role("ingest", a)], "pw-a-relay")
    assert not _is_password(a_before[relay_role("ingest", a)], "pw-a")
    assert _is_password((await _password_hashes(conn, b))[app_role("ingest", b)], "pw-b2")

    # The frozen migrations named each deployment's own roles in their policies.
    assert await _policy_roles(url_a) == {
        "relay_all": [relay_role("ingest", a)],
        "owner_lookup": [owner_role(a)],
        "audit_read_owner": [owner_role(a)],
    }
    assert (await _policy_roles(url_b))["relay_all"] == [relay_role("ingest", b)]

    # Neither deployment's roles reach the other's schemas.
    for url, stranger in ((url_a, b), (url_b, a)):
        check = create_async_engine(url)
        async with check.connect() as other:
            reach = await other.execute(
                sa.text("SELECT has_schema_privilege(:r, 'ingest', 'USAGE')"),
                {"r": app_role("ingest", stranger)},
            )
            assert reach.scalar_one() is False
        await check.dispose()

    with pytest.raises(RuntimeError, match="another RISCOSSA_ROLE_PREFIX"):
        await migrate(url_a, SERVICES, "pw-b", prefix=b)
