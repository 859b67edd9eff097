"""The payments service's part of the package a Comune keeps when its mandate ends: one ZIP with
every payment and its pagoPA receipt, the receipts, the refunds, the c.803 charges paid with their
own notice, the reporting flows' lines (CSV,
`;`, UTF-8 with BOM, amounts in euro with a decimal comma) and the evidence of manual payments.
It is stored, and announced to reporting (`HandoverReady`), in the closing transaction."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from services.contracts_mandate import HandoverReady
from services.kernel.cells import neutralise
from services.kernel.db import UnitOfWork
from services.kernel.storage import ObjectStorage, key_part, tenant_key
from services.payments import repository_handover as rows
from services.payments.domain_receipts import ROME

NAME = "pagamenti-e-ricevute.zip"
MEDIA = "application/zip"
_PAYMENT_HEADER = (
    "Data pagamento", "Importo", "Stato", "Canale", "IUV", "Identificativo ricevuta", "PSP",
    "Data e ora ricevuta", "Flusso di rendicontazione", "Codice fiscale", "Contribuente", "Entrata",
    "Anno", "Atto", "Registrato da", "Motivo", "Documento allegato",
)  # fmt: skip
_RECEIPT_HEADER = (
    "IUV", "Identificativo ricevuta", "Importo", "Data e ora", "PSP", "Stato", "Applicata",
    "Flusso", "Origine",
)  # fmt: skip
_REFUND_HEADER = (
    "Data rimborso", "Importo", "Motivo", "Pagamento", "Codice fiscale", "Contribuente", "Entrata",
    "Anno", "Atto", "Registrato da",
)  # fmt: skip
_FLOW_HEADER = (
    "Flusso", "Data flusso", "Riferimento regolamento", "Data regolamento", "Mittente", "Riga",
    "IUV", "Identificativo ricevuta", "Importo", "Esito", "Data esito", "Stato",
)  # fmt: skip
_CHARGES_HEADER = (
    "Data pagamento", "Importo", "Stato", "IUV", "Identificativo ricevuta", "Flusso di rendicontazione",
    "Codice fiscale", "Contribuente", "Entrata", "Piano",
)  # fmt: skip
# The columns holding cents, per file.
_AMOUNTS = {
    "pagamenti.csv": {1},
    "ricevute.csv": {2},
    "rimborsi.csv": {1},
    "flussi.csv": {8},
    "oneri-c803.csv": {1},
}


def _cell(value: Any, amount: bool) -> str:
    if value is None:
        return ""
    if amount:
        cents = int(value)
        sign = "-" if cents < 0 else ""
        return f"{sign}{abs(cents) // 100},{abs(cents) % 100:02d}"
    if isinstance(value, datetime):
        return value.astimezone(ROME).strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, bool):
        return "sì" if value else "no"
    return neutralise(str(value))


def csv_bytes(name: str, header: Sequence[str], records: Iterable[Sequence[Any]]) -> bytes:
    amounts = _AMOUNTS.get(name, set())
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for record in records:
        writer.writerow([_cell(v, i in amounts) for i, v in enumerate(record)])
    return ("\ufeff" + text.getvalue()).encode("utf-8")


async def export_handover(uow: UnitOfWork, tenant_id: uuid.UUID, storage: ObjectStorage) -> None:
    """Write the package to storage and announce it (`HandoverReady`) in this transaction."""
    files = {
        "pagamenti.csv": csv_bytes("pagamenti.csv", _PAYMENT_HEADER, await rows.payments(uow, tenant_id)),
        "ricevute.csv": csv_bytes("ricevute.csv", _RECEIPT_HEADER, await rows.receipts(uow, tenant_id)),
        "rimborsi.csv": csv_bytes("rimborsi.csv", _REFUND_HEADER, await rows.refunds(uow, tenant_id)),
        "flussi.csv": csv_bytes("flussi.csv", _FLOW_HEADER, await rows.flow_lines(uow, tenant_id)),
        "oneri-c803.csv": csv_bytes("oneri-c803.csv", _CHARGES_HEADER, await rows.charges(uow, tenant_id)),
    }
    with tempfile.TemporaryFile() as spool:
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
            for item in await rows.evidence(uow, tenant_id):
                data = b"".join([chunk async for chunk in storage.stream(tenant_id, item.evidence_key)])
                archive.writestr(f"documenti/{item.id}-{key_part(item.evidence_name or '')}", data)
        spool.seek(0)
        key = tenant_key(tenant_id, "payments", "handover", str(uuid.uuid4()), NAME)
        stored = await storage.put(tenant_id, key, spool, MEDIA)
    described = {
        "name": NAME,
        "key": stored.key,
        "sha256": stored.sha256,
        "size": stored.size,
        "media_type": MEDIA,
    }
    event = HandoverReady(files=json.dumps([described]))
    await uow.publish([event.envelope(tenant_id, uow.correlation_id)])
