"""The entrypoint owns the transaction: `endpoint(*roles)` and `Database.run`."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.kernel.db import Database, UnitOfWork
from services.kernel.errors import DomainError
from services.kernel.identity import Identity
from services.kernel.web import AfterCommit, endpoint, service_app
from services.payments import repository
from services.platform import Platform
from tests.support import identity_headers, make_identity

seen: dict[str, object] = {}


@endpoint("operator")
async def writes(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    seen["checked_out_before_first_statement"] = uow.db.engine.pool.checkedout()  # type: ignore[attr-defined]
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "probe", None, request.url.path)
    if request.query_params.get("fail"):
        raise DomainError("Richiesta non valida.", field="fail")
    return JSONResponse({"ok": True})


@endpoint("operator")
async def renders_after_commit(request: Request, ident: Identity, uow: UnitOfWork) -> AfterCommit:
    await repository.access.record(uow, ident.tenant_id, ident.user_id, "probe", None, request.url.path)

    async def respond() -> Response:
        seen["checked_out_while_rendering"] = uow.db.engine.pool.checkedout()  # type: ignore[attr-defined]
        seen["seen_by_another_transaction"] = await probes_of(uow.db, ident)
        return JSONResponse({"rendered": True})

    return AfterCommit(respond)


def client(platform: Platform, who: Identity) -> httpx.AsyncClient:
    routes = [
        Route("/api/v1/probe/{n}", writes, methods=["POST"]),
        Route("/api/v1/later/{n}", renders_after_commit, methods=["POST"]),
    ]
    app = service_app(platform.context("payments"), routes)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://service.test",
        headers=identity_headers(platform.signer, who),
    )


async def probes_of(db: Database, who: Identity) -> list[str]:
    async def read(uow: UnitOfWork) -> list[str]:
        entries = await repository.access.entries(uow, who.tenant_id)
        return [e.detail for e in entries if e.action == "probe"]

    return await db.run(who.tenant_id, read)


async def probes(platform: Platform, who: Identity) -> list[str]:
    return await probes_of(platform.databases["payments"], who)


@pytest.mark.asyncio
async def test_a_view_that_returns_is_committed_and_one_that_raises_is_rolled_back(
    platform: Platform,
) -> None:
    who = make_identity(uuid.uuid4(), "comune-probe", roles=("operator",))
    async with client(platform, who) as http:
        ok = await http.post("/api/v1/probe/1")
        failed = await http.post("/api/v1/probe/2?fail=1")
    assert ok.status_code == 200
    assert (failed.status_code, failed.json()) == (400, {"error": "Richiesta non valida.", "field": "fail"})
    assert await probes(platform, who) == ["/api/v1/probe/1"]


@pytest.mark.asyncio
async def test_a_view_needs_one_of_its_roles(platform: Platform) -> None:
    who = make_identity(uuid.uuid4(), "comune-probe", roles=("comune_viewer",))
    async with client(platform, who) as http:
        refused = await http.post("/api/v1/probe/3")
    assert refused.status_code == 403
    assert await probes(platform, who) == []


@pytest.mark.asyncio
async def test_the_connection_is_taken_at_the_first_statement(platform: Platform) -> None:
    who = make_identity(uuid.uuid4(), "comune-probe", roles=("operator",))
    before = platform.databases["payments"].engine.pool.checkedout()  # type: ignore[attr-defined]
    async with client(platform, who) as http:
        assert (await http.post("/api/v1/probe/4")).status_code == 200
    assert seen["checked_out_before_first_statement"] == before


@pytest.mark.asyncio
async def test_database_run_commits_on_return_and_rolls_back_on_error(platform: Platform) -> None:
    db = platform.databases["payments"]
    tenant = uuid.uuid4()

    async def record(uow: UnitOfWork, detail: str) -> None:
        await repository.access.record(uow, tenant, "u", "probe", None, detail)
        if detail == "boom":
            raise RuntimeError(detail)

    await db.run(tenant, lambda uow: record(uow, "kept"))
    with pytest.raises(RuntimeError):
        await db.run(tenant, lambda uow: record(uow, "boom"))
    rows = await db.run(tenant, lambda uow: uow.execute(sa.text("SELECT 1")))
    assert rows.scalar_one() == 1
    assert await probes(platform, make_identity(tenant, "x", roles=("operator",))) == ["kept"]


@pytest.mark.asyncio
async def test_a_response_built_after_commit_holds_no_connection(platform: Platform) -> None:
    who = make_identity(uuid.uuid4(), "comune-probe", roles=("operator",))
    before = platform.databases["payments"].engine.pool.checkedout()  # type: ignore[attr-defined]
    async with client(platform, who) as http:
        response = await http.post("/api/v1/later/1")
    assert (response.status_code, response.json()) == (200, {"rendered": True})
    assert seen["checked_out_while_rendering"] == before
    assert seen["seen_by_another_transaction"] == ["/api/v1/later/1"]


def test_an_endpoint_declares_its_roles() -> None:
    with pytest.raises(ValueError):
        endpoint()
    assert writes.roles == ("operator",)  # type: ignore[attr-defined]
