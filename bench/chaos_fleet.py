"""The processes of `bench/chaos.py`: `riscossa migrate`, then the gateway and, for every business
service, `serve`, `worker` and `relay`, each a subprocess with its own port, health port and log."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.chaos_servers import free_port
from services.platform import BUSINESS_SERVICES

ROOT = Path(__file__).resolve().parent.parent
# A working Monday morning in Rome: the contact service's clock (bench/chaos_proc.py).
CONTACT_CLOCK = "2026-11-23T10:00:00+01:00"
# A traceback's line that names the exception raised ("asyncpg.exceptions.X: message").
RAISED = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Closed|Failure)\b")
SECRET = "chaos-bench-secret-not-for-production"  # noqa: S105 (a private scratch cluster)


def base_env(database_url: str, amqp_url: str, tag: str, folder: Path) -> dict[str, str]:
    """Settings of every process of one run (RISCOSSA_* variables, services/kernel/settings.py)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("RISCOSSA_")},
        "RISCOSSA_MODE": "test",
        "RISCOSSA_DEV_LOGIN": "0",
        "RISCOSSA_SECRET_KEY": SECRET,
        "RISCOSSA_DATABASE_URL": database_url,
        "RISCOSSA_AMQP_URL": amqp_url,
        "RISCOSSA_EXCHANGE": f"chaos-{tag}",
        "RISCOSSA_QUEUE_PREFIX": f"chaos-{tag}",
        "RISCOSSA_DATA_DIR": str(folder),
        "RISCOSSA_STORAGE_DIR": str(folder / "storage"),
        "RISCOSSA_DB_POOL_SIZE": "3",
        "RISCOSSA_LOG_LEVEL": "WARNING",
        "CHAOS_CONTACT_CLOCK": CONTACT_CLOCK,
        "PYTHONPATH": str(ROOT),
    }


@dataclass
class Proc:
    name: str  # e.g. "serve ingest", "worker contact"
    args: tuple[str, ...]
    env: dict[str, str]
    port: int  # HTTP port (serve) or health port (worker, relay)
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "bench.chaos_proc", *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=30)

    def terminate(self) -> int | None:
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.popen.returncode


@dataclass
class Fleet:
    env: dict[str, str]
    folder: Path
    procs: list[Proc] = field(default_factory=list)
    kills: list[str] = field(default_factory=list)
    # Processes that exited without being killed, restarted by `supervise` (name, exit code).
    exits: list[tuple[str, int]] = field(default_factory=list)
    # The last line each of those wrote before exiting.
    last_words: list[str] = field(default_factory=list)

    def migrate(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "bench.chaos_proc", "migrate"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"riscossa migrate failed: {done.stderr.decode()[-3000:]}")

    def _proc(self, kind: str, service: str, extra: dict[str, str] | None = None) -> Proc:
        port = free_port()
        env = {**self.env, **(extra or {})}
        env["RISCOSSA_PORT" if kind == "serve" else "RISCOSSA_HEALTH_PORT"] = str(port)
        log = self.folder / "logs" / f"{kind}-{service}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        return Proc(f"{kind} {service}", (kind, service), env, port, log)

    def build(self) -> None:
        urls: dict[str, str] = {}
        for service in BUSINESS_SERVICES:
            serve = self._proc("serve", service)
            urls[f"RISCOSSA_{service.upper()}_URL"] = f"http://127.0.0.1:{serve.port}"
            self.procs += [serve, self._proc("worker", service), self._proc("relay", service)]
        self.procs.append(self._proc("serve", "gateway", urls))

    @property
    def gateway(self) -> Proc:
        return next(p for p in self.procs if p.name == "serve gateway")

    async def start(self) -> None:
        for proc in self.procs:
            proc.start()
        await asyncio.gather(*(self.healthy(p) for p in self.procs))

    async def healthy(self, proc: Proc, within: float = 120) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if not proc.alive:
                    raise RuntimeError(f"{proc.name} exited: see {proc.log}")
                try:
                    if (await client.get(f"http://127.0.0.1:{proc.port}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{proc.name} not healthy within {within}s: see {proc.log}")

    def kill_one(self, rng: random.Random) -> str:
        """SIGKILL a random process and start it again at once."""
        proc = rng.choice(self.procs)
        proc.kill()
        proc.start()
        self.kills.append(proc.name)
        return proc.name

    async def supervise(self, stop: asyncio.Event) -> None:
        """What an orchestrator does: a process that exited on its own is started again."""
        while not stop.is_set():
            for proc in self.procs:
                if proc.popen is not None and proc.popen.poll() is not None:
                    self.exits.append((proc.name, proc.popen.returncode))
                    lines = proc.log.read_text(errors="replace").strip().splitlines()
                    self.last_words.append(f"{proc.name}: {lines[-1][:400] if lines else ''}")
                    proc.start()
            await asyncio.sleep(0.5)

    def troubles(self, last: int = 2) -> list[str]:
        """The last `last` errors each process logged itself (its message, the exception's last line);
        the libraries' own (aio-pika's reconnection attempts, ...) are left out."""
        found = []
        for proc in self.procs:
            errors = []
            for line in proc.log.read_text(errors="replace").splitlines() if proc.log.exists() else []:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                ours = isinstance(record, dict) and str(record.get("logger", "")).startswith(
                    ("services", "gateway")
                )
                if ours and record.get("level") in ("ERROR", "CRITICAL"):
                    lines = (record.get("exception") or "").strip().splitlines()
                    said = [x for x in lines if RAISED.match(x)][-1:] or [""]
                    errors.append(f"{record.get('time', '')[11:19]} {record.get('message')} {said[0][:200]}")
            found += [f"{proc.name} (started {proc.starts}×): {e}" for e in errors[-last:]]
        return found

    def stop(self) -> dict[str, int | None]:
        """SIGTERM every process (gateway first), SIGKILL any that does not stop; their exit codes."""
        return {p.name: p.terminate() for p in reversed(self.procs)}
