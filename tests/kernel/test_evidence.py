"""The one rule of what an evidence file may be (payments' manual payments, contact's claims)."""

from __future__ import annotations

import pytest

from services.kernel.errors import DomainError
from services.kernel.evidence import MAX_EVIDENCE_BYTES, evidence_type


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n...", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"\xff\xd8\xff\xe1Exif", "image/jpeg"),
        (b"%PDF-" + b"0" * (MAX_EVIDENCE_BYTES - 5), "application/pdf"),  # exactly 10 MB
    ],
)
def test_the_content_tells_the_type(data: bytes, expected: str) -> None:
    assert evidence_type(data) == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Allega la ricevuta"),
        (b"%PDF-" + b"0" * (MAX_EVIDENCE_BYTES - 4), "supera i 10 MB"),
        (b"PK\x03\x04 a zip named ricevuta.pdf", "PDF, un JPEG o un PNG"),
        (b"GIF89a", "PDF, un JPEG o un PNG"),
        (b" %PDF-1.4", "PDF, un JPEG o un PNG"),  # the magic bytes must open the file
    ],
)
def test_anything_else_is_refused_in_italian_at_the_field(data: bytes, message: str) -> None:
    with pytest.raises(DomainError, match=message) as refused:
        evidence_type(data, field="ricevuta")
    assert refused.value.field == "ricevuta" and refused.value.status == 400


def test_payments_uses_the_same_rule() -> None:
    from services.payments import domain, web_manual

    assert not hasattr(domain, "evidence_type") and web_manual.evidence_type is evidence_type
