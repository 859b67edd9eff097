"""Reading a file of pagoPA receipts (CSV): IUV or NAV, amount, date and time paid, PSP, receipt id.

A file with any bad row is refused whole, with the row and the field of each fault (the first ten),
so nothing of it is recorded.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from services.kernel.errors import DomainError
from services.payments.domain import parse_amount
from services.payments.domain_notices import is_valid_notice_number
from services.payments.domain_reconciliation import Incoming

ROME = ZoneInfo("Europe/Rome")
FIELD = "file"
MOST_ERRORS = 10
# Accepted headers (lower case, spaces and dashes as underscores) for each column.
COLUMNS = {
    "code": ("iuv", "nav", "codice_avviso", "numero_avviso"),
    "amount": ("importo", "amount", "importo_pagato"),
    "paid_at": ("data_pagamento", "paid_at", "data_ora_pagamento", "payment_date_time"),
    "psp": ("psp", "prestatore", "id_psp"),
    "receipt": ("id_ricevuta", "receipt_id", "identificativo_ricevuta", "iur"),
}
LABELS = {
    "code": "IUV/NAV",
    "amount": "importo",
    "paid_at": "data pagamento",
    "psp": "PSP",
    "receipt": "id ricevuta",
}
_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower().lstrip("\ufeff"))


def _columns(header: Sequence[str]) -> dict[str, int]:
    names = [_norm(h) for h in header]
    found: dict[str, int] = {}
    for key, accepted in COLUMNS.items():
        index = next((names.index(a) for a in accepted if a in names), None)
        if index is None:
            raise DomainError(
                f"Manca la colonna «{LABELS[key]}» (intestazioni accettate: {', '.join(accepted)}).",
                field=FIELD,
            )
        found[key] = index
    return found


def parse_paid_at(raw: str) -> datetime:
    """ISO 8601 (an instant without offset is Rome time) or dd/mm/yyyy hh:mm[:ss], Rome time."""
    text = raw.strip()
    if len(text) <= 10:
        raise ValueError(
            "indica data e ora del pagamento, ad es. 29/11/2026 10:15 o 2026-11-29T10:15:00+01:00 (la sola data non basta)"
        )
    try:
        moment: datetime | None = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = next((m for m in (_try(text, f) for f in _FORMATS) if m is not None), None)
    if moment is None:
        raise ValueError("usa data e ora, ad es. 29/11/2026 10:15 o 2026-11-29T10:15:00+01:00")
    return moment if moment.tzinfo else moment.replace(tzinfo=ROME)


def _try(text: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(text, fmt)
    except ValueError:
        return None


def _code(raw: str) -> str:
    """The IUV: a NAV loses its aux digit 3; an IUV of 17 digits stays as it is."""
    text = re.sub(r"\s", "", raw)
    if len(text) == 18 and text.isdigit():
        if not is_valid_notice_number(text):
            raise ValueError("numero avviso con cifre di controllo errate")
        return text[1:]
    if not re.fullmatch(r"[A-Za-z0-9]{1,35}", text):
        raise ValueError("indica lo IUV o il numero avviso (NAV)")
    return text


def _row(cells: Sequence[str], columns: dict[str, int], number: int, errors: list[str]) -> Incoming | None:
    values: dict[str, object] = {}
    readers = {"code": _code, "amount": _amount, "paid_at": parse_paid_at, "psp": _psp, "receipt": _receipt}
    for key, reader in readers.items():
        raw = cells[columns[key]] if columns[key] < len(cells) else ""
        try:
            values[key] = reader(raw)
        except (ValueError, DomainError) as exc:
            message = exc.message if isinstance(exc, DomainError) else str(exc)
            errors.append(f"Riga {number}, campo «{LABELS[key]}»: {message.rstrip('.')}")
    if len(values) < len(readers):
        return None
    return Incoming(
        iuv=str(values["code"]),
        receipt_ref=str(values["receipt"]),
        amount_cents=int(str(values["amount"])),
        paid_at=values["paid_at"],  # type: ignore[arg-type]
        psp=str(values["psp"]),
    )


def _amount(raw: str) -> int:
    cents = parse_amount(raw)
    if cents <= 0:
        raise ValueError("l'importo deve essere maggiore di zero")
    return cents


def _psp(raw: str) -> str:
    return raw.strip()[:70]


def _receipt(raw: str) -> str:
    text = raw.strip()
    if not 1 <= len(text) <= 35:
        raise ValueError("indica l'identificativo della ricevuta (da 1 a 35 caratteri)")
    return text


def _decoded(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252: what Excel writes when it saves a CSV."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise DomainError(
            "Il file non è un CSV leggibile: salvalo come «CSV UTF-8» (o CSV di Windows) e ricaricalo.",
            field=FIELD,
        ) from None


def parse_receipts(data: bytes) -> list[Incoming]:
    """The receipts of a file, in order; refused whole with every fault found (up to ten)."""
    text = _decoded(data)
    reader = csv.reader(io.StringIO(text), delimiter=";" if ";" in text.split("\n", 1)[0] else ",")
    # Each row with the file's line it ends on (blank lines are skipped, not renumbered).
    rows = [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise DomainError("Il file non contiene ricevute (serve una riga di intestazione e almeno una riga).")
    columns = _columns(rows[0][1])
    errors: list[str] = []
    numbers = [number for number, _ in rows[1:]]
    parsed = [_row(cells, columns, number, errors) for number, cells in rows[1:]]
    if errors:
        more = f" (e altri {len(errors) - MOST_ERRORS} errori)" if len(errors) > MOST_ERRORS else ""
        raise DomainError(
            "File rifiutato, nessuna ricevuta registrata. " + "; ".join(errors[:MOST_ERRORS]) + more,
            field=FIELD,
        )
    seen: dict[tuple[str, str], int] = {}
    for number, item in zip(numbers, parsed, strict=True):
        assert item is not None
        key = (item.iuv, item.receipt_ref)
        if key in seen:
            raise DomainError(
                f"Riga {number}: la ricevuta {item.receipt_ref} per lo IUV {item.iuv} compare già alla riga "
                f"{seen[key]}. File rifiutato, nessuna ricevuta registrata.",
                field=FIELD,
            )
        seen[key] = number
    return [p for p in parsed if p is not None]
