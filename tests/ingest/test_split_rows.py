"""Rows of a delimited file split into cells by polars (`reader.csv_items`, `columnar.split_block`)
stage exactly the records the `csv` module and the one-row path stage, whatever the chunking."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest import columnar, pipeline
from services.ingest.domain_mapping import header_candidate, propose_mapping
from services.ingest.reader import DEFAULT_LIMITS, csv_items, csv_rows, open_source
from tests.ingest.helpers import generate
from tests.ingest.test_columnar import FIXTURES, TODAY, data_rows, one_row_records

HEADER = (
    "CODICE_FISCALE;COGNOME;NOME;RAGIONE_SOCIALE;INDIRIZZO;CAP;COMUNE;PROV;TELEFONO;EMAIL;TRIBUTO;ANNO;"
    "NUM_ATTO;DATA_NOTIFICA;IMPORTO_DOVUTO;IMPORTO_VERSATO;SCADENZA"
)
ROW = (
    "{cf};ROSSI;MARIO;;VIA ROMA {n};00100;ROMA;RM;333123{n:04d};m{n}@example.it;TARI;2023;2023/{n:05d};"
    "03/01/2024;1.234,{n:02d};;04/03/2024"
)
CF = "RSSMRA80A01H501U"
# Lines that put every branch of the split path and of its fallback to the test.
EDGES = [
    "Comune di Prova - elenco crediti\r\n",
    HEADER + "\r\n",
    *(ROW.format(cf=CF, n=n) + "\r\n" for n in range(1, 6)),
    "\r\n",
    ";;;;;;;;;;;;;;;;\r\n",
    " ; \t;\xa0;\u2003;;;;;;;;;;;;;\x1c\r\n",
    ROW.format(cf="\u2003" + CF + "\x1c", n=6) + "\r\n",
    ROW.format(cf=CF, n=7).replace("ROSSI", '"ROSSI\r\nBIS"') + "\r\n",
    ROW.format(cf=CF, n=8).replace("ROSSI", 'RO"SSI') + "\r\n",
    *(ROW.format(cf=CF, n=n) + "\n" for n in range(9, 14)),
    ROW.format(cf=CF, n=14) + "\r",
    ROW.format(cf=CF, n=15).rsplit(";", 3)[0] + "\r\n",  # fewer cells
    ROW.format(cf=CF, n=16) + ";\r\n",  # one more
    ROW.format(cf="", n=17) + "\r\n",  # no taxpayer
    ROW.format(cf="  ", n=18) + "\r\n",
    *(ROW.format(cf=CF, n=n) + "\r\n" for n in range(19, 25)),
    "TOTALE;;;;;;;;;;;;;;2.000,00;;\r\n",  # a lookalike: data follows
    ROW.format(cf="Tot.", n=33) + "\r\n",  # another: the taxpayer column starts with "tot"
    ROW.format(cf="TÖTALE", n=34) + "\r\n",  # not ASCII: the one-row path reads it
    ROW.format(cf=CF, n=25).replace(CF, "RSSMRA80A01H501X") + "\r\n",
    *(ROW.format(cf=CF, n=n) + "\r\n" for n in range(26, 32)),
    "   \r\n",
    "Totale generale;;;;;;;;;;;;;;9.999,00;;\r\n",
    "\r\n",
]


def one_row_csv(path: Path) -> bytes:
    """The stage CSV of the whole file read by `csv` and judged row by row."""
    mapping, rows = data_rows(path)
    return columnar.stage_csv(columnar.records_frame(one_row_records(mapping, rows)))


def split_csv(path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, int]:
    """The stage CSV the consumer writes, `chunk` rows at a time, and how many blocks it split."""
    source = open_source(path, None, None, DEFAULT_LIMITS)
    found = header_candidate(source.head())
    assert found is not None
    plan = pipeline.Plan(found[0], propose_mapping(found[1]), found[1])
    split = 0
    real = columnar.stage_frame_split

    def counted(*args: object) -> object:
        nonlocal split
        split += 1
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "STAGE_CHUNK", chunk)
    monkeypatch.setattr(columnar, "stage_frame_split", counted)
    data = b"".join(d for _, d in pipeline.verdict_chunks(source, plan, TODAY.year, TODAY))
    return data, split


def test_items_split_at_each_delimiter_are_the_rows_csv_reads() -> None:
    lines = "".join(EDGES)

    def physical() -> list[str]:
        import io

        return io.StringIO(lines, newline="").readlines()

    items = [(n, i.split(";") if isinstance(i, str) else i) for n, i in csv_items(iter(physical()), ";")]
    rows = list(csv_rows(iter(physical()), ";"))
    assert [n for n, _ in items] == [n for n, _ in rows]
    for (_, mine), (_, theirs) in zip(items, rows, strict=True):
        assert mine == theirs or (mine == [""] and theirs == [])  # a blank line either way
    assert sum(isinstance(i, str) for _, i in csv_items(iter(physical()), ";")) > len(rows) - 3


@pytest.mark.parametrize("chunk", [1, 3, 7, 20_000])
def test_edge_rows_stage_the_same_records_in_any_chunking(
    tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bordi.csv"
    path.write_bytes("".join(EDGES).encode("utf-8"))

    data, split = split_csv(path, chunk, monkeypatch)

    assert data == one_row_csv(path)
    assert split > 0 if chunk < 10 else split == 0  # one block of every case: the one-row path


@pytest.mark.parametrize("name", ["comune-a-halley.csv", "comune-c-utf8.csv"])
def test_fixture_files_stage_the_same_records(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for chunk in (5, 20_000):
        data, split = split_csv(FIXTURES / name, chunk, monkeypatch)
        assert data == one_row_csv(FIXTURES / name)
        assert split > 0


@pytest.mark.parametrize(("style", "seed"), [("halley", 21), ("utf8", 22), ("tsv", 23)])
def test_generated_files_stage_the_same_records(
    tmp_path: Path, style: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = generate(tmp_path, style, 5000, seed, "--title", "--totals")
    data, split = split_csv(path, 700, monkeypatch)
    assert data == one_row_csv(path)
    assert split > 0
