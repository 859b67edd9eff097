"""The reconciliation part of `bench/notices.py`: an FdR of N payments reconciled against N notices.

Creates a scratch database on the tests' PostgreSQL server (RISCOSSA_TEST_SERVER_URL, default
postgres@127.0.0.1:5432), migrates it, issues N single-payment options on N positions straight
into the tables, writes the flow (FlussoRiversamento 1.0.4, one line per notice) and times
`handlers_flows.import_flow` in one transaction, as the API and the worker run it: parse
and check the XML, match by IUV, write receipts, payments, option states, balances, flow lines and
the PaymentReceived/PositionSettled events to the outbox. The database is dropped afterwards.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa

from bench.ingest import drop_database, scratch_database
from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.kernel.settings import Settings
from services.payments import handlers_flows
from services.payments.domain_notices import iuv, notice_number
from services.payments.models import creditors, payment_options, positions
from services.platform import Platform

CREDITOR_CF = "80012340016"


def flow(options: list[tuple[str, int]]) -> bytes:
    lines = "".join(
        f"<datiSingoliPagamenti><identificativoUnivocoVersamento>{code}</identificativoUnivocoVersamento>"
        f"<identificativoUnivocoRiscossione>R{n}</identificativoUnivocoRiscossione>"
        f"<indiceDatiSingoloPagamento>1</indiceDatiSingoloPagamento>"
        f"<singoloImportoPagato>{Decimal(cents) / 100:.2f}</singoloImportoPagato>"
        "<codiceEsitoSingoloPagamento>0</codiceEsitoSingoloPagamento>"
        "<dataEsitoSingoloPagamento>2026-11-27</dataEsitoSingoloPagamento></datiSingoliPagamenti>"
        for n, (code, cents) in enumerate(options)
    )
    total = sum(cents for _, cents in options)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<FlussoRiversamento xmlns="http://www.digitpa.gov.it/schemas/2011/Pagamenti/">'
        "<versioneOggetto>1.0</versioneOggetto><identificativoFlusso>2026-11-28BPPIITRR-0001</identificativoFlusso>"
        "<dataOraFlusso>2026-11-28T10:00:00</dataOraFlusso>"
        "<identificativoUnivocoRegolamento>TRN-BENCH</identificativoUnivocoRegolamento>"
        "<dataRegolamento>2026-11-28</dataRegolamento><istitutoMittente><identificativoUnivocoMittente>"
        "<tipoIdentificativoUnivoco>B</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>BPPIITRRXXX"
        "</codiceIdentificativoUnivoco></identificativoUnivocoMittente></istitutoMittente><istitutoRicevente>"
        "<identificativoUnivocoRicevente><tipoIdentificativoUnivoco>G</tipoIdentificativoUnivoco>"
        f"<codiceIdentificativoUnivoco>{CREDITOR_CF}</codiceIdentificativoUnivoco></identificativoUnivocoRicevente>"
        f"</istitutoRicevente><numeroTotalePagamenti>{len(options)}</numeroTotalePagamenti>"
        f"<importoTotalePagamenti>{Decimal(total) / 100:.2f}</importoTotalePagamenti>{lines}</FlussoRiversamento>"
    ).encode()


async def seed(uow: UnitOfWork, tenant_id: uuid.UUID, count: int) -> list[tuple[str, int]]:
    """`count` positions, each with one payable notice; their (IUV, cents)."""
    await uow.execute(
        sa.insert(creditors).values(
            tenant_id=tenant_id,
            name="Comune di Bench",
            fiscal_code=CREDITOR_CF,
            segregation_code="01",
            cbill="BENCH",
            iban="IT60X0542811101000000123456",
        )
    )
    made: list[tuple[str, int]] = []
    for start in range(0, count, 5_000):
        rows, options = [], []
        for n in range(start, min(start + 5_000, count)):
            position_id, debtor_id, cents = uuid.uuid4(), uuid.uuid4(), 1_000 + n * 37 % 500_000
            nav = notice_number("01", n + 1)
            rows.append(
                {
                    "id": position_id,
                    "tenant_id": tenant_id,
                    "debtor_id": debtor_id,
                    "fiscal_code": "RSSMRA80A01H501U",
                    "debtor_name": f"CONTRIBUENTE {n}",
                    "revenue_type": "TARI",
                    "year": 2025,
                    "act_number": f"T-{n:06d}",
                    "amount_cents": cents,
                }
            )
            options.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant_id,
                    "position_id": position_id,
                    "debtor_id": debtor_id,
                    "nav": nav,
                    "iuv": iuv(nav),
                    "amount_cents": cents,
                    "due_date": date(2026, 12, 31),
                    "issued_by": "bench",
                }
            )
            made.append((iuv(nav), cents))
        await uow.execute(sa.insert(positions), rows)
        await uow.execute(sa.insert(payment_options), options)
    return made


async def reconcile(count: int, folder: Path, rss: Any) -> dict[str, Any]:
    """Seconds to reconcile an FdR of `count` payments, with the counts it gave."""
    url = await scratch_database()
    settings = replace(
        Settings(mode="test", data_dir=folder, storage_dir=folder / "storage", dev_login=False),
        database_url=url,
    )
    platform = await Platform.open(settings, run_migrations=True)
    try:
        tenant_id = uuid.uuid4()
        db = platform.databases["payments"]
        options = await db.run(tenant_id, lambda uow: seed(uow, tenant_id, count))
        data = flow(options)
        ident = Identity("bench", "bench", tenant_id, "bench", "Comune di Bench", ("operator",))
        before = psutil.Process().memory_info().rss
        with rss:
            started = time.perf_counter()
            counts = await db.run(tenant_id, lambda uow: handlers_flows.import_flow(uow, ident, data))
            seconds = time.perf_counter() - started
        return {"seconds": seconds, "counts": counts, "megabytes": len(data) / 1e6, "rss_before": before}
    finally:
        await platform.close()
        await drop_database(url)
