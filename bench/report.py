"""Relazione di scarico benchmark: 100,000 positions (with payments, outcomes, plans) written by the
reporting worker as PDF, XLSX and CSV.

Usage: .venv/bin/python bench/report.py [--positions N] [--keep-db]

Creates a scratch database on the tests' PostgreSQL server (RISCOSSA_TEST_SERVER_URL, default
postgres@127.0.0.1:5432), migrates it and fills the reporting tables of a scratch Comune in bulk
(COPY into a staging table, then one INSERT: `UnitOfWork.insert_many`): positions of four revenue
types and six years, a payment by flow on a third of them (one in ten partial, one in fifty
revoked), a refund on one in a hundred, a row per debtor (attempts, last outcome, tracing grade),
a plan on one in eight (a third of them lapsed) and a sgravio on one in forty. It records the
request as the page does (a queued row and the `ReportRequested` in the outbox), then runs the
worker's consumer on that message (inbox, transaction, server-side cursor, the three writers, the
files stored with their SHA-256; the XLSX written by a thread of its own) in a process of its own,
so the memory printed is the generation's alone: that process's peak RSS sampled every 20 ms and
its maximum RSS as the kernel recorded it. The database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import resource
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import drop_database, scratch_database  # noqa: E402
from services.contracts_reporting import ReportRequested  # noqa: E402
from services.kernel.bus import IncomingMessage  # noqa: E402
from services.kernel.db import UnitOfWork  # noqa: E402
from services.kernel.identity import Identity  # noqa: E402
from services.kernel.messaging import inbox_handler  # noqa: E402
from services.kernel.settings import Settings  # noqa: E402
from services.platform import Platform  # noqa: E402
from services.reporting import handlers_relazione  # noqa: E402
from services.reporting import repository_relazione as store  # noqa: E402
from services.reporting.consumers_relazione import relazioni  # noqa: E402
from services.reporting.domain_relazione_frame import Request  # noqa: E402
from services.reporting.models import batches, payments, positions  # noqa: E402
from services.reporting.models_ledger import debtors, plans, refunds  # noqa: E402

TARGET_SECONDS, TARGET_MB = 15.0, 300
TYPES = ("IMU", "TARI", "CDS", "CUP")
OUTCOMES = (
    "",
    "non_risponde",
    "rifiuto",
    "irreperibile",
    "contestazione",
    "difficolta",
    "promessa_pagamento",
)
GRADES = ("phone", "address", "none", "")
ASSIGNED = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
CHUNK = 20_000


def _rows(tenant_id: uuid.UUID, start: int, stop: int) -> dict[str, list[dict[str, Any]]]:
    """The reporting rows of positions [start, stop): one debtor each."""
    out: dict[str, list[dict[str, Any]]] = {
        "positions": [],
        "payments": [],
        "refunds": [],
        "debtors": [],
        "plans": [],
    }
    batch_id = str(uuid.UUID(int=1 + start // 50_000))
    for n in range(start, stop):
        pid, did, amount = uuid.uuid4(), uuid.uuid4(), 5_000 + n * 7_919 % 495_000
        plan_id = uuid.uuid4() if n % 8 == 0 else None
        collected = 0
        if n % 3 == 0:
            paid = amount // 2 if n % 10 == 0 else amount
            revoked = n % 50 == 0
            payment_id = uuid.uuid4()
            out["payments"].append(
                {
                    "tenant_id": tenant_id,
                    "payment_id": payment_id,
                    "position_id": pid,
                    "debtor_id": did,
                    "amount_cents": paid,
                    "paid_on": date(2026, 3, 1) + timedelta(days=n % 200),
                    "source": "flow",
                    "iuv": f"{n:017d}",
                    "receipt_ref": f"R{n}",
                    "flow_id": f"2026-{3 + n % 7:02d}-01BPPIITRR-{n % 40:04d}",
                    "revoked_on": date(2026, 10, 1) if revoked else None,
                }
            )
            collected = 0 if revoked else paid
            if n % 99 == 0 and not revoked:
                back = min(1_000, paid)
                collected -= back
                out["refunds"].append(
                    {
                        "refund_id": uuid.uuid4(),
                        "tenant_id": tenant_id,
                        "payment_id": payment_id,
                        "position_id": pid,
                        "amount_cents": back,
                        "refunded_on": date(2026, 10, 15),
                        "reason": "versato due volte",
                    }
                )
        cancelled = n % 40 == 7
        out["positions"].append(
            {
                "tenant_id": tenant_id,
                "position_id": pid,
                "debtor_id": did,
                "fiscal_code": f"BNCMRA{n % 100:02d}A01H{n % 1000:03d}Z",
                "debtor_name": f"CONTRIBUENTE {n}",
                "revenue_type": TYPES[n % 4],
                "year": 2019 + n % 6,
                "act_number": f"{TYPES[n % 4]}-{2019 + n % 6}-{n:06d}",
                "amount_cents": amount,
                "collected_cents": collected,
                "batch_id": batch_id,
                "registered_at": ASSIGNED,
                "state": "cancelled" if cancelled else "open",
                "decided_at": ASSIGNED + timedelta(days=30) if cancelled else None,
                "plan_id": plan_id,
            }
        )
        outcome = OUTCOMES[n % len(OUTCOMES)]
        out["debtors"].append(
            {
                "tenant_id": tenant_id,
                "debtor_id": did,
                "attempts": n % 5 if outcome else 0,
                "conversations": n % 2,
                "last_outcome": outcome,
                "last_outcome_at": ASSIGNED + timedelta(days=n % 90) if outcome else None,
                "grade": GRADES[n % 4],
                "traced": n % 9 == 0,
            }
        )
        if plan_id is not None:
            out["plans"].append(
                {
                    "plan_id": plan_id,
                    "tenant_id": tenant_id,
                    "debtor_id": did,
                    "position_ids": [pid],
                    "revenue_type": TYPES[n % 4],
                    "amount_cents": amount,
                    "installments": 6 + n % 12,
                    "first_due_date": date(2026, 4, 1),
                    "created_by": "bench",
                    "lapsed_on": date(2026, 9, 1) if n % 3 == 0 else None,
                    "residual_cents": amount if n % 3 == 0 else None,
                }
            )
    return out


TABLES = {
    "positions": positions,
    "payments": payments,
    "refunds": refunds,
    "debtors": debtors,
    "plans": plans,
}


async def seed(platform: Platform, tenant_id: uuid.UUID, count: int) -> None:
    db = platform.databases["reporting"]
    for start in range(0, count, CHUNK):
        rows = _rows(tenant_id, start, min(start + CHUNK, count))

        async def write(uow: UnitOfWork, rows: dict[str, list[dict[str, Any]]] = rows) -> None:
            for name, table in TABLES.items():
                await uow.insert_many(table, rows[name])

        await db.run(tenant_id, write)

    async def batch_rows(uow: UnitOfWork) -> None:
        for b in range(1 + (count - 1) // 50_000):
            values = {
                "batch_id": uuid.UUID(int=1 + b),
                "filename": f"carico-{b + 1}.csv",
                "data_rows": 50_000,
            }
            values |= {"accepted": 50_000, "accepted_total_cents": 0, "rejected": {}, "accepted_at": ASSIGNED}
            await uow.execute(batches.insert().values(tenant_id=tenant_id, **values))

    await db.run(tenant_id, batch_rows)
    # What autovacuum does after a bulk load: the planner's statistics.
    await db.run(
        None,
        lambda uow: uow.execute(
            sa.text(
                "ANALYZE reporting.positions, reporting.payments, "
                "reporting.refunds, reporting.debtors, reporting.plans"
            )
        ),
    )


class PeakRss:
    """Samples this process's RSS every 20 ms."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        self.peak = max(self.peak, self.process.memory_info().rss)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.sample()

    def __enter__(self) -> PeakRss:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _settings(url: str, folder: Path) -> Settings:
    base = Settings(mode="test", data_dir=folder, storage_dir=folder / "storage", dev_login=False)
    return replace(base, database_url=url)


