"""One process of `bench/operator.py`: the contact service, or the gateway forwarding to it over
HTTP, served by uvicorn on a loopback port, as in production (one process each).

    python -m bench.operator_serve contact|gateway DATABASE_URL PORT CONTACT_URL FROZEN_ISO

The contact service judges the conduct rules at FROZEN_ISO (a working morning), so that the bench
runs at any hour; everything else is the application as deployed.
"""

from __future__ import annotations

import cProfile
import os
import sys
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import uvicorn
import uvloop

from bench.operator_setup import bench_settings
from services.cli import _Server, build_gateway
from services.platform import BUSINESS_SERVICES, Platform


async def serve(kind: str, url: str, port: int, contact_url: str, frozen: str) -> None:
    # The gateway needs every service's address; only the contact service answers in this bench.
    urls = {name: contact_url if name == "contact" else "http://127.0.0.1:9" for name in BUSINESS_SERVICES}
    settings = replace(
        bench_settings(url, Path(tempfile.mkdtemp(prefix="riscossa-bench-"))), service_urls=urls
    )
    platform = await Platform.open(settings)
    platform.clocks["contact"] = datetime.fromisoformat(frozen)
    app = platform.app("contact") if kind == "contact" else build_gateway(platform, remote=True)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False
    )
    try:
        await _Server(config).serve()  # stops on SIGTERM without re-raising it
        if kind == "gateway":
            await app.close()
    finally:
        await platform.close()


def main() -> None:
    uvloop.run(serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]))


if __name__ == "__main__":
    # BENCH_PROFILE=<folder>: each process writes its cProfile statistics there when it stops.
    folder = os.environ.get("BENCH_PROFILE")
    if folder:
        cProfile.run("main()", str(Path(folder) / f"{sys.argv[1]}.prof"))
    else:
        main()
