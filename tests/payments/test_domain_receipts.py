"""Reading a receipts file (`domain_receipts.parse_receipts`): as Excel saves a CSV in Italy too."""

from __future__ import annotations

import pytest

from services.kernel.errors import DomainError
from services.payments.domain_receipts import parse_receipts

HEADER = "iuv;importo;data_pagamento;psp;id_ricevuta"
ROW = "01000000000000001;12,34;2026-11-27T10:15:00+01:00;Südtiroler Volksbank;R-1"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_a_receipts_csv_in_utf8_or_windows_1252_is_read_alike(encoding: str) -> None:
    [receipt] = parse_receipts(f"{HEADER}\n{ROW}\n".encode(encoding))
    assert receipt.amount_cents == 1_234 and receipt.iuv == "01000000000000001"


def test_bytes_in_neither_encoding_are_refused_in_italian() -> None:
    with pytest.raises(DomainError, match="salvalo come «CSV UTF-8»"):
        parse_receipts(f"{HEADER}\n".encode() + b"\x81\x8d\x8f\xff\xfe")


def test_a_day_without_its_time_is_refused_saying_both_formats() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from services.payments.domain_receipts import parse_paid_at

    assert parse_paid_at("15/12/2026 10:15") == datetime(2026, 12, 15, 10, 15, tzinfo=ZoneInfo("Europe/Rome"))
    with pytest.raises(ValueError, match=r"29/11/2026 10:15.*la sola data non basta"):
        parse_paid_at("15/12/2026")


def test_a_fault_is_named_by_the_files_own_line_blank_lines_counted() -> None:
    bad = "01000000000000002;dodici;2026-11-27T10:15:00+01:00;PSP;R-2"
    with pytest.raises(DomainError) as refused:
        parse_receipts(f"{HEADER}\n\n{ROW}\n\n{bad}\n{ROW}\n".encode())
    assert "Riga 5, campo" in refused.value.message  # the 5th line of the file, as an editor shows it
    with pytest.raises(DomainError) as twice:
        parse_receipts(f"{HEADER}\n\n{ROW}\n\n{ROW}\n".encode())
    assert "Riga 5: la ricevuta R-1" in twice.value.message and "alla riga 3" in twice.value.message
