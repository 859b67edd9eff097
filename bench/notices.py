"""Payments benchmark: pagoPA notices, then the reconciliation of a large FdR.

Usage: .venv/bin/python bench/notices.py [--notices N] [--processes P] [--postal] [--profile] [--only PART]

Part "notices": generates N notices (default 10,000) the way a bulk mailing does, one after the
other in this process: the notice number (NAV, aux digit 3, `domain_notices.notice_number`), the QR
payload (`qr_payload`) and the one-page PDF (`pdf_notice.render`: reportlab, vector QR by segno),
and prints notices per second and the peak RSS of this process (sampled with psutil every 20 ms)
beside the targets. `--postal` gives the Comune a postal account, so each notice also carries the
Poste DataMatrix. `--processes 2` splits the notices between two worker processes (a bulk run can
use every core); the peak RSS is then the sum of the processes. No database: numbering from the
database is one UPDATE per batch of notices.

Part "reconciliation" (bench/fdr.py): an FdR of `--payments` lines (default 100,000) reconciled in one
transaction against as many notices on a scratch database; prints the time and the peak RSS beside
the targets (< 10 s, < 300 MB). Each part is a function `part_<name>(args) -> list[Figure]` listed in
PARTS. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import multiprocessing
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.payments import pdf_notice  # noqa: E402
from services.payments.domain_notices import notice_number, qr_payload  # noqa: E402

NOTICES_PER_SECOND = 200
RSS_LIMIT_MB = 300
CREDITOR = ("Comune di Demo A", "80012340016", "01", "DEMOA")


@dataclass(frozen=True)
class Figure:
    """One measured figure beside its target (`met` None: no target)."""

    name: str
    value: str
    target: str = ""
    met: bool | None = None


class PeakRss:
    """Samples this process's resident set size every 20 ms in a background thread."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        """This process and its worker processes, if any."""
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):  # a worker that just ended
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def notice(number: int, postal_account: str | None) -> tuple[pdf_notice.Notice, str]:
    """The `number`-th notice of the demo Comune and its QR payload."""
    name, fiscal_code, segregation, cbill = CREDITOR
    nav = notice_number(segregation, number)
    amount = 1_000 + number * 37 % 500_000
    payload = qr_payload(nav, fiscal_code, amount)
    drawn = pdf_notice.Notice(
        creditor_name=name,
        creditor_fiscal_code=fiscal_code,
        cbill=cbill,
        nav=nav,
        amount_cents=amount,
        due_date=date(2026, 12, 31),
        payee_name=f"CONTRIBUENTE NUMERO {number}",
        payee_fiscal_code="RSSMRA80A01H501U",
        reason=f"TARI 2025, atto T-{number:06d}",
        postal_account=postal_account,
    )
    return drawn, payload


def generate(numbers: range, postal_account: str | None) -> int:
    """The notices of `numbers` rendered; their total PDF bytes (kept, so nothing is skipped)."""
    pdf_bytes = 0
    for number in numbers:
        drawn, payload = notice(number, postal_account)
        pdf = pdf_notice.render(drawn)
        if not pdf.startswith(b"%PDF-") or not payload.startswith("PAGOPA|002|"):
            raise AssertionError(f"notice {number} is not a PDF")
        pdf_bytes += len(pdf)
    return pdf_bytes


def _generate_part(job: tuple[range, str | None]) -> int:
    return generate(*job)


