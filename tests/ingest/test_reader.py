"""File formats and hostile files, read from disk without the database."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from services.ingest.domain import UnreadableFile
from services.ingest.reader import Limits, open_source, parse_file
from tests.ingest.t290_sample import sample_290
from tests.support import FIXTURES

YEAR = 2026
HEADER = "codice_fiscale;nominativo;tributo;anno;numero_atto;importo\n"


def write(tmp_path: Path, data: bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_tracciato_290_becomes_credits(tmp_path: Path) -> None:
    report = parse_file(write(tmp_path, sample_290(), "ruolo.290"), YEAR)

    assert [v.verdict for v in report.verdicts] == ["accepted", "accepted", "accepted", "rejected:taxpayer"]
    assert [v.line_number for v in report.verdicts] == [4, 5, 7, 9]
    first = report.verdicts[0].credit
    assert first is not None
    assert (
        first.fiscal_code,
        first.name,
        first.revenue_type,
        first.year,
        first.act_number,
        first.amount_cents,
    ) == (
        "RSSMRA80A01H501U",
        "ROSSI MARIO",
        "IMU",
        2022,
        "IMU-2022-1",
        123456,
    )
    company = report.verdicts[2].credit
    assert company is not None and (company.name, company.revenue_type) == ("ALFA S.R.L.", "TARI")
    assert report.accepted_total_cents == 123456 + 5000 + 99900


def test_tracciato_290_with_wrong_totals_or_lengths_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="N5") as refused:
        parse_file(write(tmp_path, sample_290(total_override=1)), YEAR)
    assert "(importo totale: dichiarato € 0,01, calcolato € 2.284,56)" in refused.value.message
    broken = sample_290().replace(b"IMU-2022-1 ", b"IMU-2022-1", 1)
    with pytest.raises(UnreadableFile, match="lunga 289 caratteri invece di 290"):
        parse_file(write(tmp_path, broken, "b.290"), YEAR)


@pytest.mark.parametrize(
    ("encoding", "bom", "label"),
    [("utf-8", b"", "UTF-8"), ("utf-8", b"\xef\xbb\xbf", "UTF-8"), ("cp1252", b"", "Windows-1252")],
)
def test_encodings_are_detected(tmp_path: Path, encoding: str, bom: bytes, label: str) -> None:
    text = HEADER + "RSSMRA80A01H501U;NICOLÒ CANTÙ;IMU;2024;1;€ 10,00\n"
    path = write(tmp_path, bom + text.encode(encoding))

    source = open_source(path)
    report = parse_file(path, YEAR)

    assert source.encoding_label == label
    assert report.verdicts[0].credit is not None
    assert report.verdicts[0].credit.name == "NICOLÒ CANTÙ"
    assert report.verdicts[0].credit.amount_cents == 1000


def test_encoding_can_be_overridden(tmp_path: Path) -> None:
    # A Windows-1252 file read as ISO-8859-1, as the user chose: the letters both share are kept.
    path = write(tmp_path, (HEADER + "RSSMRA80A01H501U;CAFFÈ;IMU;2024;1;10\n").encode("cp1252"))
    report = parse_file(path, YEAR, encoding="iso-8859-1")
    assert report.verdicts[0].credit is not None
    assert report.verdicts[0].credit.name == "CAFFÈ"


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize(
    ("chosen", "label"), [("windows-1252", "Windows-1252"), ("iso-8859-1", "ISO-8859-1")]
)
def test_a_utf8_file_read_as_another_encoding_is_refused(
    tmp_path: Path, bom: bytes, chosen: str, label: str
) -> None:
    """Its accented names would be stored garbled («CAFFÃ\x88», «NICOLÃ’») with no warning."""
    path = write(tmp_path, bom + (HEADER + "RSSMRA80A01H501U;CAFFÈ;IMU;2024;1;10\n").encode("utf-8"))
    with pytest.raises(UnreadableFile, match=f"Il file è in UTF-8, non in {label}: .* scegliendo UTF-8"):
        open_source(path, chosen)
    assert open_source(path, "utf-8").encoding_label == "UTF-8"
    # An ASCII file is the same in all three: read as chosen.
    plain = write(tmp_path, (HEADER + "RSSMRA80A01H501U;ROSSI;IMU;2024;1;10\n").encode())
    assert open_source(plain, chosen).encoding_label == label


def test_a_file_named_xlsx_that_is_not_a_workbook_is_said_so(tmp_path: Path) -> None:
    path = write(tmp_path, (HEADER + "RSSMRA80A01H501U;ROSSI;IMU;2024;1;10\n").encode())
    with pytest.raises(UnreadableFile, match="l'estensione di un foglio Excel ma non lo è"):
        open_source(path, filename="Crediti 2024.XLSX")
    assert open_source(path, filename="crediti.csv").kind == "csv"


def test_undecodable_encoding_is_refused_in_italian(tmp_path: Path) -> None:
    # 0x81 and 0x8d exist neither in UTF-8 (as lead bytes here) nor in Windows-1252.
    path = write(tmp_path, HEADER.encode() + b"RSSMRA80A01H501U;ROSS\x81\x8d;IMU;2024;1;10\n")
    with pytest.raises(UnreadableFile, match="Codifica del file non riconosciuta"):
        open_source(path)
    with pytest.raises(UnreadableFile, match=r"codifica UTF-8: .*\(Windows-1252 o ISO-8859-1\)"):
        parse_file(path, YEAR, encoding="utf-8")


def test_utf16_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER.encode("utf-16"))
    with pytest.raises(UnreadableFile, match="UTF-16"):
        open_source(path)


def test_binary_file_renamed_csv_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, bytes(range(256)) * 64, "foto.csv")
    with pytest.raises(UnreadableFile, match="file binario"):
        open_source(path)


def test_ten_megabyte_line_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER.encode() + b"A" * (10 * 1024 * 1024) + b"\n")
    with pytest.raises(UnreadableFile, match="riga 2 del file supera la lunghezza massima di 64 KB"):
        parse_file(path, YEAR)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="vuoto"):
        open_source(write(tmp_path, b""))


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_xlsx_sheet_can_be_chosen_by_name_or_number(tmp_path: Path) -> None:
    rows = [
        ["CF", "Tributo", "Anno", "Numero atto", "Importo"],
        ["RSSMRA80A01H501U", "IMU", 2024, "1", 12.5],
    ]
    path = _workbook(tmp_path / "b.xlsx", {"Note": [["solo appunti"]], "Insoluti": rows})

    assert open_source(path).sheets == ["Note", "Insoluti"]
    for choice in ("Insoluti", "2"):
        report = parse_file(path, YEAR, sheet=choice)
        assert report.accepted_total_cents == 1250
    with pytest.raises(UnreadableFile, match="Intestazione non trovata"):
        parse_file(path, YEAR)
    with pytest.raises(UnreadableFile, match="Il foglio «Altro» non esiste"):
        parse_file(path, YEAR, sheet="Altro")


def test_xlsx_zip_bomb_is_refused_before_opening(tmp_path: Path) -> None:
    path = tmp_path / "bomba.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(64):
                member.write(b"\0" * (1024 * 1024))
    assert path.stat().st_size < 1024 * 1024

    with pytest.raises(UnreadableFile, match="zip bomb"):
        open_source(path)
    with pytest.raises(UnreadableFile, match="decompresso occuperebbe 64 MB"):
        open_source(path, limits=Limits(xlsx_max_expanded=32 * 1024 * 1024))


def test_fixture_formats_are_recognised() -> None:
    kinds = {
        n: open_source(FIXTURES / n)
        for n in ("comune-a-halley.csv", "comune-b-export.xlsx", "comune-c-utf8.csv")
    }
    assert {n: (s.kind, s.encoding_label, s.delimiter) for n, s in kinds.items()} == {
        "comune-a-halley.csv": ("csv", "Windows-1252", ";"),
        "comune-b-export.xlsx": ("xlsx", "", None),
        "comune-c-utf8.csv": ("csv", "UTF-8", ","),
    }


def test_a_report_fixed_in_a_spreadsheet_reads_without_its_text_marker(tmp_path: Path) -> None:
    """The rows to fix come with «'» before a value a spreadsheet would run («'-1773,50»): fixed and
    loaded again, the marker is not part of the value (it made «'1.200,50» unreadable)."""
    rows = (
        "RSSMRA80A01H501U;ROSSI;IMU;2024;1;'1.200,50\n"
        "RSSMRA80A01H501U;ROSSI;IMU;2024;2;'-1773,50\n"
        "RSSMRA80A01H501U;ROSSI;IMU;2024;3;-1773,50\n"
    )
    report = parse_file(write(tmp_path, (HEADER + rows).encode()), YEAR)
    fixed, marked, plain = report.verdicts
    assert fixed.credit is not None and fixed.credit.amount_cents == 120_050
    assert (marked.field, marked.reason_it) == (plain.field, plain.reason_it) and marked.credit is None
