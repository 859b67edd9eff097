"""The operators' console under load: gateway and contact service as separate processes (uvicorn),
a Comune with 100,000 debtors, operators working with no pause. Their action after each call is
what the card offers: the outcome recorded with «Registra e passa al prossimo», which leases the next
debtor in the same request, and the next card shown (two requests; each operator's first
«Prossimo debitore» is not timed).

Prints, beside their anchors, in one run:
- closed loop (`--operators`, default 50): actions per second, HTTP requests per second and the
  action's p50/p95/p99; the same clients on a bare endpoint behind the same gateway
  (`/t/<tenant>/contact/healthz`: session, forwarding and signed identity, nothing else), and the
  ratio of requests per second (target: at least one half); the gateway's own `/healthz` too. The
  console and the bare endpoint take turns in `--slices` slices of the `--seconds` each, so a
  machine whose speed drifts during the run (as shared ones do) weighs on both sides alike;
- open loop: actions offered at `--rate` per second (default 100, about 3,000 operators at one
  action every 30 s) for `--seconds`; the p95 (target: under 50 ms).

Creates a scratch database on the tests' PostgreSQL (RISCOSSA_TEST_SERVER_URL), migrates it,
drops it afterwards. The contact service's clock is frozen on a working morning (conduct rules).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
import psutil
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bench.ingest import drop_database, scratch_database
from bench.operator_setup import bench_settings, comune, operators
from gateway.app import SESSION_COOKIE
from services.platform import Platform

FROZEN = "2026-11-30T10:00:00+01:00"
GATEWAY_PORT, CONTACT_PORT = 8731, 8732
TARGET_RATIO, TARGET_P95_MS = 0.5, 50.0


@dataclass
class Timings:
    actions: list[float] = field(default_factory=list)
    requests: int = 0
    failures: int = 0

    def figure(self, q: float) -> float:
        ordered = sorted(self.actions)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Operator:
    """One simulated operator: their HTTP client, CSRF token and the card in front of them."""

    client: aiohttp.ClientSession
    csrf: str
    card: str = ""


async def prime(op: Operator, slug: str) -> None:
    """The day's first «Prossimo debitore» and its card (not timed: once per operator)."""
    headers = {"x-csrf-token": op.csrf}
    async with op.client.post(f"/t/{slug}/contact/next", headers=headers, allow_redirects=False) as taken:
        op.card = taken.headers.get("location", "")
    if "/debtors/" not in op.card:
        raise RuntimeError(f"no debtor to start with: {op.card!r}")
    async with op.client.get(op.card) as shown:
        await shown.read()


async def action(op: Operator, timings: Timings) -> bool:
    """What an operator does after each call: the outcome recorded with «Registra e passa al
    prossimo» (which leases the next debtor) and the next card shown; False when the queue is empty."""
    started = time.perf_counter()
    form = {"outcome": "non_risponde", "poi": "prossimo", "csrf_token": op.csrf}
    try:
        async with op.client.post(f"{op.card}/outcomes", data=form, allow_redirects=False) as done:
            status, following = done.status, done.headers.get("location", "")
        if status != 303 or "/debtors/" not in following:
            timings.failures += status != 303
            return status != 303  # an empty queue ends the operator's day
        async with op.client.get(following) as shown:
            await shown.read()
    except (aiohttp.ClientError, TimeoutError):  # a timeout: counted, and the operator goes on
        timings.failures += 1
        return True
    timings.requests += 2
    if shown.status != 200:
        timings.failures += 1
        return True
    op.card = following.split("?")[0]
    timings.actions.append(time.perf_counter() - started)
    return True


def clients(sessions: list[tuple[str, str]]) -> list[Operator]:
    """One HTTP client per operator (aiohttp: a load generator lighter than httpx on the CPUs it
    shares with the servers), holding the operator's session cookie; redirects are not followed."""
    made = []
    for cookie, csrf in sessions:
        client = aiohttp.ClientSession(
            base_url=f"http://127.0.0.1:{GATEWAY_PORT}",
            headers={"cookie": f"{SESSION_COOKIE}={cookie}"},
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=60),
        )
        made.append(Operator(client, csrf))
    return made


async def closed_loop(
    pool: list[Operator], slug: str, seconds: float, timings: Timings | None = None
) -> tuple[Timings, float]:
    """The operators working with no pause for `seconds` (their actions added to `timings`)."""
    timings = timings or Timings()
    await asyncio.gather(*(prime(op, slug) for op in pool if not op.card))
    deadline = time.perf_counter() + seconds

    async def operator(op: Operator) -> None:
        while time.perf_counter() < deadline and await action(op, timings):
            pass

    started = time.perf_counter()
    await asyncio.gather(*(operator(op) for op in pool))
    return timings, time.perf_counter() - started


