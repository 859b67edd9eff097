"""A running platform for end-to-end tests: every consumer and outbox relay on RabbitMQ, the gateway
forwarding to the real service apps, and a fresh Comune with its staff and API key."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio

from gateway import domain, repository
from gateway.app import SESSION_COOKIE, Gateway
from services.cli import build_gateway
from services.platform import BUSINESS_SERVICES, Platform


@dataclass
class Comune:
    slug: str
    tenant_id: uuid.UUID
    api_key: str
    staff: dict[str, uuid.UUID]  # role -> user id


@dataclass
class Running:
    platform: Platform
    gateway: Gateway

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.gateway), base_url="http://127.0.0.1", timeout=60
        )

    def api(self, comune: Comune) -> httpx.AsyncClient:
        client = self.client()
        client.headers["authorization"] = f"Bearer {comune.api_key}"
        return client

    async def browser(self, user_id: uuid.UUID, name: str) -> httpx.AsyncClient:
        """A signed-in user with a real server-side session (the login itself is covered by the gateway tests)."""
        session = await self.gateway.sessions_store.create(user_id)
        client = self.client()
        client.cookies.set(SESSION_COOKIE, session.cookie)
        client.headers["x-csrf-token"] = session.csrf
        return client

    async def new_comune(self, name: str) -> Comune:
        db = self.platform.databases["gateway"]
        slug = f"comune-e2e-{uuid.uuid4().hex[:8]}"
        key, prefix, key_hash = domain.new_api_key()
        async with db.unit_of_work(None) as uow:
            tenant_id = await repository.upsert_tenant(uow, slug, name)
            staff = {
                role: await repository.upsert_user(uow, f"{slug}-{role}", f"{role} {name}")
                for role in ("operator", "comune_admin")
            }
            await uow.commit()
        async with db.unit_of_work(tenant_id) as uow:
            for role, user_id in staff.items():
                await repository.add_membership(uow, tenant_id, user_id, role)
            await repository.create_api_key(uow, tenant_id, "e2e", prefix, key_hash)
            await uow.commit()
        return Comune(slug, tenant_id, key, staff)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def running(platform: Platform) -> AsyncIterator[Running]:
    await platform.start_workers()
    stop = asyncio.Event()
    relays = [platform.relay(s) for s in BUSINESS_SERVICES]
    for r in relays:
        r.poll_seconds = 0.2
    tasks = [asyncio.create_task(r.run(stop)) for r in relays]
    yield Running(platform, build_gateway(platform))
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await platform.stop_workers()
