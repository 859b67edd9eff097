"""The relazione's rows add up to its totals in every format and on its page, with a position the
office cancelled (sgravio) and one whose amount it corrected: carico affidato - sgravi - rettifiche
- riscosso = residuo on every row and for the totals, the same figures everywhere."""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from services.contracts import BatchAccepted, DisputeOpened, PositionsRegistered
from services.kernel.identity import Identity
from services.platform import Platform
from services.reporting import domain_relazione as rel
from services.reporting import handlers_cases, render_pdf
from services.reporting.domain import format_cents
from tests.conftest import service_client
from tests.reporting.helpers import deliver_envelope
from tests.reporting.test_cases import OPENED, to_cases, viewer
from tests.reporting.test_relazione import API, ASSIGNED, PERIOD, api, campaign, finished
from tests.reporting.test_render_relazione import pdf_text

Amounts = tuple[int, ...]
# The campaign: 993,45 handed over; the sgravio of 70,00; position c corrected from 123,45 to 100,00;
# 585,00 collected (net of the refund, the revoked payment left out).
EXPECTED = (99_345, 7_000, 2_345, 58_500, 31_500)


def cents(text: str) -> int:
    """Italian money as the files and the page write it («€ 1.234,56», «-12,00») in cents."""
    found = re.fullmatch(r"(-?)(?:€ )?([\d.]+),(\d\d)", text.strip())
    assert found, text
    sign, euros, rest = found.groups()
    return (-1 if sign else 1) * (int(euros.replace(".", "")) * 100 + int(rest))


def add_up(rows: list[Amounts]) -> Amounts:
    for original, cancelled, corrected, collected, residual in rows:
        assert original - cancelled - corrected - collected == residual
    return tuple(sum(column) for column in zip(*rows, strict=True))


async def correct(platform: Platform, who: Identity, debtor_id: str, position_id: str, amount: str) -> None:
    """A dispute the office answers by correcting the amount of one position."""
    case = str(uuid.uuid4())
    await to_cases(platform, who.tenant_id, DisputeOpened(case, debtor_id, "Importo errato", "op-1", OPENED))
    async with platform.databases["reporting"].unit_of_work(who.tenant_id) as uow:
        typed = handlers_cases.Typed("corrected", "Importo ricalcolato", amount, (position_id,))
        await handlers_cases.answer(uow, viewer(who, "comune_admin"), uuid.UUID(case), typed)
        await uow.commit()


def csv_rows(body: bytes) -> dict[str, Amounts]:
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    columns = [header.index(h) for h in rel.MONEY_HEADERS]
    return {r[header.index("Atto")]: tuple(cents(r[i]) for i in columns) for r in rows[1:]}


def _euro_cents(value: Any) -> int:
    return int(Decimal(str(value)).scaleb(2))


def xlsx_rows_and_total(body: bytes) -> tuple[dict[str, Amounts], Amounts]:
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    rows = list(book["Posizioni"].iter_rows(values_only=True))
    header = list(rows[0])
    columns = [header.index(h) for h in rel.MONEY_HEADERS]
    lines = {str(r[header.index("Atto")]): tuple(_euro_cents(r[i]) for i in columns) for r in rows[1:]}
    totals = list(book["Totali"].iter_rows(values_only=True))
    assert totals[0][3:8] == rel.MONEY_HEADERS
    [overall] = [r for r in totals if r[0] == "Totale"]
    return lines, tuple(_euro_cents(v) for v in overall[3:8])


def pdf_lines(body: bytes) -> list[str]:
    """The text lines the relazione's canvas wrote (each a PDF string shown with Tj)."""
    strings = re.findall(r"\(((?:\\.|[^\\()])*)\) Tj", pdf_text(body))
    return [re.sub(r"\\([0-7]{3}|.)", lambda m: _unescape(m.group(1)), s) for s in strings]


def _unescape(code: str) -> str:
    return chr(int(code, 8)) if len(code) == 3 else code