def generate_in(processes: int, count: int, postal_account: str | None) -> int:
    """`count` notices, split between `processes` worker processes (1: this process)."""
    if processes == 1:
        return generate(range(1, count + 1), postal_account)
    share = -(-count // processes)
    jobs = [
        (range(start, min(start + share, count + 1)), postal_account) for start in range(1, count + 1, share)
    ]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return sum(pool.map(_generate_part, jobs))


def part_notices(args: argparse.Namespace) -> list[Figure]:
    postal_account = "1234567" if args.postal else None
    generate(range(1, 21), postal_account)  # imports, fonts and caches warmed outside the measure
    profiler = cProfile.Profile() if args.profile else None
    with PeakRss() as rss:
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        pdf_bytes = generate_in(args.processes, args.notices, postal_account)
        if profiler:
            profiler.disable()
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    rate = args.notices / seconds
    peak_mb = rss.peak / 1e6
    kind = "NAV, QR, PDF" + (" and Poste DataMatrix" if args.postal else "")
    kind += f", {args.processes} process{'es' if args.processes > 1 else ''}"
    return [
        Figure("notices", f"{args.notices:,} ({kind}) in {seconds:.1f} s"),
        Figure("notices per second", f"{rate:,.0f}", f">= {NOTICES_PER_SECOND}", rate >= NOTICES_PER_SECOND),
        Figure("average PDF", f"{pdf_bytes / args.notices / 1024:.1f} KiB"),
        *cpu_figure(args, cpu_seconds),
        Figure("peak RSS", f"{peak_mb:.0f} MB", f"< {RSS_LIMIT_MB} MB", peak_mb < RSS_LIMIT_MB),
    ]


def cpu_figure(args: argparse.Namespace, cpu_seconds: float) -> list[Figure]:
    """In one process, the rate by this process's CPU time: what the code does when the machine's
    other work does not take the core away from it."""
    if args.processes != 1:
        return []
    return [Figure("notices per CPU second", f"{args.notices / cpu_seconds:,.0f} (wall clock above)")]


RECONCILE_SECONDS = 10


def part_reconciliation(args: argparse.Namespace) -> list[Figure]:
    """An FdR of `--payments` lines (default 100,000) reconciled against as many notices (bench/fdr.py)."""
    from bench import fdr

    with tempfile.TemporaryDirectory(prefix="riscossa-bench-") as tmp:
        rss = PeakRss()
        found = asyncio.run(fdr.reconcile(args.payments, Path(tmp), rss))
    seconds, counts, peak_mb = found["seconds"], found["counts"], rss.peak / 1e6
    return [
        Figure("flow", f"{args.payments:,} payments, {found['megabytes']:.1f} MB of XML"),
        Figure(
            "matched",
            f"{counts['matched']:,} (unmatched {counts['unmatched']}, duplicates {counts['duplicates']})",
        ),
        Figure("reconciliation", f"{seconds:.1f} s", f"< {RECONCILE_SECONDS} s", seconds < RECONCILE_SECONDS),
        Figure("payments per second", f"{args.payments / seconds:,.0f}"),
        Figure("peak RSS", f"{peak_mb:.0f} MB", f"< {RSS_LIMIT_MB} MB", peak_mb < RSS_LIMIT_MB),
        Figure("RSS before it", f"{found['rss_before'] / 1e6:.0f} MB (platform, seeded notices, the XML)"),
    ]


PARTS: dict[str, Callable[[argparse.Namespace], list[Figure]]] = {
    "notices": part_notices,
    "reconciliation": part_reconciliation,
}


def show(part: str, figures: list[Figure]) -> None:
    print(f"\n{part}")
    for f in figures:
        verdict = "" if f.met is None else ("met" if f.met else "NOT MET")
        print(f"  {f.name:<22} {f.value:<40} {f.target:<10} {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--payments", type=int, default=100_000, help="lines of the FdR to reconcile")
    parser.add_argument("--processes", type=int, default=1, help="worker processes for the notices")
    parser.add_argument("--postal", action="store_true", help="notices with the Poste DataMatrix too")
    parser.add_argument("--profile", action="store_true", help="print where the time goes (cProfile)")
    parser.add_argument("--only", choices=sorted(PARTS), help="run one part")
    args = parser.parse_args()
    print(f"{psutil.cpu_count()} CPUs, load average {', '.join(f'{x:.2f}' for x in psutil.getloadavg())}")
    for name, part in PARTS.items():
        if args.only in (None, name):
            show(name, part(args))


if __name__ == "__main__":
    main()
