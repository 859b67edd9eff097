"""The crash-and-restart proof at a small size (bench/chaos.py, issue #14 item 6): every process of
the platform on a private PostgreSQL cluster and RabbitMQ node, 3,000 credit rows, five processes
SIGKILLed and started again, the broker stopped and started and the database crashed once each;
every count and euro total equals the clean run's, no outbox row unsent, no dead letter."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow


@pytest.mark.skipif(shutil.which("rabbitmq-server") is None, reason="needs the rabbitmq-server package")
def test_nothing_is_lost_or_doubled_when_processes_and_servers_crash() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.chaos", "--positions", "3000", "--files", "3", "--kills", "5"],
        cwd=ROOT,
        capture_output=True,
        timeout=900,
    )
    out = run.stdout.decode()
    assert "lost 0, doubled 0" in out and run.returncode == 0, out[-6000:] + run.stderr.decode()[-3000:]
