"""Helpers for tests that talk to the real servers."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx

from services.contracts import PositionFact, PositionsRegistered
from services.kernel.envelope import Envelope
from services.kernel.identity import IDENTITY_HEADER, Identity, IdentitySigner
from services.kernel.settings import Settings

if TYPE_CHECKING:
    from services.platform import Platform

# A working Monday morning in Rome, not a holiday: the contact service's clock in tests.
CONTACT_WORKDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))


@contextmanager
def contact_clock(platform: Platform, moment: datetime) -> Iterator[None]:
    """The contact service judges calls at `moment` inside the block."""
    before = platform.clocks.get("contact")
    platform.clocks["contact"] = moment
    try:
        yield
    finally:
        if before is None:
            platform.clocks.pop("contact", None)
        else:
            platform.clocks["contact"] = before


ROOT = Path(__file__).resolve().parent.parent
# Euro amounts as Comuni's files and operators write them, and their cents: ingest and payments each
# parse amounts (a credit file's, a payment typed in) and must both read every one of these.
READABLE_AMOUNTS = [
    ("1.234,56", 123_456),
    ("1234.56", 123_456),
    ("1234,56", 123_456),
    ("€ 1.234,56", 123_456),
    ("€1.234,56", 123_456),
    ("€ 12,30", 1_230),
    ("12,3 €", 1_230),
    ("EUR 7", 700),
    ("EUR 10,50", 1_050),
    ("1.234", 123_400),
    ("1.234.567,8", 123_456_780),
    ("1,234.56", 123_456),
    ("98.59", 9_859),
    ("12.5", 1_250),
    (" 12 ", 1_200),
    ("0,01", 1),
    (" 1\u00a0234,00 ", 123_400),
    ("+5", 500),
]
SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures" / "credits"


def until_today(iso_day: str) -> str:
    """`iso_day`, or today in Rome if that is earlier: a relazione's period ends today at the latest
    (a test written with 31 December runs on every day of the year)."""
    return min(iso_day, datetime.now(ZoneInfo("Europe/Rome")).date().isoformat())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a `riscossa` subprocess use the same servers as the tests."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("RISCOSSA_")},
        "RISCOSSA_MODE": "test",
        "RISCOSSA_DEV_LOGIN": "0",
        "RISCOSSA_SECRET_KEY": settings.secret_key,
        "RISCOSSA_DATABASE_URL": settings.database_url,
        "RISCOSSA_AMQP_URL": settings.amqp_url,
        "RISCOSSA_EXCHANGE": settings.exchange,
        "RISCOSSA_QUEUE_PREFIX": settings.queue_prefix,
        "RISCOSSA_MAX_RETRIES": str(settings.max_retries),
        "RISCOSSA_RETRY_DELAY_MS": str(settings.retry_delay_ms),
        "RISCOSSA_S3_ENDPOINT": settings.s3_endpoint,
        "RISCOSSA_S3_BUCKET": settings.s3_bucket,
        "RISCOSSA_S3_ACCESS_KEY": settings.s3_access_key,
        "RISCOSSA_S3_SECRET_KEY": settings.s3_secret_key,
        "PYTHONPATH": str(ROOT),
    }


def make_identity(
    tenant_id: uuid.UUID,
    slug: str,
    roles: tuple[str, ...] = ("operator",),
    user_id: str = "test-user",
    name: str | None = None,
) -> Identity:
    return Identity(
        user_id=user_id,
        display_name="Utente di prova",
        tenant_id=tenant_id,
        tenant_slug=slug,
        tenant_name=name or f"Comune {slug}",
        roles=roles,
        csrf_token="t",
    )


def identity_headers(signer: IdentitySigner, identity: Identity) -> dict[str, str]:
    return {IDENTITY_HEADER: signer.sign(identity)}


class SeaweedFS:
    """`weed mini` on loopback with credentials, in a fresh data folder (infra-notes)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.access_key = "ci-" + uuid.uuid4().hex[:8]
        self.secret_key = uuid.uuid4().hex
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        weed = shutil.which("weed") or str(
            Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "weed"
        )
        data = self.workdir / "data"
        data.mkdir(parents=True)
        creds = self.workdir / "s3.json"
        creds.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "ci",
                            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                        }
                    ]
                }
            )
        )
        ports = [free_port() for _ in range(7)]
        args = [
            weed,
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.port={self.port}",
            f"-s3.config={creds}",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-master.port={ports[0]}",
            f"-filer.port={ports[1]}",
            f"-volume.port={ports[2]}",
            f"-master.port.grpc={ports[3]}",
            f"-filer.port.grpc={ports[4]}",
            f"-volume.port.grpc={ports[5]}",
            f"-s3.port.grpc={ports[6]}",
        ]
        with (self.workdir / "weed.log").open("wb") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited: {(self.workdir / 'weed.log').read_text()[-2000:]}")
            try:
                httpx.get(self.endpoint, timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("SeaweedFS did not become ready")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def position_fact(
    amount_cents: int,
    *,
    debtor_id: str | None = None,
    name: str = "ROSSI MARIO",
    fiscal_code: str = "RSSMRA80A01H501U",
    position_id: str | None = None,
    credit: tuple[str, int, str] = ("IMU", 2021, "A"),
    act_on: str = "",
) -> PositionFact:
    """A registered position as ingest's `PositionsRegistered` carries it; `credit` is the revenue
    type, the year and the prefix of a fresh act number; `act_on` the act's day (ISO, "": none)."""
    revenue_type, year, act_prefix = credit
    return PositionFact(
        position_id=position_id or str(uuid.uuid4()),
        debtor_id=debtor_id or str(uuid.uuid4()),
        fiscal_code=fiscal_code,
        debtor_name=name,
        revenue_type=revenue_type,
        year=year,
        act_number=f"{act_prefix}-{uuid.uuid4().hex[:6]}",
        amount_cents=amount_cents,
        act_on=act_on,
    )


def registered(tenant_id: uuid.UUID, *facts: PositionFact) -> Envelope:
    """The one-chunk `PositionsRegistered` of these positions."""
    event = PositionsRegistered(batch_id=str(uuid.uuid4()), chunk=1, chunks=1, positions=facts)
    return event.envelope(tenant_id)


# A manual payment's evidence (a minimal PDF) for the forms that record one.
EVIDENCE = {"evidence": ("ricevuta.pdf", b"%PDF-1.4\n% ricevuta di prova\n", "application/pdf")}
