"""A running platform for end-to-end tests: every consumer and outbox relay on RabbitMQ, the gateway
forwarding to the real service apps, demo tenants and an API key."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio

from gateway.app import Gateway
from gateway.seed import issue_dev_api_key, seed_demo
from services.cli import build_gateway
from services.platform import BUSINESS_SERVICES, Platform


@dataclass
class Running:
    platform: Platform
    gateway: Gateway
    tenants: dict[str, uuid.UUID]
    api_keys: dict[str, str]

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.gateway), base_url="http://127.0.0.1", timeout=60
        )

    def api(self, slug: str) -> httpx.AsyncClient:
        client = self.client()
        client.headers["authorization"] = f"Bearer {self.api_keys[slug]}"
        return client


@pytest_asyncio.fixture(scope="session")
async def running(platform: Platform) -> AsyncIterator[Running]:
    tenants = await seed_demo(platform.databases["gateway"])
    keys = {
        slug: await issue_dev_api_key(platform.databases["gateway"], tid) for slug, tid in tenants.items()
    }
    await platform.start_workers()
    stop = asyncio.Event()
    relays = [platform.relay(s) for s in BUSINESS_SERVICES]
    for r in relays:
        r.poll_seconds = 0.2
    tasks = [asyncio.create_task(r.run(stop)) for r in relays]
    yield Running(platform, build_gateway(platform), tenants, keys)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await platform.stop_workers()
