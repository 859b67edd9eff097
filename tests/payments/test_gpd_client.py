"""The GPD client against a local server written from pagoPA's published OpenAPI (external v1)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.kernel.errors import Conflict, DomainError, NotFound
from services.payments import domain_gpd
from services.payments.gpd_client import GpdClient, GpdRefused, GpdUnavailable
from tests.payments.gpd_server import GpdServer, running

ORG = "80012340011"
KEY = "chiave-intermediario-di-prova"


@pytest_asyncio.fixture
async def gpd() -> AsyncIterator[GpdServer]:
    async with running(KEY) as server:
        yield server


def model(due: date | None = None, amount: int = 12_345) -> dict[str, Any]:
    creditor = domain_gpd.Creditor(ORG, "Comune di Demo A", "IT60X0542811101000000123456")
    option = domain_gpd.Option(
        "301000000000000117", "01000000000000117", amount, due or date.today() + timedelta(days=40)
    )
    debt = domain_gpd.Debt(
        "position", uuid.uuid4(), "RSSMRA80A01H501U", "ROSSI MARIO", "TARI", "TARI 2022, atto T1", (option,)
    )
    return domain_gpd.position_model(creditor, debt)


@pytest.mark.asyncio
async def test_create_and_publish_then_get_and_invalidate(gpd: GpdServer) -> None:
    position = model()
    async with GpdClient(gpd.url, KEY) as client:
        created = await client.create(ORG, position)
        assert created["status"] == "VALID"
        read = await client.get(ORG, position["iupd"])
        assert read["status"] == "VALID" and read["paymentOption"][0]["amount"] == 12_345
        invalid = await client.invalidate(ORG, position["iupd"])
        assert invalid["status"] == "INVALID"
        with pytest.raises(Conflict) as again:
            await client.invalidate(ORG, position["iupd"])
    assert "non consente di annullarla" in again.value.message
    assert ("POST", f"/organizations/{ORG}/debtpositions") in gpd.requests


@pytest.mark.asyncio
async def test_draft_then_publish(gpd: GpdServer) -> None:
    position = model()
    async with GpdClient(gpd.url, KEY) as client:
        assert (await client.create(ORG, position, publish=False))["status"] == "DRAFT"
        assert (await client.publish(ORG, position["iupd"]))["status"] == "VALID"
        with pytest.raises(Conflict) as twice:
            await client.publish(ORG, position["iupd"])
    assert "non consente di pubblicarla" in twice.value.message


@pytest.mark.asyncio
async def test_a_duplicate_position_is_an_italian_conflict(gpd: GpdServer) -> None:
    position = model()
    async with GpdClient(gpd.url, KEY) as client:
        await client.create(ORG, position)
        with pytest.raises(Conflict) as duplicate:
            await client.create(ORG, position)
    assert duplicate.value.status == 409
    assert f"La posizione debitoria {position['iupd']} è già presente su pagoPA" in duplicate.value.message


@pytest.mark.asyncio
async def test_an_unknown_position_is_an_italian_not_found(gpd: GpdServer) -> None:
    async with GpdClient(gpd.url, KEY) as client:
        with pytest.raises(NotFound) as unknown:
            await client.invalidate(ORG, f"{ORG}-sconosciuta")
        with pytest.raises(NotFound):
            await client.get(ORG, f"{ORG}-sconosciuta")
    assert unknown.value.message == f"La posizione debitoria {ORG}-sconosciuta non esiste su pagoPA."


@pytest.mark.asyncio
async def test_a_wrong_key_is_refused_in_italian(gpd: GpdServer) -> None:
    async with GpdClient(gpd.url, "chiave-sbagliata") as client:
        with pytest.raises(GpdRefused) as refused:
            await client.create(ORG, model())
    assert refused.value.status == 403 and "chiave dell'intermediario" in refused.value.message
    assert gpd.positions == {}


@pytest.mark.asyncio
async def test_invalid_data_is_a_400_in_italian_with_pagopa_detail(gpd: GpdServer) -> None:
    past = model(due=date.today() - timedelta(days=2))
    broken = {**model(), "type": "X"}
    del broken["companyName"]
    async with GpdClient(gpd.url, KEY) as client:
        with pytest.raises(DomainError) as late:
            await client.create(ORG, past)
        with pytest.raises(DomainError) as wrong:
            await client.create(ORG, broken)
    assert late.value.status == 400 and "pagoPA ha rifiutato i dati" in late.value.message
    assert "due_date" in late.value.message
    assert "companyName is required" in wrong.value.message and "type must be one of" in wrong.value.message
    assert gpd.positions == {}


@pytest.mark.asyncio
async def test_an_unreachable_endpoint_or_a_server_error_is_a_502_not_a_500() -> None:
    async with GpdClient("http://127.0.0.1:9", KEY) as client:
        with pytest.raises(GpdUnavailable) as down:
            await client.get(ORG, "x")
    assert down.value.status == 502 and "Impossibile raggiungere pagoPA" in down.value.message

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"title": "Internal", "status": 500, "detail": "boom"})

    async with GpdClient("http://gpd.test", KEY, transport=httpx.MockTransport(broken)) as client:
        with pytest.raises(GpdUnavailable) as failing:
            await client.create(ORG, model())
    assert failing.value.status == 502 and "errore 500" in failing.value.message


@pytest.mark.asyncio
async def test_an_endpoint_that_is_not_http_is_a_configuration_conflict() -> None:
    async with GpdClient("ftp://gpd.example", KEY) as client:
        with pytest.raises(Conflict) as wrong:
            await client.get(ORG, "x")
    assert "non è un indirizzo http(s) valido" in wrong.value.message


@pytest.mark.asyncio
async def test_a_timeout_is_a_502_asking_to_retry() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with GpdClient("http://gpd.test", KEY, transport=httpx.MockTransport(slow)) as client:
        with pytest.raises(GpdUnavailable) as late:
            await client.invalidate(ORG, "x")
    assert late.value.status == 502 and "non ha risposto in tempo" in late.value.message
