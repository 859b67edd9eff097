"""The demo credits `make run` uploads: every row accepted, most acts with the day they were
notified (the limitation runs from it), so the act's day shows on the card, the portal and the
relazione of the demo Comuni."""

from __future__ import annotations

from pathlib import Path

from gateway.seed import demo_csv
from services.ingest.reader import parse_file


def test_the_demo_credits_are_accepted_and_most_carry_their_acts_day(tmp_path: Path) -> None:
    for seed in (1, 2):
        path = tmp_path / f"demo-{seed}.csv"
        path.write_bytes(demo_csv(seed))
        read = parse_file(path, 2026)
        assert read.data_rows == 40 and len(read.accepted_credits) == 40 and not read.rejected
        dated = [c for c in read.accepted_credits if c.act_on is not None]
        assert 20 <= len(dated) < 40
        assert all(c.year < c.act_on.year <= 2025 for c in dated)
