"""One process of `bench/chaos.py`: exactly `riscossa <args>` (services/cli.py), except that the
contact service judges the conduct rules at `CHAOS_CONTACT_CLOCK` (a working Monday morning), so
that operators may record calls whatever the hour of the run.

    python -m bench.chaos_proc serve contact
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import Any

from services import cli
from services.kernel.settings import Settings
from services.platform import Platform

_open = Platform.open.__func__  # type: ignore[attr-defined]


async def _open_with_clock(cls: type[Platform], settings: Settings, run_migrations: bool = False) -> Any:
    platform = await _open(cls, settings, run_migrations)
    moment = os.environ.get("CHAOS_CONTACT_CLOCK")
    if moment:
        platform.clocks["contact"] = datetime.fromisoformat(moment)
    return platform


if __name__ == "__main__":
    Platform.open = classmethod(_open_with_clock)  # type: ignore[method-assign, assignment]
    cli.main(sys.argv[1:])
