"""Gateway: dev login, sessions, CSRF, API keys, and the signed identity every service verifies."""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway import repository
from gateway.app import Gateway
from gateway.proxy import AsgiUpstream
from gateway.seed import issue_dev_api_key, seed_demo
from services.kernel.identity import IDENTITY_HEADER, IdentitySigner
from services.kernel.web import identity, service_middleware
from services.platform import BUSINESS_SERVICES, Platform
from tests.support import identity_headers, make_identity


def echo_app(signer: IdentitySigner) -> Starlette:
    async def echo(request: Request) -> Response:
        ident = identity(request)
        body = await request.body()
        return JSONResponse(
            {
                "tenant": ident.tenant_slug,
                "roles": list(ident.roles),
                "user": ident.user_id,
                "via": ident.via,
                "tenants": [s for s, _ in ident.tenants],
                "name": ident.display_name,
                "body": body.decode(),
            }
        )

    routes = [
        Route("/t/{tenant}/{svc}/{rest:path}", echo, methods=["GET", "POST"]),
        Route("/api/v1/{svc}/{rest:path}", echo, methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes, middleware=service_middleware(signer))


@pytest_asyncio.fixture
async def gateway(platform: Platform) -> AsyncIterator[tuple[Gateway, dict[str, uuid.UUID]]]:
    tenants = await seed_demo(platform.databases["gateway"])
    settings = replace(platform.settings, mode="dev", dev_login=True)
    upstream = AsgiUpstream(echo_app(platform.signer))
    gw = Gateway(
        settings,
        platform.databases["gateway"],
        platform.signer,
        platform.storage,
        platform.bus,
        dict.fromkeys(BUSINESS_SERVICES, upstream),
    )
    yield gw, tenants


def client(gw: Gateway) -> httpx.AsyncClient:
    # Each client is its own address, so the per-address login limit never trips across tests.
    ip = f"10.88.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gw, client=(ip, 1)), base_url="http://127.0.0.1"
    )


async def login(c: httpx.AsyncClient, display_name_prefix: str) -> str:
    page = await c.get("/login")
    assert page.status_code == 200
    options = dict(
        (name.strip(), uid)
        for uid, name in re.findall(r'<option value="([^"]+)">([^<]+)</option>', page.text)
    )
    user_id = next(uid for name, uid in options.items() if name.startswith(display_name_prefix))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    response = await c.post("/login/dev", data={"user_id": user_id, "csrf_token": csrf.group(1)})
    assert response.status_code == 303
    return str(c.cookies.get("riscossa_session"))


async def csrf_of(gw: Gateway, c: httpx.AsyncClient) -> str:
    session = await gw.read_session(Request({"type": "http", "headers": _cookie_header(c)}))
    assert session is not None
    return session.csrf


def _cookie_header(c: httpx.AsyncClient) -> list[tuple[bytes, bytes]]:
    request = httpx.Request("GET", "http://127.0.0.1/")
    c.cookies.set_cookie_header(request)
    return [(b"cookie", request.headers["cookie"].encode())]


@pytest.mark.asyncio
async def test_comune_admin_sees_only_their_comune(gateway: tuple[Gateway, dict[str, uuid.UUID]]) -> None:
    gw, _ = gateway
    async with client(gw) as c:
        await login(c, "Anna Bianchi")
        home = await c.get("/")
        assert home.status_code == 303 and home.headers["location"] == "/t/comune-demo-a/"
        page = await c.get("/t/comune-demo-a/reporting/x")
        assert page.json()["tenant"] == "comune-demo-a" and page.json()["roles"] == ["comune_admin"]
        foreign = await c.get("/t/comune-demo-b/reporting/x")
        missing = await c.get("/t/comune-che-non-esiste/reporting/x")
        assert foreign.status_code == missing.status_code == 404
        assert foreign.text == missing.text


