"""Ingest benchmark: 1,000,000 generated rows through the real consumer, against a plain COPY.

Usage: .venv/bin/python bench/ingest.py [--rows N] [--profile] [--keep-db]

Creates a scratch database on the PostgreSQL server of the tests (RISCOSSA_TEST_SERVER_URL,
default postgres@127.0.0.1:5432), migrates it, generates the file with
`../shared/tools/gen_credits.py --style halley --no-verdicts`, stores it as a batch and runs the
ingest processor on it exactly as the worker would (inbox, transaction, COPY staging, SQL
settling, outbox events). Then it COPYs the same rows into an unindexed table of text columns
in the same database and prints both times, their ratio, rows per second and the peak RSS of
this process while ingesting (sampled with psutil, with when it happened). Two more figures show
how far any design could go on this machine: the floor (what the batch left behind, COPYed as the
superuser into fresh tables indexed afterwards: `floor`) and the time to read and judge the rows
without a database (`judge_only`). The CPU each uses (`CpuUse`: this process and PostgreSQL apart)
gives the least wall time any arrangement of the same work could take on this machine's cores.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.contracts import BatchReceived  # noqa: E402
from services.ingest import repository  # noqa: E402
from services.ingest.consumers import processor  # noqa: E402
from services.ingest.dates import today  # noqa: E402
from services.ingest.pipeline import propose_plan, verdict_chunks  # noqa: E402
from services.ingest.reader import DEFAULT_LIMITS, open_source  # noqa: E402
from services.kernel.bus import IncomingMessage  # noqa: E402
from services.kernel.messaging import inbox_handler  # noqa: E402
from services.kernel.migrate import drop_connections  # noqa: E402
from services.kernel.settings import Settings  # noqa: E402
from services.kernel.storage import tenant_key  # noqa: E402
from services.platform import Platform  # noqa: E402

GENERATOR = ROOT.parent / "shared" / "tools" / "gen_credits.py"
SERVER_URL = os.environ.get(
    "RISCOSSA_TEST_SERVER_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
COLUMNS = 17  # the halley layout


class _OnlyIngest(logging.StreamHandler):  # type: ignore[type-arg]
    """Shows the ingest consumer's phase timings (its log records carry `fields`), each with the
    seconds since the ingest started (`started`), to place the peak RSS among the phases."""

    started = time.perf_counter()

    cpu: CpuUse | None = None  # the ingest's, to show the core-seconds used so far by each side

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("services.ingest") and hasattr(record, "fields"):
            record.at = f"{time.perf_counter() - self.started:6.1f} s"
            if self.cpu is not None:
                this, postgres = self.cpu.so_far()
                record.at += f" (CPU so far: this process {this:5.1f} s, PostgreSQL {postgres:5.1f} s)"
            super().emit(record)


class PeakRss:
    """Samples this process's resident set size every 20 ms in a background thread."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self.started = time.perf_counter()
        self.peak_at = 0.0  # seconds after the start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            rss = self.process.memory_info().rss
            if rss > self.peak:
                self.peak, self.peak_at = rss, time.perf_counter() - self.started

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


class CpuUse:
    """Core-seconds (user + system) used by this process and by PostgreSQL between `__enter__` and
    `__exit__`: every live postgres process, and the postmaster's children that exited meanwhile
    (the parallel workers of CREATE INDEX). Two cores give at most two core-seconds per second, so
    `seconds / cores` is the least wall time any arrangement of the same work could take here."""

    def __init__(self) -> None:
        self.this = self.postgres = 0.0

    @staticmethod
    def _now() -> tuple[float, float]:
        mine = psutil.Process().cpu_times()
        postgres = 0.0
        for process in psutil.process_iter(["name"]):
            if process.info["name"] != "postgres":
                continue
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            postgres += times.user + times.system + times.children_user + times.children_system
        return mine.user + mine.system, postgres

    def __enter__(self) -> CpuUse:
        self._start = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        self.this, self.postgres = self.so_far()

    def so_far(self) -> tuple[float, float]:
        now = self._now()
        return now[0] - self._start[0], now[1] - self._start[1]

    @property
    def total(self) -> float:
        return self.this + self.postgres


