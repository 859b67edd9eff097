import re
import uuid
from datetime import UTC, date, datetime

from services.reporting import domain, pdf


def report(n: int, rate_bp: int = 350) -> domain.ReportData:
    positions = [
        domain.Position(
            uuid.UUID(int=i + 1),
            f"CF{i:014d}",
            f"Debitore {i}",
            "TARI" if i % 2 else "IMU",
            2020 + i % 3,
            f"ATTO-{i}",
            100_000 + i,
            1_000 * (i % 5),
        )
        for i in range(n)
    ]
    generated = datetime(2025, 6, 30, 10, 0, tzinfo=UTC)
    return domain.build_report(
        uuid.UUID(int=99), "Comune di Prova", generated, "Anna", date(2025, 1, 1), rate_bp, positions
    )


def test_pdf_contains_header_and_totals_as_searchable_text() -> None:
    data = report(3)
    body = pdf.render(data)
    assert body.startswith(b"%PDF")
    assert b"Comune di Prova" in body
    assert b"30/06/2025 12:00" in body  # Europe/Rome, summer time
    assert b"dal 01/01/2025 al 30/06/2025" in body
    for cents in (
        data.totals.assigned_cents,
        data.totals.collected_cents,
        data.totals.residual_cents,
        data.aggio_cents,
    ):
        assert domain.format_cents(cents).encode() in body
    assert b"CF00000000000002" in body


def test_many_positions_span_several_pages_and_keep_every_row() -> None:
    body = pdf.render(report(400))
    pages = len(re.findall(rb"/Type /Page\b(?!s)", body))
    assert pages >= 10
    assert b"CF00000000000000" in body
    assert b"CF00000000000399" in body
    # the per-position table header is repeated on every page it spans
    assert body.count(b"(Codice fiscale)") == pages
    assert body.count(b"(Pagina ") == pages


def test_same_data_gives_same_bytes() -> None:
    assert pdf.render(report(5)) == pdf.render(report(5))
