"""Pure ingest rules: amounts, revenue types, taxpayers, years, header detection, verdicts."""

from __future__ import annotations

import pytest

from services.ingest.domain import (
    CellError,
    ColumnMapping,
    Credit,
    Rejection,
    UnreadableFile,
    find_header,
    normalise_revenue_type,
    parse_amount,
    parse_row,
    parse_taxpayer,
    parse_year,
    propose_mapping,
    validate,
)

YEAR = 2026


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1.234,56", 123456),
        ("1234.56", 123456),
        ("€ 1.234,56", 123456),
        ("€1.234,56", 123456),
        ("1234,56", 123456),
        ("1.234.567,8", 123456780),
        ("1,234.56", 123456),
        ("98.59", 9859),
        (" 12 ", 1200),
        ("0,01", 1),
        ("1.234", 123400),
        ("EUR 10,50", 1050),
    ],
)
def test_amounts_in_italian_and_plain_formats(text: str, cents: int) -> None:
    assert parse_amount(text) == cents


@pytest.mark.parametrize(
    "text", ["-12,00", "- 1.234,56", "0,00", "0.00", "", "n.d.", "mille", "12,3,4", "1,234", "1.2.3"]
)
def test_unreadable_negative_zero_or_too_precise_amounts_are_rejected(text: str) -> None:
    with pytest.raises(CellError) as err:
        parse_amount(text)
    assert err.value.reason == "amount"
    assert err.value.message


def test_zero_paid_is_allowed_when_asked() -> None:
    assert parse_amount("0,00", allow_zero=True) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IMU", "IMU"),
        ("imu", "IMU"),
        ("I.M.U.", "IMU"),
        ("tari ", "TARI"),
        ("T.A.R.I.", "TARI"),
        ("Canone unico", "CUP"),
        ("C.U.P.", "CUP"),
        ("Codice della strada", "CDS"),
        ("C.D.S.", "CDS"),
        ("Altro", "ALTRO"),
    ],
)
def test_revenue_types_ignore_case_dots_and_spaces(text: str, expected: str) -> None:
    assert normalise_revenue_type(text) == expected


@pytest.mark.parametrize("text", ["XYZ", "TASI2", "", "IRPEF"])
def test_unknown_revenue_types_are_rejected(text: str) -> None:
    with pytest.raises(CellError) as err:
        normalise_revenue_type(text)
    assert err.value.reason == "revenue_type"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RSSMRA80A01H501U", "RSSMRA80A01H501U"),
        (" rssmra80 a01h501u ", "RSSMRA80A01H501U"),
        ("RSSMRA80A01H50MM", "RSSMRA80A01H50MM"),  # omocodic
        ("00000010215", "00000010215"),
        ("99445380399", "99445380399"),
    ],
)
def test_valid_fiscal_codes_and_vat_numbers(text: str, expected: str) -> None:
    assert parse_taxpayer(text) == expected


@pytest.mark.parametrize(
    "text", ["RSSMRA80A01H501A", "RSSMRA80A01H50", "00000010216", "994453803", "", "ABC"]
)
def test_invalid_taxpayers_are_rejected(text: str) -> None:
    with pytest.raises(CellError) as err:
        parse_taxpayer(text)
    assert err.value.reason == "taxpayer"


@pytest.mark.parametrize(
    ("text", "ok"), [("2000", True), ("2026", True), ("1999", False), ("2028", False), ("20x1", False)]
)
def test_reference_year_between_2000_and_this_year(text: str, ok: bool) -> None:
    if ok:
        assert parse_year(text, YEAR) == int(text)
    else:
        with pytest.raises(CellError):
            parse_year(text, YEAR)


def test_mapping_from_synonyms_of_each_export() -> None:
    halley = propose_mapping(
        [
            "CODICE_FISCALE",
            "COGNOME",
            "NOME",
            "RAGIONE_SOCIALE",
            "TRIBUTO",
            "ANNO",
            "NUM_ATTO",
            "IMPORTO_DOVUTO",
            "IMPORTO_VERSATO",
        ]
    )
    assert halley.columns == {
        "taxpayer": 0,
        "surname": 1,
        "first_name": 2,
        "company": 3,
        "revenue_type": 4,
        "year": 5,
        "act_number": 6,
        "amount_due": 7,
        "amount_paid": 8,
    }
    sheet = propose_mapping(
        ["CF/P.IVA", "Denominazione", "Tipo entrata", "Anno rif.", "N. avviso", "Importo residuo (€)"]
    )
    assert sheet.columns == {
        "taxpayer": 0,
        "name": 1,
        "revenue_type": 2,
        "year": 3,
        "act_number": 4,
        "amount": 5,
    }
    assert sheet.missing() == []