async def bare(pool: list[Operator], path: str, seconds: float) -> tuple[float, int]:
    """Requests per second of a bare endpoint (`path`) with the same clients, and how many."""
    count, deadline = 0, time.perf_counter() + seconds

    async def hit(client: aiohttp.ClientSession) -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            async with client.get(path) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{path} does not answer 200")
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(hit(op.client) for op in pool))
    return count / (time.perf_counter() - started), count


async def open_loop(pool: list[Operator], slug: str, rate: float, seconds: float) -> tuple[Timings, int]:
    """Actions started at `rate` per second by whichever operator is free; those with no free
    operator are counted as not sent."""
    await asyncio.gather(*(prime(op, slug) for op in pool if not op.card))
    timings, idle, skipped, tasks = Timings(), list(pool), 0, []

    async def one(op: Operator) -> None:
        try:
            await action(op, timings)
        finally:
            idle.append(op)

    started = time.perf_counter()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        if not idle:
            skipped += 1
            continue
        tasks.append(asyncio.create_task(one(idle.pop())))
    await asyncio.gather(*tasks)
    return timings, skipped


async def analyze(url: str) -> None:
    """Statistics for the tables just filled, as autovacuum gathers within a minute of an import:
    without them the planner sorts the whole queue instead of reading its index."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        for table in ("contact.debtors", "contact.debtor_positions", "contact.contacts"):
            await conn.execute(sa.text(f"ANALYZE {table}"))
    await engine.dispose()


def serve(kind: str, url: str, port: int) -> subprocess.Popen[bytes]:
    contact = f"http://127.0.0.1:{CONTACT_PORT}"
    command = [sys.executable, "-m", "bench.operator_serve", kind, url, str(port), contact, FROZEN]
    return subprocess.Popen(command, cwd=Path(__file__).resolve().parents[1], env=os.environ.copy())


async def ready(port: int) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port}")


def cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> dict[str, float]:
    """CPU time used so far by the contact service, the gateway, every PostgreSQL process and this
    load generator (user + system), to tell what one action costs whatever else the machine does."""

    def used(process: psutil.Process) -> float:
        try:
            times = process.cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)

    postgres = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
    return {
        "contact": used(psutil.Process(processes[0].pid)),
        "gateway": used(psutil.Process(processes[1].pid)),
        "PostgreSQL": sum(used(p) for p in postgres),
        "load": used(psutil.Process()),
    }


@dataclass
class Turns:
    """The console and the bare endpoint measured in turns: what each side did, in how long, and
    the CPU each process spent on it (seconds, `cpu_seconds`)."""

    timings: Timings = field(default_factory=Timings)
    console_seconds: float = 0.0
    console_cpu: dict[str, float] = field(default_factory=dict)
    answered: int = 0
    bare_seconds: float = 0.0
    bare_cpu: dict[str, float] = field(default_factory=dict)


def _add(into: dict[str, float], before: dict[str, float], after: dict[str, float]) -> None:
    for name in after:
        into[name] = into.get(name, 0.0) + after[name] - before[name]


async def in_turns(
    pool: list[Operator], slug: str, seconds: float, slices: int, processes: list[subprocess.Popen[bytes]]
) -> Turns:
    """`seconds` of the console's closed loop and as many of the bare endpoint, in `slices` turns
    each (console first)."""
    turns, part = Turns(), seconds / slices
    for _ in range(slices):
        before = cpu_seconds(processes)
        _, elapsed = await closed_loop(pool, slug, part, turns.timings)
        middle = cpu_seconds(processes)
        started = time.perf_counter()
        _, answered = await bare(pool, f"/t/{slug}/contact/healthz", part)
        turns.bare_seconds += time.perf_counter() - started
        after = cpu_seconds(processes)
        turns.console_seconds += elapsed
        turns.answered += answered
        _add(turns.console_cpu, before, middle)
        _add(turns.bare_cpu, middle, after)
    return turns


def show(name: str, value: str, anchor: str = "", met: bool | None = None) -> None:
    verdict = "" if met is None else ("met" if met else "NOT MET")
    print(f"  {name:34} {value:28} {anchor:14} {verdict}")


async def bench_comune(platform: Platform, args: argparse.Namespace) -> tuple[uuid.UUID, str]:
    """The bench's Comune: made in the scratch database, or the one of a database kept by an
    earlier run (`--database`)."""
    if not args.database:
        return await comune(platform, args.debtors)
    engine = create_async_engine(args.database)
    async with engine.begin() as conn:
        found = (
            await conn.execute(
                sa.text("SELECT id, slug FROM gateway.tenants WHERE slug LIKE 'comune-bench-%'")
            )
        ).one()
        # The clock is frozen, so the cards the last run's operators held would stay leased forever.
        await conn.execute(
            sa.text(
                "UPDATE contact.debtors SET status = 'da_lavorare', assigned_to = NULL,"
                " assigned_name = NULL, locked_until = NULL WHERE status = 'in_lavorazione'"
            )
        )
    await engine.dispose()
    return found.id, found.slug


async def main(args: argparse.Namespace) -> None:
    url = args.database or await scratch_database()
    platform = await Platform.open(bench_settings(url, Path(tempfile.mkdtemp())), run_migrations=True)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        started = time.perf_counter()
        tenant_id, slug = await bench_comune(platform, args)
        sessions = await operators(platform, tenant_id, max(args.operators, args.open_operators))
        await analyze(url)
        print(
            f"{os.cpu_count()} CPUs; {args.debtors:,} debtors and operators ready in {time.perf_counter() - started:.0f} s"
        )
        processes = [serve("contact", url, CONTACT_PORT), serve("gateway", url, GATEWAY_PORT)]
        await ready(CONTACT_PORT)
        await ready(GATEWAY_PORT)
        pool = clients(sessions[: args.operators])
        turns = await in_turns(pool, slug, args.seconds, args.slices, processes)
        timings, elapsed = turns.timings, turns.console_seconds
        behind = turns.answered / turns.bare_seconds
        healthz, _ = await bare(pool, "/healthz", args.seconds)
        ratio = timings.requests / elapsed / behind
        print(
            f"\nclosed loop: {args.operators} operators, no pause, {elapsed:.0f} s"
            f" (in {args.slices} turns with the bare endpoint)"
        )
        show("actions per second", f"{len(timings.actions) / elapsed:.1f}")
        show("HTTP requests per second", f"{timings.requests / elapsed:.0f}")
        show(
            "action p50 / p95 / p99",
            f"{timings.figure(0.5):.0f} / {timings.figure(0.95):.0f} / {timings.figure(0.99):.0f} ms",
        )
        show("bare endpoint behind the gateway", f"{behind:.0f} requests/s")
        show("ratio of requests per second", f"{ratio:.2f}", f">= {TARGET_RATIO}", ratio >= TARGET_RATIO)
        show("gateway's own /healthz", f"{healthz:.0f} requests/s")
        show("ratio to the gateway's own /healthz", f"{timings.requests / elapsed / healthz:.2f}")
        show("failures", str(timings.failures))
        spent = {name: 1000 * ms / max(1, len(timings.actions)) for name, ms in turns.console_cpu.items()}
        show("CPU per action", " + ".join(f"{name} {ms:.1f}" for name, ms in spent.items()))
        show("", f"= {sum(spent.values()):.1f} ms")
        request_ms = sum(spent.values()) / 2  # an action is two requests
        bare_ms = 1000 * sum(turns.bare_cpu.values()) / max(1, turns.answered)
        show("CPU per request: console / bare", f"{request_ms:.2f} / {bare_ms:.2f} ms")
        # With every core busy, requests per second are cores / CPU per request on either side: the
        # ratio is set by what a request costs, not by how the work is spread.
        show("ratio of CPU per request (bare / console)", f"{bare_ms / request_ms:.2f}")
        opened = clients(sessions[: args.open_operators])
        offered, skipped = await open_loop(opened, slug, args.rate, args.seconds)
        p95 = offered.figure(0.95)
        print(
            f"\nopen loop: {args.rate:.0f} actions per second offered for {args.seconds:.0f} s, {args.open_operators} operators"
        )
        show("actions done / not sent", f"{len(offered.actions)} / {skipped}")
        show(
            "action p50 / p95",
            f"{offered.figure(0.5):.0f} / {p95:.0f} ms",
            f"< {TARGET_P95_MS:.0f} ms",
            p95 < TARGET_P95_MS,
        )
        for op in [*pool, *opened]:
            await op.client.close()
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        await platform.close()
        if args.keep or args.database:
            print(f"database kept: --database {url}")
        else:
            await drop_database(url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debtors", type=int, default=100_000)
    parser.add_argument("--operators", type=int, default=50)
    parser.add_argument("--open-operators", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--slices", type=int, default=4, help="turns of console and bare endpoint")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--database", help="run on a database kept by an earlier run (--keep)")
    asyncio.run(main(parser.parse_args()))
