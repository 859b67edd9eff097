"""Notice PDFs rendered off the event loop, on every core: a bulk job's thousands of notices would
otherwise hold the worker's loop (and, on the embedded defaults, the web pages) for a minute."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from services.payments import pdf_notice

# Fewer notices than this are rendered in a thread: starting the processes would cost more.
POOL_FROM = 40
_pool: ProcessPoolExecutor | None = None
WORKERS = max(1, min(4, os.cpu_count() or 1))


def render_all(notices: list[pdf_notice.Notice]) -> list[bytes]:
    return [pdf_notice.render(n) for n in notices]


def _processes() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"))
    return _pool


async def render_many(notices: list[pdf_notice.Notice]) -> list[bytes]:
    """The PDFs of `notices`, in order."""
    if len(notices) < POOL_FROM:
        return await asyncio.to_thread(render_all, notices)
    pool = _processes()
    share = -(-len(notices) // WORKERS)
    loop = asyncio.get_running_loop()
    parts = [notices[i : i + share] for i in range(0, len(notices), share)]
    rendered = await asyncio.gather(*(loop.run_in_executor(pool, render_all, part) for part in parts))
    return [pdf for part in rendered for pdf in part]
