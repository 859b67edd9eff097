"""The column rules (`columnar`) give every row exactly the record the one-row rules give it."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from stdnum.it import iva

from services.ingest import columnar
from services.ingest.domain_mapping import ColumnMapping, header_candidate, propose_mapping
from services.ingest.domain_verdicts import RowJudge
from services.ingest.reader import DEFAULT_LIMITS, open_source
from tests.ingest.helpers import generate

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "credits"
TODAY = date(2026, 11, 24)


def one_row_records(
    mapping: ColumnMapping, rows: list[tuple[int, int, list[str]]], today: date = TODAY
) -> list[tuple[Any, ...]]:
    judge = RowJudge(mapping, today.year, today)
    return [columnar.stage_record(judge.judge_numbered(n, line, cells)) for n, line, cells in rows]


def data_rows(path: Path) -> tuple[ColumnMapping, list[tuple[int, int, list[str]]]]:
    source = open_source(path, None, None, DEFAULT_LIMITS)
    found = header_candidate(source.head()) if source.fixed_mapping is None else (0, [])
    assert found is not None
    header_line, header = found
    mapping = source.fixed_mapping or propose_mapping(header)
    judge = RowJudge(mapping, TODAY.year, TODAY)
    numbered = itertools.count(1)
    rows = [
        (next(numbered), line, cells)
        for n, raw in source.rows()
        if n > header_line
        for line, cells in judge.admit(n, raw)
    ]
    return mapping, rows


def assert_same(
    mapping: ColumnMapping, rows: list[tuple[int, int, list[str]]], today: date = TODAY
) -> tuple[int, int]:
    """Both ways agree on every row; returns how many rows the column rules accepted and rejected
    themselves."""
    expected = columnar.records_frame(one_row_records(mapping, rows, today))
    judge = RowJudge(mapping, today.year, today)
    got = columnar.stage_frame(judge, rows)
    assert got.schema == expected.schema
    assert len(got) == len(expected)
    for mine, theirs in zip(got.rows(), expected.rows(), strict=True):
        assert mine == theirs
    assert columnar.stage_csv(got) == columnar.stage_csv(expected)
    accepted, rejected = columnar.judged_by_columns(judge, [cells for _, _, cells in rows])
    return sum(accepted), sum(rejected)


def test_array_literals_escape_quotes_and_backslashes() -> None:
    assert columnar.pg_array([]) == "{}"
    assert (
        columnar.pg_array(['a "b"', "c\\d", "", "NULL", "{x,y}"])
        == '{"a \\"b\\"","c\\\\d","","NULL","{x,y}"}'
    )


@pytest.mark.parametrize("name", ["comune-a-halley.csv", "comune-b-export.xlsx", "comune-c-utf8.csv"])
def test_fixture_rows_get_the_one_row_records(name: str) -> None:
    mapping, rows = data_rows(FIXTURES / name)
    accepted, rejected = assert_same(mapping, rows)
    assert accepted > len(rows) // 2  # most rows are judged by the column rules, not handed back
    # ... and so are rejections whose cells the column rules read (ASCII, a phone of a known shape)
    records = one_row_records(mapping, rows)
    assert rejected > sum(1 for r in records if r[2].startswith("rejected:")) // 2


@pytest.mark.parametrize(("style", "seed"), [("halley", 11), ("utf8", 12), ("tsv", 13), ("xlsx", 14)])
def test_generated_rows_get_the_one_row_records(tmp_path: Path, style: str, seed: int) -> None:
    path, _ = generate(tmp_path, style, 3000, seed, "--title", "--totals")
    mapping, rows = data_rows(path)
    accepted, rejected = assert_same(mapping, rows)
    assert accepted > 0 and rejected > 0


HEADER = [
    "Codice fiscale", "Cognome", "Nome", "Ragione sociale", "Indirizzo", "CAP", "Comune", "Telefono", "Email",
    "Tributo", "Anno", "Numero atto", "Data notifica", "Importo dovuto", "Importo versato", "Scadenza",
]  # fmt: skip
GOOD = [
    "RSSMRA80A01H501U", "ROSSI", "MARIO", "", "VIA ROMA 1", "00100", "ROMA", "3331234567", "m@example.it",
    "IMU", "2022", "2022/1", "01/02/2023", "100,00", "", "01/04/2023",
]  # fmt: skip
# Each edit of the good row is a rule's edge: (column, text).
EDGES: list[tuple[str, str]] = [
    ("Codice fiscale", " rssmra80a01h501u "), ("Codice fiscale", "RSSMRA80A01H501V"),
    ("Codice fiscale", "RSSMRA80A41H501Y"), ("Codice fiscale", "RSSMRA8LA01H501F"),
    ("Codice fiscale", "RSSMRA80B30H501X"), ("Codice fiscale", "RSS MRA 80A01 H501U"),
    ("Codice fiscale", "RSSMRA80A01H501U\u2003"), ("Codice fiscale", "RSSMRA80A01H501U\x1c"),
    ("Codice fiscale", "12345678903"), ("Codice fiscale", "00000000000"), ("Codice fiscale", ""),
    ("Codice fiscale", "01114601006"), ("Codice fiscale", "01114601007"), ("Codice fiscale", "0111460 1006"),
    ("Codice fiscale", "00000001006"), ("Codice fiscale", "01114609996"), ("Codice fiscale", "01114601206"),
    ("Codice fiscale", "01114601016"), ("Codice fiscale", "０1114601006"),
    ("Codice fiscale", "RSSMRÀ80A01H501U"), ("Tributo", "i.m.u."), ("Tributo", "Canone unico"),
    ("Tributo", "T A R I"), ("Tributo", "TASI"), ("Tributo", ""), ("Tributo", "ımu"),
    ("Anno", "2022.0"), ("Anno", "1999"), ("Anno", "2027"), ("Anno", "２０２２"), ("Anno", "22"),
    ("Anno", "2022.0.0"), ("Anno", "202²"), ("Anno", "²⁰²²"), ("Anno", "①②③④"), ("Anno", "٢٠٢٢"),
    ("Telefono", "3" + "\u0663" * 9), ("Numero atto", ""), ("Numero atto", "  A   12  "), ("Numero atto", "x" * 101),
    ("Numero atto", "=1+1"), ("Numero atto", "\u2003A\u00a0B"),
    ("Importo dovuto", "€ 1.234,56"), ("Importo dovuto", "1234.56"), ("Importo dovuto", "1,234.56"),
    ("Importo dovuto", "1.234"), ("Importo dovuto", "1,234"), ("Importo dovuto", "1,5"),
    ("Importo dovuto", "0,00"), ("Importo dovuto", "-5"), ("Importo dovuto", "(5)"), ("Importo dovuto", "+5"),
    ("Importo dovuto", "++5"), ("Importo dovuto", "5 eur"), ("Importo dovuto", "1,123"),
    ("Importo dovuto", "00000000000000000000001"), ("Importo dovuto", "12345678901234"),
    ("Importo dovuto", "١٢"), ("Importo dovuto", ""), ("Importo versato", "100,00"),
    ("Importo versato", "99,99"), ("Importo versato", "0"), ("Importo versato", "abc"),
    ("Telefono", "+39 333 1234567"), ("Telefono", "0039-06.1234567"), ("Telefono", "(06) 123456"),
    ("Telefono", "12345"), ("Telefono", "+44 20 7946 0958"), ("Telefono", "n.d."), ("Telefono", "---"),
    ("Telefono", "333１234567"), ("Email", "M@Example.IT"), ("Email", "posta@"), ("Email", "cantù@example.it"),
    ("Email", "@x.it"), ("Email", "a@" + "b" * 260 + ".it"), ("Email", "x@pec.example.it"),
    ("Indirizzo", ""), ("CAP", ""), ("Comune", "  "), ("Cognome", "  DE   LUCA "), ("Nome", ""),
    ("Cognome", ""), ("Ragione sociale", "ALFA S.R.L."), ("Ragione sociale", "+ALFA"),
    ("Data notifica", "2023-02-01"), ("Data notifica", "2023-02-01T10:00"), ("Data notifica", "31/02/2023"),
    ("Data notifica", "1/2/2015"), ("Data notifica", "01.02.2010"), ("Data notifica", "01-02-0999"),
    ("Data notifica", "00/01/0000"), ("Data notifica", "ieri"), ("Data notifica", "29/02/2020"),
    ("Data notifica", "29/02/2021"), ("Data notifica", "24/11/2021"), ("Data notifica", "23/11/2021"),
    ("Data notifica", "０1/02/2023"), ("Scadenza", "xx"), ("Scadenza", ""),
    # A spreadsheet's text marker, as our reports write it or a clerk leaves it.
    ("Importo dovuto", "'-1773,50"), ("Importo dovuto", "'1.200,50"), ("Importo dovuto", " ' 5 "),
    ("Importo dovuto", "''5"), ("Telefono", "'+39 345 1234567"), ("Ragione sociale", "'=CMD()"),
    ("Codice fiscale", "'RSSMRA80A01H501U"), ("Anno", "'2022"), ("Importo dovuto", "'"),
]  # fmt: skip


# Edits that reject a row, or that the column rules leave to the one-row rules.
FAULTS: list[tuple[str, str]] = [
    ("Codice fiscale", "RSSMRA80A01H501V"), ("Codice fiscale", ""), ("Codice fiscale", "RSSMRÀ80A01H501U"),
    ("Tributo", "TASI"), ("Tributo", ""), ("Tributo", "ımu"), ("Anno", "2027"), ("Anno", "22"), ("Anno", "²⁰²²"),
    ("Numero atto", ""), ("Numero atto", "x" * 101), ("Importo dovuto", "-5"), ("Importo dovuto", ""),
    ("Importo dovuto", "12345678901234"), ("Importo dovuto", "١٢"), ("Importo dovuto", "0,00"),
    ("Importo dovuto", "1,2345"), ("Importo dovuto", "EUR"), ("Importo versato", "abc"),
    ("Importo versato", "100,00"), ("Importo versato", "(1)"), ("Telefono", "+44 20 7946 0958"),
    ("Data notifica", "０1/02/2023"), ("Email", "posta@"),
]  # fmt: skip


def partite_iva() -> list[tuple[str, str]]:
    """A partita IVA for each office-code edge, with its right check digit and a wrong one."""
    edges = []
    for office in ("000", "001", "100", "101", "119", "120", "121", "122", "888", "999"):
        for base in ("0123456", "0000000", "9876543"):
            digits = [f"{base}{office}{d}" for d in range(10)]
            good = next((c for c in digits if iva.is_valid(c)), digits[0])
            edges += [("Codice fiscale", good), ("Codice fiscale", digits[(int(good[-1]) + 1) % 10])]
    return edges


@pytest.mark.parametrize("today", [TODAY, date(2024, 2, 29), date(2025, 1, 1)])
def test_edge_cases_get_the_one_row_records(today: date) -> None:
    mapping = propose_mapping(HEADER)
    rows: list[tuple[int, int, list[str]]] = [(1, 2, list(GOOD))]
    for number, (column, text) in enumerate([*EDGES, *partite_iva()], start=2):
        cells = list(GOOD)
        cells[HEADER.index(column)] = text
        rows.append((number, number + 1, cells))
    # Two faults in one row: the first rule that fails decides, and a cell the column rules may read
    # otherwise (outside ASCII, a foreign phone) hands the row back only when it is reached.
    for first, second in itertools.combinations(FAULTS, 2):
        if first[0] != second[0]:
            cells = list(GOOD)
            for column, text in (first, second):
                cells[HEADER.index(column)] = text
            rows.append((len(rows) + 1, len(rows) + 2, cells))
    # Short and long rows, and a date without a due date column.
    rows.append((len(rows) + 1, 5000, GOOD[:10]))
    rows.append((len(rows) + 1, 5001, [*GOOD, "extra"]))
    # No name at all (a spreadsheet formula never computed reads so): accepted, flagged "name".
    for blank in ("", "  "):
        nameless = list(GOOD)
        for column in ("Cognome", "Nome", "Ragione sociale"):
            nameless[HEADER.index(column)] = blank
        rows.append((len(rows) + 1, len(rows) + 5002, nameless))
    # No act day: the limitation counts from the end of the year, read (or not) on its edges.
    for year in ("2018", "2019.0", "2020", "2021", "２０１８", "1999", "20 19", "2019.0.0", "2019 "):
        for act in ("", "31/02/2019", "15.03.2024"):
            undated = list(GOOD)
            undated[HEADER.index("Anno")] = year
            undated[HEADER.index("Data notifica")] = act
            undated[HEADER.index("Scadenza")] = ""
            rows.append((len(rows) + 1, len(rows) + 6000, undated))
    accepted, rejected = assert_same(mapping, rows, today)
    assert accepted > 0 and rejected > 100
    due_only = ColumnMapping({k: v for k, v in mapping.columns.items() if k != "act_date"})
    assert_same(due_only, rows, today)
    residual = ColumnMapping(
        {**{k: v for k, v in mapping.columns.items() if k not in ("amount_due", "amount_paid")}, "amount": 13}
    )
    assert_same(residual, rows, today)