@pytest.mark.asyncio
async def test_operator_switches_between_assigned_comuni(
    gateway: tuple[Gateway, dict[str, uuid.UUID]],
) -> None:
    gw, _ = gateway
    async with client(gw) as c:
        await login(c, "Olga Russo")
        home = await c.get("/")
        assert home.status_code == 200 and "comune-demo-a" in home.text and "comune-demo-b" in home.text
        a = (await c.get("/t/comune-demo-a/contact/")).json()
        b = (await c.get("/t/comune-demo-b/contact/")).json()
        assert (a["tenant"], b["tenant"]) == ("comune-demo-a", "comune-demo-b")
        assert a["tenants"] == ["comune-demo-a", "comune-demo-b"]
        # The development login says who each demo person is; their name is only their name.
        assert a["name"] == "Olga Russo"
        listed = (await client(gw).get("/login")).text
        assert ">Olga Russo · operatrice (A e B)</option>" in listed


@pytest.mark.asyncio
async def test_user_without_membership_sees_no_data(gateway: tuple[Gateway, dict[str, uuid.UUID]]) -> None:
    gw, _ = gateway
    async with client(gw) as c:
        await login(c, "Nadia Conti")
        home = await c.get("/")
        assert home.status_code == 403 and "Accesso non autorizzato" in home.text
        # Whom to ask, and by what they can invite her.
        told = html.unescape(home.text.split('data-testid="no-comune"', 1)[1].split("</div>", 1)[0])
        assert "chiedi all'amministratore del tuo Comune di invitarti" in told
        assert "dal tuo accesso successivo" in told
        assert (await c.get("/t/comune-demo-a/reporting/")).status_code == 404


@pytest.mark.asyncio
async def test_unauthenticated_requests_go_to_login(gateway: tuple[Gateway, dict[str, uuid.UUID]]) -> None:
    gw, _ = gateway
    async with client(gw) as c:
        response = await c.get("/t/comune-demo-a/reporting/")
        assert response.status_code == 303 and response.headers["location"] == "/login"
        assert (await c.post("/t/comune-demo-a/ingest/batches")).status_code == 401


@pytest.mark.asyncio
async def test_unsafe_requests_need_the_csrf_token(gateway: tuple[Gateway, dict[str, uuid.UUID]]) -> None:
    gw, _ = gateway
    async with client(gw) as c:
        await login(c, "Anna Bianchi")
        assert (await c.post("/t/comune-demo-a/ingest/batches", data={"a": "1"})).status_code == 403
        bad = await c.post("/t/comune-demo-a/ingest/batches", headers={"x-csrf-token": "wrong"})
        assert bad.status_code == 403
        token = await csrf_of(gw, c)
        by_header = await c.post("/t/comune-demo-a/ingest/batches", headers={"x-csrf-token": token})
        assert by_header.status_code == 200
        by_field = await c.post("/t/comune-demo-a/ingest/batches", data={"csrf_token": token, "x": "y"})
        assert by_field.status_code == 200 and "x=y" in by_field.json()["body"]


@pytest.mark.asyncio
async def test_forged_identity_header_from_the_client_is_dropped(
    gateway: tuple[Gateway, dict[str, uuid.UUID]], platform: Platform
) -> None:
    gw, tenants = gateway
    forged = identity_headers(
        platform.signer, make_identity(tenants["comune-demo-b"], "comune-demo-b", ("platform_admin",))
    )
    async with client(gw) as c:
        await login(c, "Anna Bianchi")
        response = await c.get("/t/comune-demo-a/reporting/x", headers=forged)
        assert response.json()["roles"] == ["comune_admin"]


@pytest.mark.asyncio
async def test_api_keys_authenticate_a_tenant(
    gateway: tuple[Gateway, dict[str, uuid.UUID]], platform: Platform
) -> None:
    gw, tenants = gateway
    key = await issue_dev_api_key(platform.databases["gateway"], tenants["comune-demo-b"])
    async with client(gw) as c:
        ok = await c.get("/api/v1/ingest/batches/1", headers={"authorization": f"Bearer {key}"})
        assert ok.status_code == 200
        assert ok.json()["tenant"] == "comune-demo-b" and ok.json()["via"] == "api_key"
        assert (await c.get("/api/v1/ingest/batches/1", headers={"x-api-key": key})).status_code == 200
        assert (
            await c.get("/api/v1/ingest/batches/1", headers={"authorization": "Bearer " + key[:-1] + "x"})
        ).status_code == 401
        assert (await c.get("/api/v1/ingest/batches/1")).status_code == 401
        newer = await issue_dev_api_key(platform.databases["gateway"], tenants["comune-demo-b"])
        assert (await c.get("/api/v1/ingest/batches/1", headers={"x-api-key": key})).status_code == 401
        assert (await c.get("/api/v1/ingest/batches/1", headers={"x-api-key": newer})).status_code == 200


