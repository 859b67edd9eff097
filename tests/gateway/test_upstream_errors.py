"""An unreachable service gets an Italian 502 with the correlation id, never a bare server error."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from gateway.app import Gateway
from gateway.proxy import HttpUpstream
from gateway.seed import issue_dev_api_key, seed_demo
from services.platform import BUSINESS_SERVICES, Platform
from tests.support import free_port


@pytest.mark.asyncio
async def test_unreachable_service_answers_502_with_correlation_id(platform: Platform) -> None:
    tenants = await seed_demo(platform.databases["gateway"])
    key = await issue_dev_api_key(platform.databases["gateway"], tenants["comune-demo-a"])
    down = HttpUpstream(f"http://127.0.0.1:{free_port()}")
    settings = replace(platform.settings, mode="dev", dev_login=True)
    gw = Gateway(
        settings,
        platform.databases["gateway"],
        platform.signer,
        platform.storage,
        platform.bus,
        dict.fromkeys(BUSINESS_SERVICES, down),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gw), base_url="http://127.0.0.1"
    ) as client:
        response = await client.get("/api/v1/ingest/batches/x", headers={"authorization": f"Bearer {key}"})
    await down.close()
    assert response.status_code == 502
    correlation = response.headers["x-correlation-id"]
    assert "non raggiungibile" in response.json()["error"] and correlation in response.json()["error"]
