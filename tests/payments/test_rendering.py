"""Many notices are rendered in worker processes, in order, off the event loop."""

from __future__ import annotations

from datetime import date

import pypdfium2
import pytest

from services.payments import rendering
from services.payments.domain_notices import notice_number, printed
from services.payments.pdf_notice import Notice


def notice(n: int) -> Notice:
    return Notice(
        creditor_name="Comune di Prova",
        creditor_fiscal_code="80012340016",
        cbill="PROVA",
        nav=notice_number("01", n),
        amount_cents=1_000 + n,
        due_date=date(2026, 12, 31),
        payee_name=f"CONTRIBUENTE {n}",
        payee_fiscal_code="RSSMRA80A01H501U",
        reason="TARI 2025",
    )


def text_of(pdf: bytes) -> str:
    return str(pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range())


@pytest.mark.asyncio
async def test_a_bulk_of_notices_comes_back_rendered_in_order() -> None:
    notices = [notice(n) for n in range(1, rendering.POOL_FROM + 6)]
    pdfs = await rendering.render_many(notices)
    assert len(pdfs) == len(notices)
    for index in (0, len(notices) // 2, len(notices) - 1):
        assert printed(notices[index].nav) in text_of(pdfs[index])
    few = await rendering.render_many(notices[:2])  # below the pool: a thread
    assert printed(notices[1].nav) in text_of(few[1])