def pdf_rows_and_total(body: bytes) -> tuple[dict[str, Amounts], Amounts]:
    starts, at = {}, 0
    for header, width, _ in render_pdf.TABLE:
        starts[header] = (at, at + width)
        at += width + 1
    act = slice(*starts["Atto"])
    money = [slice(*starts[h]) for h in rel.MONEY_HEADERS]
    lines = pdf_lines(body)
    rows = {
        line[act].strip(): tuple(cents(line[m]) for m in money)
        for line in lines
        if re.match(r"[A-Z0-9]{16} ", line)
    }
    [overall] = [line.split() for line in lines if re.fullmatch(r"Totale +\d+( +-?[\d.]+,\d\d){5}", line)]
    return rows, tuple(cents(v) for v in overall[2:])


def page_total(html: str) -> Amounts:
    shown = dict(re.findall(r'data-testid="report-(\w+)">([^<]*)<', html))
    return tuple(cents(shown[k]) for k in ("original", "cancelled", "corrected", "collected", "residual"))


@pytest.mark.asyncio
async def test_rows_add_up_to_the_totals_in_every_format_and_on_the_page(
    platform: Platform, tenant: Identity, worker: Any
) -> None:
    known = await campaign(platform, tenant)
    c = known["c"]
    await correct(platform, tenant, c.debtor_id, c.position_id, "100,00")
    # Each file of the load, then the first one uploaded again (its rows repeat what is assigned).
    loads = {
        e.batch_id: sum(f.amount_cents for f in e.positions)
        for e in known["events"]
        if isinstance(e, PositionsRegistered)
    }
    files_in = [
        BatchAccepted(batch, f"carico-{n}.csv", 9, 9, cents_in, 0, 0, {})
        for n, (batch, cents_in) in enumerate(loads.items())
    ]
    files_in.append(
        BatchAccepted(str(uuid.uuid4()), "carico-0.csv", 9, 9, files_in[0].accepted_total_cents, 9, 0, {})
    )
    for event in files_in:
        await deliver_envelope(
            platform, replace(event.envelope(tenant.tenant_id, "test"), occurred_at=ASSIGNED)
        )
    async with service_client(platform, "reporting", api(tenant)) as http:
        done = await finished(platform, tenant, worker, (await http.post(API, json=PERIOD)).json()["id"])
        files = {fmt: (await http.get(done["files"][fmt]["url"])).content for fmt in ("csv", "xlsx", "pdf")}
    async with service_client(platform, "reporting", viewer(tenant, "comune_admin")) as http:
        page = (await http.get(f"/t/{tenant.tenant_slug}/reporting/reports/{done['id']}")).text

    by_csv = csv_rows(files["csv"])
    by_xlsx, xlsx_total = xlsx_rows_and_total(files["xlsx"])
    by_pdf, pdf_total = pdf_rows_and_total(files["pdf"])
    assert by_csv == by_xlsx == by_pdf and len(by_csv) == 4
    # The cancelled row and the corrected one are read as every other: handed over, taken off, left.
    assert by_csv["ACC-SGRAVIO"] == (7_000, 7_000, 0, 0, 0)
    assert by_csv[c.act_number] == (12_345, 0, 2_345, 1_000, 9_000)
    assert add_up(list(by_csv.values())) == xlsx_total == pdf_total == page_total(page) == EXPECTED
    assert (done["original_cents"], done["cancelled_cents"], done["corrected_cents"]) == EXPECTED[:3]
    assert (done["collected_cents"], done["residual_cents"]) == EXPECTED[3:]
    assert done["assigned_cents"] == EXPECTED[0] - EXPECTED[1] - EXPECTED[2]
    # The files of the load add up to the carico affidato; the upload again assigned nothing.
    told = [line for line in pdf_lines(files["pdf"]) if line.startswith(("carico-", "Totale dei carichi"))]
    again = "carico-0.csv del 01/03/2026: 9 righe accettate, nessuna posizione nuova (già affidate)"
    assert len(told) == len(files_in) + 1 and again in told
    assert told[-1] == f"Totale dei carichi: 4 posizioni, {format_cents(EXPECTED[0])} euro"
    book = openpyxl.load_workbook(io.BytesIO(files["xlsx"]), read_only=True)
    header = {
        row[0]: row[1] for row in book["Intestazione"].iter_rows(values_only=True) if row[0] == "Carichi"
    }
    assert header == {"Carichi": told[-1]}
