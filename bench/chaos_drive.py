"""The workload of `bench/chaos.py`, driven through the gateway over real HTTP, the same for the clean
run and the chaos run: credit files uploaded by the Comune's API key, call outcomes recorded by
operators with real sessions, pagoPA notices issued and receipts imported by the API.

While processes die, a request may fail with no answer, a 5xx, or after its effect was committed.
What the driver does about it, step by step:
- payments settings, notices, receipts: idempotent (the same settings saved again; a notice still
  payable for the same residual is handed out again; a receipt already imported is counted as such):
  retried until answered;
- an upload is not idempotent (each is a new batch): after a failure the driver waits until the
  gateway and ingest are back and a few seconds more, looks for a batch of that file name (unique
  per file) in the ingest database, and uploads again only if there is none;
- an outcome is not idempotent (each is a call): after a failure it waits likewise and records it
  again only if the debtor has no call in the contact database;
- «Prossimo debitore» leases a debtor (safe to repeat: the operator's own lease is handed back).
"""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

from gateway import domain as gateway_domain
from gateway import repository as gateway_repository
from gateway.models import metadata as gateway_metadata
from gateway.sessions import SessionStore
from gateway.web import SESSION_COOKIE
from services.kernel.db import Database
from services.kernel.migrate import app_role, role_url
from services.kernel.repository_limitation import BARRED_ON

T = TypeVar("T")
GEN_CREDITS = Path(__file__).resolve().parent.parent.parent / "shared" / "tools" / "gen_credits.py"
CREDITOR = {
    "name": "Comune di Caos",
    "fiscal_code": "80012340016",
    "segregation_code": "01",
    "cbill": "CHAOS",
    "iban": "IT60X0542811101000000123456",
    "reminder_days": 10,
}
GIVE_UP_SECONDS = 600
# How long a request cut off by a kill may still take to commit on the service's side.
SETTLE_SECONDS = 3.0


class Retry(Exception):
    """An answer that says: not now (a 5xx, or a 4xx that comes from a service being restarted)."""


@dataclass
class Workload:
    positions: int
    files: int
    seed: int
    outcomes: int
    operators: int = 4

    def write(self, folder: Path) -> list[Path]:
        """The credit files (../shared/tools/gen_credits.py, UTF-8 style), the same for every run."""
        folder.mkdir(parents=True, exist_ok=True)
        paths, per_file = [], -(-self.positions // self.files)
        for i in range(self.files):
            path = folder / f"chaos-{self.seed}-{i:03d}.csv"
            if not path.exists():
                rows = min(per_file, self.positions - i * per_file)
                options = ["--style", "utf8", "--rows", str(rows), "--seed", str(self.seed * 1000 + i)]
                subprocess.run(
                    [sys.executable, str(GEN_CREDITS), *options, "--out", str(path), "--no-verdicts"],
                    check=True,
                    capture_output=True,
                )
            paths.append(path)
        return paths


@dataclass
class Tenant:
    slug: str
    tenant_id: uuid.UUID
    api_key: str
    sessions: list[tuple[str, str]]  # (cookie, CSRF token) per operator


async def new_tenant(database_url: str, password: str, operators: int) -> Tenant:
    """A Comune with an API key and operators with live sessions, written to the gateway's database."""
    db = Database(role_url(database_url, app_role("gateway"), password), gateway_metadata, 2)
    try:
        slug = f"comune-caos-{uuid.uuid4().hex[:6]}"
        key, prefix, key_hash = gateway_domain.new_api_key()
        async with db.unit_of_work(None) as uow:
            tenant_id = await gateway_repository.upsert_tenant(uow, slug, "Comune di Caos")
            users = [
                await gateway_repository.upsert_user(uow, f"{slug}-op-{n}", f"Operatore {n}")
                for n in range(operators)
            ]
            await uow.commit()
        async with db.unit_of_work(tenant_id) as uow:
            for user_id in users:
                await gateway_repository.add_membership(uow, tenant_id, user_id, "operator")
            await gateway_repository.create_api_key(uow, tenant_id, "chaos", prefix, key_hash)
            await uow.commit()
        store = SessionStore(db)
        sessions = []
        for user_id in users:
            session = await store.create(user_id)
            sessions.append((session.cookie, session.csrf))
        return Tenant(slug, tenant_id, key, sessions)
    finally:
        await db.dispose()


async def query(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """One statement as the cluster's superuser, retried while the database is down."""

    async def once() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return await patiently(once)


async def patiently(step: Callable[[], Awaitable[T]]) -> T:
    """Run `step` until it does not fail, for at most GIVE_UP_SECONDS."""
    deadline = time.monotonic() + GIVE_UP_SECONDS
    pause = 0.2
    while True:
        try:
            return await step()
        except (TimeoutError, Retry, httpx.HTTPError, OSError, asyncpg.PostgresError) as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"gave up after {GIVE_UP_SECONDS}s: {exc!r}") from exc
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)