def generate(rows: int, folder: Path) -> Path:
    out = folder / f"bench-{rows}.csv"
    command = [sys.executable, str(GENERATOR), "--style", "halley", "--rows", str(rows), "--no-verdicts"]
    subprocess.run([*command, "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
    return out


async def scratch_database() -> str:
    name = f"riscossa_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return sa.engine.make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    name = sa.engine.make_url(url).database or ""
    admin = create_async_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await drop_connections(conn, name)
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    await admin.dispose()


async def received_batch(
    platform: Platform, tenant_id: uuid.UUID, path: Path
) -> tuple[uuid.UUID, IncomingMessage]:
    """The file stored as a batch, as the upload does, and the `BatchReceived` message for it."""
    batch_id = uuid.uuid4()
    key = tenant_key(tenant_id, "ingest", str(batch_id), "raw")
    with path.open("rb") as handle:
        stored = await platform.storage.put(tenant_id, key, handle, "text/csv")
    envelope = BatchReceived(batch_id=str(batch_id)).envelope(tenant_id, "bench")
    async with platform.databases["ingest"].unit_of_work(tenant_id) as uow:
        await repository.insert_batch(uow, tenant_id, batch_id, path.name, stored, "bench")
        await uow.commit()
    return batch_id, IncomingMessage(envelope.routing_key, envelope.encode(), str(envelope.message_id))


def ingest_handler(platform: Platform) -> Callable[[IncomingMessage], Awaitable[None]]:
    """The ingest processor behind its inbox, as the worker runs it."""
    return inbox_handler(platform.databases["ingest"], processor(platform.storage))


async def ingest(platform: Platform, path: Path, profile: bool) -> tuple[float, PeakRss, CpuUse, object]:
    tenant_id = uuid.uuid4()
    batch_id, message = await received_batch(platform, tenant_id, path)
    handle_message = ingest_handler(platform)
    profiler = cProfile.Profile() if profile else None
    with PeakRss() as rss, CpuUse() as cpu:
        _OnlyIngest.cpu = cpu
        started = _OnlyIngest.started = time.perf_counter()
        if profiler:
            profiler.enable()
        await handle_message(message)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
    async with platform.databases["ingest"].unit_of_work(tenant_id) as uow:
        batch = await repository.get_batch(uow, tenant_id, batch_id)
    assert batch is not None and batch.status == "completed", batch.error if batch else "missing"
    print(
        f"batch: data_rows={batch.data_rows} accepted={batch.accepted} "
        f"total={batch.accepted_total_cents / 100:.2f} duplicates={batch.duplicates} "
        f"conflicts={batch.conflicts} rejected={dict(batch.rejected)} registered={batch.registered}"
    )
    return elapsed, rss, cpu, profiler


def copy_source(path: Path, folder: Path) -> Path:
    """The same data rows, without the header and the generator's blank lines, for COPY."""
    out = folder / "copy.csv"
    with path.open("rb") as src, out.open("wb") as dst:
        src.readline()
        for line in src:
            if line.strip():
                dst.write(line)
    return out


async def plain_copy(url: str, path: Path) -> float:
    engine = create_async_engine(url)
    columns = ", ".join(f"c{i} text" for i in range(COLUMNS))
    async with engine.connect() as conn:
        await conn.execute(sa.text(f"CREATE TABLE public.copy_bench ({columns})"))
        await conn.commit()
        raw = await conn.get_raw_connection()
        started = time.perf_counter()
        await raw.driver_connection.copy_to_table(  # type: ignore[union-attr]
            "copy_bench", source=str(path), format="csv", delimiter=";", encoding="WIN1252"
        )
        await conn.commit()
        elapsed = time.perf_counter() - started
        count = (await conn.execute(sa.text("SELECT count(*) FROM public.copy_bench"))).scalar_one()
    await engine.dispose()
    print(f"copy: {count} rows")
    return elapsed


# What the issue requires this file to leave behind, in its cheapest possible form: each table's
# rows of the batch COPYed as the superuser (no row-level security, no parsing, no checks, no ids
# or JSON to compute) into an unindexed copy of the table, whose indexes are built afterwards.
# Rows of the batch that need no row of their own (accepted without warnings) are left out.
FLOOR_TABLES = {
    "positions": "SELECT * FROM ingest.positions",
    "debtors": "SELECT * FROM ingest.debtors",
    "batch_rows": "SELECT * FROM ingest.batch_rows WHERE verdict <> 'accepted' OR cardinality(warnings) > 0",
    "contacts": "SELECT * FROM ingest.contacts",
    "outbox": "SELECT * FROM ingest.outbox",
}


async def floor(url: str, folder: Path) -> tuple[dict[str, float], CpuUse]:
    """Seconds to write each table of `FLOOR_TABLES` that way, in one transaction, and the CPU used."""
    engine = create_async_engine(url)
    timings: dict[str, float] = {}
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        for table, query in FLOOR_TABLES.items():
            await raw.copy_from_query(query, output=str(folder / table), format="binary")  # type: ignore[union-attr]
        with CpuUse() as cpu:
            await _floor_tables(conn, raw, folder, timings)
        await conn.execute(sa.text("DROP SCHEMA floor CASCADE"))
        await conn.commit()
    await engine.dispose()
    return timings, cpu


async def _floor_tables(conn: Any, raw: Any, folder: Path, timings: dict[str, float]) -> None:
    """The floor's tables created, filled by COPY and indexed, then committed (see `floor`)."""
    await conn.execute(sa.text("CREATE SCHEMA floor"))
    for table in FLOOR_TABLES:
        started = time.perf_counter()
        await conn.execute(sa.text(f"CREATE TABLE floor.{table} (LIKE ingest.{table} INCLUDING COMPRESSION)"))
        await raw.copy_to_table(table, schema_name="floor", source=str(folder / table), format="binary")  # type: ignore[union-attr]
        indexes = await conn.execute(
            sa.text("SELECT indexdef FROM pg_indexes WHERE schemaname = 'ingest' AND tablename = :t"),
            {"t": table},
        )
        for (definition,) in indexes.all():
            await conn.execute(sa.text(definition.replace(f" ON ingest.{table} ", f" ON floor.{table} ")))
        timings[table] = time.perf_counter() - started
    started = time.perf_counter()
    await conn.commit()
    timings["commit"] = time.perf_counter() - started


def judge_only(path: Path) -> tuple[float, CpuUse]:
    """Seconds to read, split and judge the file's rows into stage records, as the consumer does but
    without any database: the Python side of the ingest (one thread, polars' own threads beside it),
    and the CPU it used."""
    with CpuUse() as cpu:
        started = time.perf_counter()
        source = open_source(path, None, None, DEFAULT_LIMITS)
        plan = propose_plan(source, source.head())
        day = today()
        for _ in verdict_chunks(source, plan, day.year, day):
            pass
        elapsed = time.perf_counter() - started
    return elapsed, cpu


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true", help="print where the ingest time goes")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database to study its plans")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(at)s %(message)s %(fields)s", handlers=[_OnlyIngest()])
    with tempfile.TemporaryDirectory(prefix="riscossa-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        path = generate(args.rows, folder)
        print(f"generated {path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")
        url = await scratch_database()
        settings = replace(
            Settings(mode="test", data_dir=folder, storage_dir=folder / "storage", dev_login=False),
            database_url=url,
        )
        platform = await Platform.open(settings, run_migrations=True)
        try:
            baseline_rss = psutil.Process().memory_info().rss
            ingest_s, rss, cpu, profiler = await ingest(platform, path, args.profile)
            copy_s = await plain_copy(url, copy_source(path, folder))
            floor_s, floor_cpu = await floor(url, folder)
            judge_s, judge_cpu = await asyncio.to_thread(judge_only, path)
        finally:
            await platform.close()
            if args.keep_db:
                print(f"kept database: {url}")
            else:
                await drop_database(url)
    print(f"ingest: {ingest_s:.1f} s, {args.rows / ingest_s:,.0f} rows/s")
    print(
        f"peak RSS while ingesting: {rss.peak / 1e6:.0f} MB at {rss.peak_at:.1f} s "
        f"(before: {baseline_rss / 1e6:.0f} MB)"
    )
    print(f"plain COPY of the same rows: {copy_s:.1f} s")
    print(f"ratio ingest / COPY: {ingest_s / copy_s:.1f}")
    parts = ", ".join(f"{table} {seconds:.1f} s" for table, seconds in floor_s.items())
    total = sum(floor_s.values())
    print(f"floor, the batch's rows COPYed into fresh tables and indexed afterwards: {parts}")
    print(f"floor / COPY: {total:.1f} s / {copy_s:.1f} s = {total / copy_s:.1f}")
    print(
        f"reading and judging the rows without a database: {judge_s:.1f} s = {judge_s / copy_s:.1f} x COPY"
        f" (CPU {judge_cpu.this:.1f} core-s)"
    )
    print(f"ratio ingest / floor: {ingest_s:.1f} s / {total:.1f} s = {ingest_s / total:.2f} (target <= 2)")
    cores = os.cpu_count() or 1
    print(
        f"CPU while ingesting: {cpu.total:.1f} core-s (this process {cpu.this:.1f}, PostgreSQL "
        f"{cpu.postgres:.1f}); on {cores} cores no arrangement of it takes under {cpu.total / cores:.1f} s "
        f"= {cpu.total / cores / total:.2f} x the floor"
    )
    print(f"CPU of the floor: {floor_cpu.total:.1f} core-s (PostgreSQL {floor_cpu.postgres:.1f})")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    asyncio.run(main())