async def generate(url: str, folder: str, tenant: str, report: str, profile: bool) -> None:
    """The child: the worker's consumer on the request's message; prints its figures as JSON."""
    platform = await Platform.open(_settings(url, Path(folder)))
    try:
        tenant_id, report_id = uuid.UUID(tenant), uuid.UUID(report)
        envelope = ReportRequested(report_id=report).envelope(tenant_id, "bench")
        handler = inbox_handler(platform.databases["reporting"], relazioni(platform.storage))
        message = IncomingMessage(envelope.routing_key, envelope.encode(), str(envelope.message_id))
        cpu, before = resource.getrusage(resource.RUSAGE_SELF), psutil.Process().memory_info().rss
        with PeakRss() as memory:
            started = time.perf_counter()
            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
            await handler(message)
            seconds = time.perf_counter() - started
        if profile:
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
        used = resource.getrusage(resource.RUSAGE_SELF)
        found = await platform.databases["reporting"].run(
            tenant_id, lambda uow: store.get_report(uow, tenant_id, report_id)
        )
    finally:
        await platform.close()
    assert found is not None
    cpu_seconds = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime
    files = {f.format: f.size for f in found.files}
    figures = {"seconds": seconds, "cpu": cpu_seconds, "before": before}
    figures |= {"rss": memory.peak, "maxrss": used.ru_maxrss * 1024}
    print(json.dumps({**figures, "status": found.status, "rows": found.done_rows, "files": files}))