def answered(response: httpx.Response, *ok: int) -> httpx.Response:
    if response.status_code in ok:
        return response
    if response.status_code >= 500 or response.status_code in (401, 404, 429):
        # 502/503: a service is down; 401/404 can come from a gateway that lost its upstream.
        raise Retry(f"{response.status_code}: {response.text[:200]}")
    raise RuntimeError(f"unexpected {response.status_code}: {response.text[:500]}")


@dataclass
class Driver:
    gateway_url: str
    dsn: str  # the run's database, as superuser (checks before a non-idempotent retry)
    tenant: Tenant
    workload: Workload
    ready: Callable[[], Awaitable[None]]  # returns once the gateway and services answer again
    retried: dict[str, int] = field(default_factory=dict)

    def api(self) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {self.tenant.api_key}"}
        return httpx.AsyncClient(base_url=self.gateway_url, headers=headers, timeout=120)

    def count(self, what: str) -> None:
        self.retried[what] = self.retried.get(what, 0) + 1

    async def settings(self) -> None:
        async with self.api() as api:

            async def save() -> None:
                answered(await api.put("/api/v1/payments/settings", json=CREDITOR), 200)

            await patiently(save)

    async def upload(self, path: Path) -> str:
        """Upload one credit file, at most once (see the module's docstring); its batch id."""
        async with self.api() as api:
            while True:
                found = await query(self.dsn, "SELECT id FROM ingest.batches WHERE filename = $1", path.name)
                if found:
                    return str(found[0]["id"])
                try:
                    files = {"file": (path.name, await asyncio.to_thread(path.read_bytes), "text/csv")}
                    response = answered(await api.post("/api/v1/ingest/batches", files=files), 202)
                    return str(response.json()["id"])
                except (Retry, httpx.HTTPError):
                    self.count("upload")
                    await self.ready()
                    await asyncio.sleep(SETTLE_SECONDS)

    async def wait_batch(self, batch_id: str) -> str:
        while True:
            rows = await query(
                self.dsn, "SELECT status FROM ingest.batches WHERE id = $1", uuid.UUID(batch_id)
            )
            if rows and rows[0]["status"] in ("completed", "failed"):
                return str(rows[0]["status"])
            await asyncio.sleep(0.3)

    async def ingest(self, paths: list[Path]) -> None:
        for path in paths:
            status = await self.wait_batch(await self.upload(path))
            if status != "completed":
                raise RuntimeError(f"batch of {path.name} {status}")

    async def wait_positions(self) -> int:
        """Until contact, payments and reporting know every position ingest registered."""
        counts = ", ".join(
            f"(SELECT count(*) FROM {t}) AS {t.split('.')[0]}"
            for t in (
                "ingest.positions",
                "contact.debtor_positions",
                "payments.positions",
                "reporting.positions",
            )
        )
        while True:
            row = (await query(self.dsn, f"SELECT {counts}"))[0]
            if row["ingest"] and len(set(row.values())) == 1:
                return int(row["ingest"])
            await asyncio.sleep(0.5)

    async def outcomes(self) -> int:
        """`workload.outcomes` calls answered «non risponde», shared among the operators."""
        todo = list(range(self.workload.outcomes))
        done: list[str] = []
        await asyncio.gather(
            *(self._operator(cookie, csrf, todo, done) for cookie, csrf in self.tenant.sessions)
        )
        return len(done)

    async def _operator(self, cookie: str, csrf: str, todo: list[int], done: list[str]) -> None:
        base = f"/t/{self.tenant.slug}/contact"
        async with httpx.AsyncClient(base_url=self.gateway_url, timeout=60) as client:
            client.cookies.set(SESSION_COOKIE, cookie)
            client.headers["x-csrf-token"] = csrf
            while todo:
                todo.pop()

                async def lease() -> str:
                    taken = answered(await client.post(f"{base}/next"), 303)
                    location = taken.headers.get("location", "")
                    if "/debtors/" not in location:
                        raise Retry(f"the queue gave no debtor: {location}")
                    return location

                card = await patiently(lease)
                await self._record(client, card, csrf)
                done.append(card)

    async def _record(self, client: httpx.AsyncClient, card: str, csrf: str) -> None:
        debtor_id = uuid.UUID(card.rstrip("/").split("/")[-1].split("?")[0])
        form = {"outcome": "non_risponde", "csrf_token": csrf}
        while True:
            try:
                answered(await client.post(f"{card}/outcomes", data=form), 303)
                return
            except (Retry, httpx.HTTPError):
                self.count("outcome")
                await self.ready()
                await asyncio.sleep(SETTLE_SECONDS)
            calls = await query(
                self.dsn, "SELECT count(*) AS n FROM contact.contacts WHERE debtor_id = $1", debtor_id
            )
            if calls[0]["n"]:
                return

    async def noticed_positions(self) -> list[tuple[str, int]]:
        """Every other position not yet time-barred (no notice is issued on one: `kernel.limitation`;
        none is paid yet) in the order of the credit key (the same in every run), with its amount."""
        unpaid = "SELECT id AS position_id, year, act_on, NULL::date AS paid_on FROM payments.positions"
        rows = await query(
            self.dsn,
            f"SELECT p.id, p.amount_cents FROM payments.positions p JOIN ({BARRED_ON.format(rows=unpaid)}) b"
            " ON b.position_id = p.id WHERE b.barred_on > (now() AT TIME ZONE 'Europe/Rome')::date"
            " ORDER BY p.fiscal_code, p.revenue_type, p.year, p.act_number, p.amount_cents",
        )
        return [(str(r["id"]), int(r["amount_cents"])) for i, r in enumerate(rows) if i % 2 == 0]

    async def notices(self, positions: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """One notice per position (500 a request); the IUV and amount of each."""
        issued: list[tuple[str, int]] = []
        async with self.api() as api:
            for start in range(0, len(positions), 500):
                ids = [p for p, _ in positions[start : start + 500]]

                async def issue(ids: list[str] = ids) -> list[dict[str, Any]]:
                    response = answered(
                        await api.post("/api/v1/payments/notices", json={"position_ids": ids}), 201
                    )
                    options: list[dict[str, Any]] = response.json()["options"]
                    return options

                issued += [(o["iuv"], int(o["amount_cents"])) for o in await patiently(issue)]
        return issued

    async def receipts(self, options: list[tuple[str, int]]) -> int:
        """A pagoPA receipt for every third notice, for its whole amount (files of 1,000 lines)."""
        paid = [o for i, o in enumerate(options) if i % 3 == 0]
        async with self.api() as api:
            for start in range(0, len(paid), 1000):
                body = receipts_csv(paid[start : start + 1000], start)

                async def send(body: bytes = body) -> None:
                    files = {"file": ("ricevute.csv", body, "text/csv")}
                    answered(await api.post("/api/v1/payments/reconciliation/receipts", files=files), 200)

                await patiently(send)
        return len(paid)


def receipts_csv(options: list[tuple[str, int]], first: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(["iuv", "importo", "data_pagamento", "psp", "id_ricevuta"])
    for n, (iuv, cents) in enumerate(options, start=first):
        writer.writerow(
            [iuv, f"{cents // 100},{cents % 100:02d}", "27/11/2026 10:15:00", "Poste", f"CAOS-{n:07d}"]
        )
    return out.getvalue().encode()