def test_header_found_after_title_lines() -> None:
    rows = iter(
        [
            (1, ["Comune di Prova - Elenco posizioni insolute"]),
            (2, ["Estrazione del 24/11/2026"]),
            (3, []),
            (4, ["codice_fiscale", "nominativo", "entrata", "anno_imposta", "numero_atto", "residuo"]),
            (5, ["RSSMRA80A01H501U", "ROSSI MARIO", "IMU", "2024", "1", "10.00"]),
        ]
    )
    line, mapping = find_header(rows)
    assert line == 4
    assert mapping.columns["amount"] == 5
    assert next(rows)[0] == 5  # the iterator is left at the first data line


def test_missing_header_is_reported_in_italian() -> None:
    with pytest.raises(UnreadableFile, match="Intestazione non trovata"):
        find_header(iter([(1, ["a", "b"]), (2, ["1", "2"])]))
    with pytest.raises(UnreadableFile, match="numero atto"):
        find_header(iter([(1, ["codice fiscale", "tributo", "anno", "importo"])]))


MAPPING = ColumnMapping(
    {"taxpayer": 0, "name": 1, "revenue_type": 2, "year": 3, "act_number": 4, "amount": 5}
)
DUE_PAID = ColumnMapping(
    {"taxpayer": 0, "revenue_type": 1, "year": 2, "act_number": 3, "amount_due": 4, "amount_paid": 5}
)


def test_row_becomes_a_credit() -> None:
    credit = parse_row(
        [" rssmra80a01h501u", "ROSSI  MARIO", "i.m.u.", "2024", " 2024/1 ", "€ 1.000,00"], MAPPING, YEAR
    )
    assert credit == Credit("RSSMRA80A01H501U", "ROSSI MARIO", "IMU", 2024, "2024/1", 100000)


def test_amount_due_minus_paid_and_nothing_due() -> None:
    assert isinstance(
        parse_row(["00000010215", "TARI", "2024", "7", "100,00", "40,50"], DUE_PAID, YEAR), Credit
    )
    credit = parse_row(["00000010215", "TARI", "2024", "7", "100,00", ""], DUE_PAID, YEAR)
    assert isinstance(credit, Credit) and credit.amount_cents == 10000
    paid = parse_row(["00000010215", "TARI", "2024", "7", "100,00", "100,00"], DUE_PAID, YEAR)
    assert paid == Rejection("amount", "nothing_due", paid.message if isinstance(paid, Rejection) else "")


def test_every_rejection_names_its_field_and_an_italian_reason() -> None:
    rejection = parse_row(["RSSMRA80A01H501U", "X", "IRPEF", "2024", "1", "1,00"], MAPPING, YEAR)
    assert isinstance(rejection, Rejection)
    assert (rejection.field, rejection.reason) == ("revenue_type", "revenue_type")
    assert "Tipo di entrata" in rejection.message


def test_validate_counts_duplicates_conflicts_blanks_and_totals() -> None:
    cf = "RSSMRA80A01H501U"
    rows = [
        (2, [cf, "R", "IMU", "2024", "1", "10,00"]),
        (3, [cf, "R", "IMU", "2024", "1", "10,00"]),  # exact repeat
        (4, ["", "", "", "", "", ""]),  # blank
        (5, [cf, "R", "TARI", "2024", "9", "5,00"]),
        (6, [cf, "R", "TARI", "2024", "9", "6,00"]),  # same key, other amount
        (7, [cf, "R", "CDS", "1999", "3", "1,00"]),
        (8, ["", "", "", "", "TOTALE", "32,00"]),
    ]
    report = validate(iter(rows), MAPPING, 1, YEAR)
    assert [v.verdict for v in report.verdicts] == [
        "accepted",
        "duplicate",
        "conflict",
        "conflict",
        "rejected:year",
    ]
    assert [v.row_number for v in report.verdicts] == [1, 2, 3, 4, 5]
    assert [v.line_number for v in report.verdicts] == [2, 3, 5, 6, 7]
    assert report.accepted_total_cents == 1000
    assert report.rejected == {"year": 1}
    assert report.verdicts[4].field == "year"
