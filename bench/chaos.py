"""Crash-and-restart proof (issue #14 item 6).

Every service's `serve`, `worker` and `relay` and the gateway run as separate processes against a
private PostgreSQL cluster and a private RabbitMQ node that this harness starts on free loopback
ports in a temporary folder (never the machine's own servers). The same workload (bench/chaos_drive.py)
runs twice on fresh databases: a clean run, then a run during which a random process is SIGKILLed
and started again at K random moments, the broker is stopped and started once and the database
crashes (`pg_ctl stop -m immediate`) and starts once. Then every count and euro total of every
service is compared between the two runs, outbox rows left unsent and dead letters are counted,
and `lost 0, doubled 0` is printed, or what differs.

    .venv/bin/python -m bench.chaos --positions 3000 --kills 5     # make test runs this size
    .venv/bin/python -m bench.chaos --positions 100000 --kills 20 --files 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench.chaos_drive import Driver, Workload, new_tenant
from bench.chaos_figures import ORDER_DEPENDENT, Figures, compare, figures, unsent
from bench.chaos_fleet import Fleet, base_env
from bench.chaos_servers import PrivatePostgres, PrivateRabbit, remove

APP_PASSWORD = "riscossa-app"  # noqa: S105 (the embedded default; a private scratch cluster)
QUIET_TIMEOUT = 600


@dataclass
class Servers:
    pg: PrivatePostgres
    rabbit: PrivateRabbit


@dataclass
class Outcome:
    figures: Figures
    unsent: dict[str, int]
    dead: dict[str, int]
    seconds: float
    drive_seconds: float
    fleet: Fleet
    events: list[str] = field(default_factory=list)
    retried: dict[str, int] = field(default_factory=dict)


async def create_database(pg: PrivatePostgres, name: str) -> str:
    conn = await asyncpg.connect(pg.url().replace("+asyncpg", ""))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return pg.url(name)


async def drive(driver: Driver, paths: list[Path]) -> None:
    await driver.settings()
    await driver.ingest(paths)
    await driver.wait_positions()
    await driver.outcomes()
    options = await driver.notices(await driver.noticed_positions())
    await driver.receipts(options)


async def chaos(
    fleet: Fleet, servers: Servers, kills: int, span: float, rng: random.Random, log: list[str]
) -> None:
    """K kills, one broker restart and one database crash at random moments within `span` seconds."""
    events = ["kill"] * kills + ["broker", "database"]
    moments = sorted(rng.uniform(0.05, 0.9) * span for _ in events)
    rng.shuffle(events)
    start = time.monotonic()
    for moment, event in zip(moments, events, strict=True):
        await asyncio.sleep(max(0.0, start + moment - time.monotonic()))
        at = f"{time.monotonic() - start:6.1f}s"
        if event == "kill":
            log.append(f"{at} SIGKILL {fleet.kill_one(rng)}, started again")
        elif event == "broker":
            began = time.monotonic()
            await asyncio.to_thread(servers.rabbit.restart)
            log.append(f"{at} broker stopped and started again ({time.monotonic() - began:.1f}s)")
        else:
            began = time.monotonic()
            await asyncio.to_thread(servers.pg.crash)
            await asyncio.to_thread(servers.pg.start)
            log.append(
                f"{at} database crashed (immediate stop) and started ({time.monotonic() - began:.1f}s)"
            )


async def quiet(dsn: str, rabbit: PrivateRabbit, prefix: str) -> tuple[dict[str, int], dict[str, int]]:
    """Until every outbox is sent and every queue of the run is empty twice in a row: unsent, dead."""
    deadline, calm = time.monotonic() + QUIET_TIMEOUT, 0
    while True:
        waiting = await unsent(dsn)
        queues = await asyncio.to_thread(rabbit.queues)
        mine = {n: q for n, q in queues.items() if n.startswith(prefix)}
        # Events no service consumes (e.g. notices issued) wait in the unrouted queue, by design.
        busy = sum(r + u for n, (r, u) in mine.items() if not n.endswith((".dlq", ".unrouted")))
        calm = calm + 1 if busy == 0 and not any(waiting.values()) else 0
        dead = {n: r + u for n, (r, u) in mine.items() if n.endswith(".dlq") and r + u}
        if calm >= 3 or time.monotonic() > deadline:
            return waiting, dead
        await asyncio.sleep(1.0)


async def one_run(
    servers: Servers,
    folder: Path,
    workload: Workload,
    paths: list[Path],
    kills: int | None,
    span: float,
    rng: random.Random,
) -> Outcome:
    """The workload on a fresh database with its own exchange and queues; chaos when `kills` is set."""
    tag = uuid.uuid4().hex[:6]
    url = await create_database(servers.pg, f"chaos_{tag}")
    dsn = url.replace("+asyncpg", "")
    env = base_env(url, servers.rabbit.url, tag, folder / tag)
    fleet = Fleet(env, folder / tag)
    await asyncio.to_thread(fleet.migrate)
    fleet.build()
    stop, log = asyncio.Event(), []
    try:
        await fleet.start()
        tenant = await new_tenant(url, APP_PASSWORD, workload.operators)
        supervisor = asyncio.create_task(fleet.supervise(stop))  # noqa: F841, RUF006 (stopped by `stop`)

        async def ready() -> None:
            await asyncio.gather(*(fleet.healthy(p) for p in fleet.procs if p.args[0] == "serve"))

        driver = Driver(f"http://127.0.0.1:{fleet.gateway.port}", dsn, tenant, workload, ready)
        began = time.monotonic()
        breaker = (
            asyncio.create_task(chaos(fleet, servers, kills, span, rng, log)) if kills is not None else None
        )
        await drive(driver, paths)
        drove = time.monotonic() - began
        if breaker is not None:
            await breaker  # the moments not yet reached still happen, before the system settles
        waiting, dead = await quiet(dsn, servers.rabbit, f"chaos-{tag}")
        took = time.monotonic() - began
        found = await figures(dsn)
        return Outcome(found, waiting, dead, took, drove, fleet, log, driver.retried)
    finally:
        stop.set()
        fleet.stop()


def report(clean: Outcome, broken: Outcome) -> int:
    differ, lost, doubled = compare(clean.figures, broken.figures)
    print(f"clean run: {clean.drive_seconds:.1f}s driving, {clean.seconds:.1f}s until quiet")
    print(f"chaos run: {broken.drive_seconds:.1f}s driving, {broken.seconds:.1f}s until quiet")
    for line in broken.events:
        print(f"  {line}")
    exits = ", ".join(f"{n} ({c})" for n, c in broken.fleet.exits) or "none"
    print(f"  processes that exited by themselves and were started again: {exits}")
    for words in broken.fleet.last_words:
        print(f"    {words}")
    print(f"  requests the driver had to check and repeat: {broken.retried or 'none'}")
    width = max(len(n) for n in clean.figures)
    print(f"\n{'figure':{width}}  {'clean':>14}  {'chaos':>14}")
    for name in sorted(clean.figures):
        mark = "" if clean.figures[name] == broken.figures.get(name) else "  <-- differs"
        mark = "  (not compared: see below)" if name in ORDER_DEPENDENT else mark
        print(f"{name:{width}}  {clean.figures[name]:>14,}  {broken.figures.get(name, 0):>14,}{mark}")
    for name in sorted(set(broken.figures) - set(clean.figures)):
        print(f"{name:{width}}  {'-':>14}  {broken.figures[name]:>14,}  <-- differs")
    print(
        f"\noutbox rows unsent: clean {sum(clean.unsent.values())}, chaos {sum(broken.unsent.values())} {broken.unsent}"
    )
    print(f"dead letters: clean {sum(clean.dead.values())}, chaos {sum(broken.dead.values())} {broken.dead}")
    for name, why in ORDER_DEPENDENT.items():
        print(
            f"not compared: {name} (clean {clean.figures.get(name)}, chaos {broken.figures.get(name)}): {why}"
        )
    for name, a, b in differ:
        print(f"DIFFERS {name}: clean {a}, chaos {b}")
    print(f"lost {lost}, doubled {doubled}")
    bad = differ or any(broken.unsent.values()) or broken.dead or any(clean.unsent.values()) or clean.dead
    if bad:  # what the processes said, for a failure seen only in someone else's CI output
        for run, outcome in (("clean", clean), ("chaos", broken)):
            print(f"last errors each process logged in the {run} run:")
            for line in outcome.fleet.troubles() or ["none"]:
                print(f"  {line}")
    return 1 if bad else 0


async def main_async(args: argparse.Namespace) -> int:
    root = Path(tempfile.mkdtemp(prefix="riscossa-chaos-"))
    os.chmod(root, 0o755)  # noqa: S103 (the servers' own accounts must reach their folders)
    servers = Servers(PrivatePostgres(root / "pg"), PrivateRabbit(root / "rabbit"))
    workload = Workload(args.positions, args.files, args.seed, args.outcomes or max(20, args.positions // 20))
    rng = random.Random(args.seed)
    try:
        servers.pg.init()
        await asyncio.to_thread(servers.rabbit.init)
        paths = workload.write(root / "files")
        print(
            f"private PostgreSQL on 127.0.0.1:{servers.pg.port}, RabbitMQ {servers.rabbit.node} on {servers.rabbit.port}"
        )
        clean = await one_run(servers, root, workload, paths, None, 0, rng)
        broken = await one_run(servers, root, workload, paths, args.kills, clean.drive_seconds, rng)
        return report(clean, broken)
    finally:
        servers.rabbit.stop()
        servers.pg.stop()
        if args.keep:
            print(f"kept {root}")
        else:
            remove(root)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--positions", type=int, default=3000, help="credit rows in all files")
    parser.add_argument("--files", type=int, default=3, help="credit files the rows are split into")
    parser.add_argument("--kills", type=int, default=5, help="processes SIGKILLed during the chaos run")
    parser.add_argument("--outcomes", type=int, default=0, help="calls recorded (default: positions/20)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, data)")
    args = parser.parse_args(argv)
    # SIGTERM (a test's timeout) unwinds like Ctrl+C, so every process and folder is cleaned up.
    signal.signal(signal.SIGTERM, _interrupt)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
