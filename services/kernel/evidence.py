"""What an evidence file may be: a receipt, a bank statement, an F24 or a postal slip, as a PDF or a
picture, recognised by its first bytes (never by its name) and at most 10 MB.

Shared by the services that keep such files (payments' manual payments, contact's claims that the
debt was paid already), so the rule has one source. Pure: no I/O.
"""

from __future__ import annotations

from services.kernel.errors import DomainError

EVIDENCE_TYPES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
# A multipart form carrying one evidence file and a few short fields stays under this.
MAX_EVIDENCE_FORM_BYTES = MAX_EVIDENCE_BYTES + 64 * 1024


def evidence_type(data: bytes, field: str = "evidence") -> str:
    """The content type of an evidence file, read from its first bytes; refused in Italian at
    `field` when empty, over 10 MB, or not a PDF, PNG or JPEG."""
    if not data:
        raise DomainError("Allega la ricevuta o la quietanza del pagamento.", field=field)
    if len(data) > MAX_EVIDENCE_BYTES:
        raise DomainError("La ricevuta allegata supera i 10 MB.", field=field)
    for magic, content_type in EVIDENCE_TYPES.items():
        if data.startswith(magic):
            return content_type
    raise DomainError("La ricevuta deve essere un PDF, un JPEG o un PNG.", field=field)
