"""A small tracciato 290 file built record by record, for the reader and consumer tests."""

from __future__ import annotations

from services.ingest import t290


def n2(partita: str, cf: str, surname: str = "ROSSI", name: str = "MARIO", kind: str = "F") -> str:
    values = {
        "partita": partita,
        "fiscal_code": cf,
        "street": "VIA ROMA",
        "number": "12",
        "postcode": "00100",
        "belfiore": "H501",
        "city": "ROMA",
        "kind": kind,
    }
    if kind == "G":
        values["company"] = surname
    else:
        values |= {"surname": surname, "first_name": name}
    return t290.record("N2", values, t290.N2_FIELDS)


def n4(partita: str, year: str, code: str, cents: int, title: str, act_date: str = "20240115") -> str:
    values = {
        "partita": partita,
        "year": year,
        "tax_code": code,
        "taxable": str(cents),
        "tax_cents": str(cents),
        "interest_from": act_date,
        "title": title,
        "act_date": act_date,
    }
    return t290.record("N4", values, t290.N4_FIELDS)


def n5(n2_count: int, n4_count: int, total: int) -> str:
    values = {"n2": str(n2_count), "n3": "0", "n4": str(n4_count), "total_cents": str(total)}
    return t290.record("N5", values, t290.N5_FIELDS)


def sample_290(total_override: int | None = None) -> bytes:
    """Two debtors, four tax lines: three valid credits and one with a wrong codice fiscale."""
    records = [
        t290.record("N0", {}, {}),
        t290.record("N1", {}, {}),
        n2("000000001", "RSSMRA80A01H501U"),
        n4("000000001", "2022", "3918", 123456, "IMU-2022-1"),
        n4("000000001", "2023", "TARI", 5000, "TA-2023-7"),
        n2("000000002", "00743110157", "ALFA S.R.L.", kind="G"),
        n4("000000002", "2021", "3944", 99900, "TA-2021-9"),
        n2("000000003", "RSSMRA80A01H501A"),
        n4("000000003", "2022", "3918", 100, "IMU-2022-2"),
        n5(3, 4, total_override if total_override is not None else 123456 + 5000 + 99900 + 100),
        t290.record("N9", {}, {}),
    ]
    return ("\r\n".join(records) + "\r\n").encode("cp1252")
