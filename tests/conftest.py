"""Fixtures that start or reach the real servers: PostgreSQL, RabbitMQ and SeaweedFS.

Each run gets its own database (built by the migrations), its own exchange and queue prefix on
RabbitMQ, and its own SeaweedFS data folder, so runs never see each other's state.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from services.kernel.identity import Identity
from services.kernel.migrate import drop_connections
from services.kernel.settings import Settings
from services.platform import ALL_SCHEMAS, Platform
from tests import smtp_server
from tests.contracts_check import outbox_violations
from tests.support import CONTACT_WORKDAY, SeaweedFS, identity_headers, make_identity

RUN_ID = uuid.uuid4().hex[:10]
SERVER_URL = os.environ.get(
    "RISCOSSA_TEST_SERVER_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
AMQP_URL = os.environ.get("RISCOSSA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    server = SeaweedFS(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop()


@pytest_asyncio.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    name = f"riscossa_test_{RUN_ID}"
    admin = create_async_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    checker = create_async_engine(url)
    async with checker.connect() as conn:
        broken = await outbox_violations(conn)
    await checker.dispose()
    async with admin.connect() as conn:
        await drop_connections(conn, name)
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    await admin.dispose()
    assert broken == [], f"outbox rows that break their contract: {broken[:5]}"


@pytest.fixture(scope="session")
def smtp() -> Iterator[smtp_server.Inbox]:
    """A real SMTP server (aiosmtpd) that the platform of the tests sends its e-mail to."""
    inbox = smtp_server.Inbox()
    controller = smtp_server.start(inbox)
    inbox.url = f"smtp://{controller.hostname}:{controller.port}"
    yield inbox
    controller.stop()


@pytest.fixture(scope="session")
def settings(
    database_url: str,
    seaweed: SeaweedFS,
    smtp: smtp_server.Inbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    data = tmp_path_factory.mktemp("data")
    return Settings(
        mode="test",
        data_dir=data,
        database_url=database_url,
        amqp_url=AMQP_URL,
        exchange=f"riscossa-test-{RUN_ID}",
        queue_prefix=f"riscossa-test-{RUN_ID}",
        max_retries=2,
        retry_delay_ms=200,
        s3_endpoint=seaweed.endpoint,
        s3_bucket=f"riscossa-test-{RUN_ID}",
        s3_access_key=seaweed.access_key,
        s3_secret_key=seaweed.secret_key,
        storage_dir=data / "storage",
        secret_key="test-secret-" + RUN_ID,
        dev_login=False,
        smtp_url=smtp.url,
        mail_from="Riscossa Test <noreply@riscossa.test>",
    )


@pytest_asyncio.fixture(scope="session")
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    """Migrated database, RabbitMQ bus and SeaweedFS storage; no consumers running."""
    plat = await Platform.open(settings, run_migrations=True)
    # The contact service judges calls by the conduct rules at its clock: a working Monday morning,
    # so that tests run on a Sunday or at night still find debtors to phone (tests of the rules
    # themselves set other moments with `tests.support.contact_clock`).
    plat.clocks["contact"] = CONTACT_WORKDAY
    yield plat
    queues = [q.name for q in plat.topology()]
    await plat.close()
    await _delete_rabbit_topology(settings, queues)


async def _delete_rabbit_topology(settings: Settings, queues: list[str]) -> None:
    from services.kernel.bus_rabbit import RabbitBus

    bus = RabbitBus(settings.amqp_url, settings.exchange)
    await bus.start()
    await bus.delete(queues, exchange=True)
    await bus.close()


@pytest.fixture
def local_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The embedded defaults for bus and storage (in-process, local folder) on the test database."""
    return replace(settings, amqp_url="", s3_endpoint="", storage_dir=tmp_path / "storage")


@pytest.fixture
def tenant() -> Identity:
    tid = uuid.uuid4()
    return make_identity(tid, f"comune-{tid.hex[:8]}", roles=("operator", "comune_admin"))


@pytest.fixture
def other_tenant() -> Identity:
    tid = uuid.uuid4()
    return make_identity(tid, f"comune-{tid.hex[:8]}", roles=("operator", "comune_admin"))


def service_client(platform: Platform, service: str, who: Identity | None) -> httpx.AsyncClient:
    """An HTTP client talking straight to one service, as the gateway would (signed identity)."""
    headers = identity_headers(platform.signer, who) if who is not None else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=platform.app(service)),
        base_url="http://service.test",
        headers=headers,
    )


async def eventually(check, timeout: float = 15.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll an async check until it returns a truthy value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)


__all__ = ["ALL_SCHEMAS", "eventually", "service_client"]
