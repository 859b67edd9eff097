"""The erasure certificate as PDF: what the signed JSON says, readable, with the signature, the
public key and the SHA-256 of the signed bytes (the JSON download is what one verifies)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, Spacer

from services.kernel.formats import format_count, format_size
from services.reporting.domain_digest import ROME
from services.reporting.domain_mandate import SERVICE_LABELS, TITLE
from services.reporting.pdf import TABLE_STYLE, footer, plain_table, portrait_pdf

FOOTER = footer(f"Riscossa · {TITLE.lower()}", A4[0], 12 * mm)
_CELL = getSampleStyleSheet()["BodyText"].clone("cell", fontSize=7, leading=9)
# A SHA-256 on one line of its column (it wrapped mid-hash, which breaks copying and comparing it).
_HASH = _CELL.clone("hash", fontName="Courier", fontSize=6, leading=8)


def certificate_pdf(content: Mapping[str, Any], signature: str, signed: bytes) -> bytes:
    title = f"{TITLE} - {content['comune']['nome']}"
    return portrait_pdf(_story(content, signature, signed), title, FOOTER)


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone(ROME).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return iso


def _story(content: Mapping[str, Any], signature: str, signed: bytes) -> list[object]:
    styles = getSampleStyleSheet()
    story: list[object] = [
        Paragraph(TITLE, styles["Title"]),
        Paragraph(
            "Al termine del mandato i dati personali dei contribuenti del Comune sono stati cancellati da "
            "ogni servizio della piattaforma (art. 28, par. 3, lett. g, GDPR; Garante, provv. 30/11/2005). "
            "Per ogni servizio sono indicati le righe e i documenti cancellati, con l'impronta SHA-256 "
            "dei loro identificativi.",
            styles["BodyText"],
        ),
        Spacer(1, 4 * mm),
        _head(content),
        Spacer(1, 4 * mm),
        Paragraph("Documenti consegnati al Comune prima della cancellazione", styles["Heading3"]),
    ]
    handed = [["Servizio", "Documento", "Byte", "SHA-256"]] + [
        [
            SERVICE_LABELS.get(f["servizio"], f["servizio"]),
            f["nome"],
            format_count(f["byte"]),
            Paragraph(f["sha256"], _HASH),
        ]
        for f in content["riconsegnato"]
    ]
    story.append(_table(handed, [40 * mm, 40 * mm, 18 * mm, 88 * mm]))
    for service in content["servizi"]:
        story += _service(service, styles)
    story += [
        Paragraph("Firma", styles["Heading3"]),
        Paragraph(
            f"Algoritmo {content['firma']['algoritmo']}. Chiave pubblica: {content['firma']['chiave_pubblica']}. "
            f"SHA-256 del contenuto firmato: {hashlib.sha256(signed).hexdigest()}. Firma (base64): {signature}. "
            "Il contenuto firmato è il file JSON del certificato (chiave «certificato», in forma canonica).",
            _CELL,
        ),
    ]
    return story


def _head(content: Mapping[str, Any]) -> Any:
    mandate, erasure = content["mandato"], content["cancellazione"]
    closed = datetime.fromisoformat(mandate["chiuso_il"]).strftime("%d/%m/%Y")
    rows = [
        ["Comune", content["comune"]["nome"]],
        ["Mandato chiuso il", f"{closed} da {mandate['chiuso_da']}"],
        ["Motivo", mandate["motivo"]],
        ["Cancellazione richiesta", f"{_when(erasure['richiesta_il'])} da {erasure['richiesta_da']}"],
        ["Cancellazione completata", _when(erasure["completata_il"])],
        ["Emesso il", _when(content["emesso_il"])],
    ]
    return plain_table([[k, Paragraph(escape(v), _CELL)] for k, v in rows], [45 * mm, 140 * mm])


def _service(service: Mapping[str, Any], styles: Any) -> list[object]:
    label = SERVICE_LABELS.get(service["servizio"], service["servizio"])
    objects = service["oggetti"]
    rows = [["Tabella", "Righe", "SHA-256 degli identificativi"]] + [
        [t["tabella"], format_count(t["righe"]), Paragraph(t["sha256"], _HASH)]
        for t in service["tabelle"]
        if t["righe"]
    ]
    return [
        Paragraph(
            f"{escape(label)}: {format_count(service['righe_cancellate'])} righe cancellate",
            styles["Heading3"],
        ),
        Paragraph(
            f"Documenti cancellati: {objects['numero']} ({format_size(objects['byte'])}), "
            f"SHA-256 {objects['sha256']}. Completata il {_when(service['cancellato_il'])}.",
            _CELL,
        ),
        _table(rows, [55 * mm, 18 * mm, 113 * mm]),
    ]


def _table(rows: list[list[Any]], widths: list[float]) -> LongTable:
    table = LongTable(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TABLE_STYLE)
    return table
