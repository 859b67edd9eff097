"""Tracing-import benchmark: a tracing provider's file of 50,000 rows through the real endpoint.

Usage: .venv/bin/python bench/tracing.py [--rows N]

Creates a scratch database on the PostgreSQL server of the tests (like bench/ingest.py), ingests a
generated credit file big enough to have N debtors, then posts a tracing file with a phone number and
an address for N of them to `POST /api/v1/ingest/tracing/import` (the ingest service's own ASGI app,
with the identity the gateway would sign), and prints the time of that request. It imports again
the same file (every datum already known) and prints that time too. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import drop_database, generate, ingest_handler, received_batch, scratch_database  # noqa: E402

from services.ingest.models import debtors  # noqa: E402
from services.kernel.settings import Settings  # noqa: E402
from services.platform import Platform  # noqa: E402
from tests.support import identity_headers, make_identity  # noqa: E402


def tracing_file(codes: list[str]) -> bytes:
    lines = ["Codice fiscale;Telefono;Indirizzo;Fonte;Data reperimento;Affidabilità"]
    lines += [
        f"{code};333 {n:07d};VIA NUOVA {n} 20100 MILANO;InfoTrace;10/11/2026;85"
        for n, code in enumerate(codes)
    ]
    return ("\n".join(lines) + "\n").encode("cp1252")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="riscossa-bench-") as tmp:
        folder = Path(tmp)
        # About 87 % of a generated file's rows are accepted, and a debtor has 1.0-1.1 of them.
        path = generate(int(args.rows * 1.4), folder)
        url = await scratch_database()
        settings = replace(
            Settings(mode="test", data_dir=folder, storage_dir=folder / "storage", dev_login=False),
            database_url=url,
        )
        platform = await Platform.open(settings, run_migrations=True)
        try:
            who = make_identity(uuid.uuid4(), "comune-bench", roles=("operator",))
            _, message = await received_batch(platform, who.tenant_id, path)
            await ingest_handler(platform)(message)
            async with platform.databases["ingest"].unit_of_work(who.tenant_id) as uow:
                found = await uow.execute(
                    sa.select(debtors.c.fiscal_code).order_by(debtors.c.fiscal_code).limit(args.rows)
                )
                codes = list(found.scalars())
            data = tracing_file(codes)
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=platform.app("ingest")),
                base_url="http://service.test",
                headers=identity_headers(platform.signer, who),
                timeout=600,
            )
            async with client:
                for attempt in ("new data", "the same file again"):
                    started = time.perf_counter()
                    response = await client.post(
                        "/api/v1/ingest/tracing/import", files={"file": ("r.csv", data, "text/csv")}
                    )
                    elapsed = time.perf_counter() - started
                    assert response.status_code == 200, response.text[:500]
                    body = response.json()
                    print(
                        f"{attempt}: {body['rows']:,} rows, {body['added']:,} contacts added "
                        f"in {elapsed:.1f} s ({len(data) / 1e6:.1f} MB)"
                    )
        finally:
            await platform.close()
            await drop_database(url)


if __name__ == "__main__":
    asyncio.run(main())