async def request(platform: Platform, tenant_id: uuid.UUID) -> uuid.UUID:
    who = Identity("bench", "Banco di prova", tenant_id, "bench", "Comune di Bench", ("comune_admin",))
    wanted = Request("final", date(2026, 1, 1), date(2026, 12, 31))
    return await platform.databases["reporting"].run(
        tenant_id, lambda uow: handlers_relazione.request_report(uow, who, wanted)
    )


async def _run(command: list[str]) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"the generating process failed ({process.returncode})")
    figures: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--profile", action="store_true", help="print where the generation's time goes")
    parser.add_argument(
        "--child", nargs=4, metavar=("URL", "FOLDER", "TENANT", "REPORT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        await generate(*args.child, args.profile)
        return
    with tempfile.TemporaryDirectory(prefix="riscossa-bench-") as folder:
        url = await scratch_database()
        platform = await Platform.open(_settings(url, Path(folder)), run_migrations=True)
        try:
            tenant_id = uuid.uuid4()
            started = time.perf_counter()
            await seed(platform, tenant_id, args.positions)
            print(f"seeded {args.positions:,} positions in {time.perf_counter() - started:.1f} s")
            report_id = await request(platform, tenant_id)
            child = [sys.executable, __file__, "--child", url, folder, str(tenant_id), str(report_id)]
            child += ["--profile"] if args.profile else []
            if args.keep_db:
                print("generate again with:", " ".join(child))
            figures = await _run(child)
        finally:
            await platform.close()
            if args.keep_db:
                print(f"kept database: {url}")
            else:
                await drop_database(url)
    seconds = figures["seconds"]
    mb = {key: figures[key] / 1e6 for key in ("rss", "maxrss", "before")}
    sizes = ", ".join(f"{fmt.upper()} {size / 1e6:.1f} MB" for fmt, size in sorted(figures["files"].items()))
    print(f"relazione: {figures['status']}, {figures['rows']:,} positions; {sizes}")
    print(
        f"generation by the worker: {seconds:.1f} s (target < {TARGET_SECONDS:.0f} s); CPU "
        f"{figures['cpu']:.1f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"peak RSS of the worker's process: {mb['rss']:.0f} MB sampled, {mb['maxrss']:.0f} MB "
        f"recorded by the kernel (target < {TARGET_MB} MB; {mb['before']:.0f} MB before the message)"
    )


if __name__ == "__main__":
    asyncio.run(main())
