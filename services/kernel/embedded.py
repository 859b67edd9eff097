"""Embedded PostgreSQL for `riscossa dev`: the pgserver wheel runs a private PostgreSQL 16."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DATABASE = "riscossa"


def start_embedded_postgres(data_dir: Path) -> tuple[Any, str]:
    """Start (or reuse) the server in `data_dir/pg`; returns the handle and an admin URL."""
    import pgserver

    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(pgdata), cleanup_mode="stop")  # type: ignore[attr-defined]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE};")
    socket_dir = server.get_uri().split("host=", 1)[1]
    return server, f"postgresql+asyncpg://postgres@/{DATABASE}?host={socket_dir}"
