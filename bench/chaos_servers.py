"""The private servers of `bench/chaos.py`: a PostgreSQL cluster and a RabbitMQ node that the harness
starts itself, on free loopback ports and in its own folders, and may crash and restart mid-run.
The machine's own servers (5432, 5672) are never touched."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

PG_BIN = Path(os.environ.get("CHAOS_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _own(folder: Path, account: str) -> None:
    """Run as root, the servers drop to their own accounts, which must own their folders."""
    if os.geteuid() != 0:
        return
    user = pwd.getpwnam(account)
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid)


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: run its commands as the `postgres` account then."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


class PrivatePostgres:
    """`initdb` into `folder`, trust authentication on 127.0.0.1 only, a free port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.log = folder / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*_as_postgres(), str(PG_BIN / args[0]), *args[1:]],
            check=check,
            capture_output=True,
            timeout=120,
        )

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        _own(self.folder, "postgres")
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        settings = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.folder}'",
            "max_connections = 400",
            "shared_buffers = 128MB",
        ]
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(settings) + "\n")
        self.start()

    def start(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def crash(self) -> None:
        """An immediate stop: no checkpoint, every backend killed (recovery from WAL at the next start)."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop", check=False)


class PrivateRabbit:
    """A RabbitMQ node of its own (`chaos-<random>@localhost`), loopback only, no plugins."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.node = f"chaos-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.folder / "rabbit.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "enabled_plugins").write_text("[].\n")
        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        for sub in ("mnesia", "log"):
            (self.folder / sub).mkdir(exist_ok=True)
        _own(self.folder, "rabbitmq")
        self.start()

    def start(self) -> None:
        with (self.folder / "server.out").open("ab") as out:
            self.proc = subprocess.Popen(
                ["rabbitmq-server"],
                env=self._env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # `await_startup` fails at once while the Erlang node itself is not up yet: ask again.
        deadline = time.monotonic() + 120
        while True:
            try:
                self.ctl("await_startup", "--timeout", "60")
                return
            except subprocess.CalledProcessError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"RabbitMQ node {self.node} did not start (see {self.folder})"
                    ) from None
                time.sleep(0.5)

    def ctl(self, *args: str, timeout: float = 150) -> str:
        done = subprocess.run(
            ["rabbitmqctl", "-n", self.node, *args],
            env=self._env(),
            capture_output=True,
            timeout=timeout,
            check=True,
        )
        return done.stdout.decode()

    def queues(self) -> dict[str, tuple[int, int]]:
        """Every queue of the node: name -> (ready, unacknowledged)."""
        out = self.ctl(
            "list_queues", "-q", "--no-table-headers", "name", "messages_ready", "messages_unacknowledged"
        )
        found = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit():
                found[parts[0]] = (int(parts[1]), int(parts[2]))
        return found

    def restart(self) -> None:
        """Stop the node (every connection drops), then start it again on the same data."""
        self.ctl("stop")
        if self.proc is not None:
            self.proc.wait(timeout=60)
        self.start()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.ctl("stop", timeout=60)
            self.proc.wait(timeout=30)
        except (subprocess.SubprocessError, OSError):
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=30)


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")
