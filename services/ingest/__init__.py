"""Ingest service: credit files in, debtors, positions, contacts and row verdicts out."""

import os

# Polars allocates through its own jemalloc, which by default keeps freed pages for 10 seconds:
# judging a million rows then held ≈ 50 MB more at its peak. Returning them after 200 ms costs no
# measurable time (bench/ingest.py). jemalloc reads this when polars is first imported, which only
# this package does; an operator's own setting wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:200,muzzy_decay_ms:0")