@pytest.mark.asyncio
async def test_openapi_document_and_security_headers(gateway: tuple[Gateway, dict[str, uuid.UUID]]) -> None:
    gw, _ = gateway
    async with client(gw) as c:
        response = await c.get("/api/v1/openapi.json")
        assert response.status_code == 200
        assert "/api/v1/ingest/batches" in response.json()["paths"]
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        # Nothing the browser keeps but the static assets (pages name taxpayers).
        assert response.headers["cache-control"] == "no-store"
        assert (await c.get("/login")).headers["cache-control"] == "no-store"
        script = await c.get("/static/app.js")
        assert script.status_code == 200 and "no-store" not in script.headers.get("cache-control", "")


def test_dev_login_is_refused_outside_dev_mode(platform: Platform) -> None:
    settings = replace(platform.settings, mode="production", dev_login=True)
    with pytest.raises(RuntimeError, match="development login"):
        Gateway(settings, platform.databases["gateway"], platform.signer, platform.storage, platform.bus, {})


@pytest.mark.asyncio
async def test_services_refuse_missing_expired_tampered_or_foreign_identities(platform: Platform) -> None:
    app = echo_app(platform.signer)
    tenant = make_identity(uuid.uuid4(), "comune-x")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as c:
        assert (await c.get("/t/comune-x/payments/a")).status_code == 401
        ok = await c.get("/t/comune-x/payments/a", headers=identity_headers(platform.signer, tenant))
        assert ok.status_code == 200
        token = platform.signer.sign(tenant)
        tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
        assert (await c.get("/t/comune-x/payments/a", headers={IDENTITY_HEADER: tampered})).status_code == 401
        other_key = IdentitySigner("another-secret").sign(tenant)
        assert (
            await c.get("/t/comune-x/payments/a", headers={IDENTITY_HEADER: other_key})
        ).status_code == 401
        foreign = await c.get("/t/comune-y/payments/a", headers=identity_headers(platform.signer, tenant))
        assert foreign.status_code == 404
    strict = echo_app(IdentitySigner(platform.settings.secret_key, ttl_seconds=1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=strict), base_url="http://svc") as c:
        stale = platform.signer.sign(tenant)
        assert (await c.get("/t/comune-x/payments/a", headers={IDENTITY_HEADER: stale})).status_code == 200
        await asyncio.sleep(2.1)
        expired = await c.get("/t/comune-x/payments/a", headers={IDENTITY_HEADER: stale})
        assert expired.status_code == 401 and "expired" in expired.text


@pytest.mark.asyncio
async def test_a_non_ascii_csrf_token_is_refused_not_a_crash(
    gateway: tuple[Gateway, dict[str, uuid.UUID]],
) -> None:
    gw, _ = gateway
    async with client(gw) as c:
        await login(c, "Anna Bianchi")
        by_header = await c.post("/t/comune-demo-a/ingest/batches", headers={"x-csrf-token": b"\xe9t\xe9"})
        by_field = await c.post("/t/comune-demo-a/ingest/batches", data={"csrf_token": "été"})
        logout = await c.post("/logout", data={"csrf_token": "été"})
    assert (by_header.status_code, by_field.status_code, logout.status_code) == (403, 403, 403)


@pytest.mark.asyncio
async def test_a_demo_person_invited_by_e_mail_joins_at_the_development_login(
    gateway: tuple[Gateway, dict[str, uuid.UUID]], platform: Platform
) -> None:
    gw, tenants = gateway
    b = tenants["comune-demo-b"]
    # A supervisor of Demo B enables Marco (Demo A only) by his address, as the people page does.
    async with platform.databases["gateway"].unit_of_work(b) as uow:
        await repository.create_invitation(uow, b, None, "marco.ricci@riscossa.example", "operator", None)
        await uow.commit()
    async with client(gw) as c:
        await login(c, "Marco Ricci")
        home = await c.get("/")
        assert home.status_code == 200 and "comune-demo-a" in home.text and "comune-demo-b" in home.text
