"""The end of a mandate, pure: the checks before closing and erasing, the certificate's content and
its signature (a changed byte of the content, or another key, fails the verification)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.kernel.errors import DomainError
from services.reporting import domain_mandate as rules
from services.reporting.signing import Signer, verify


def report(service: str, rows: int, at: str) -> dict[str, object]:
    return {
        "service": service,
        "erased_at": at,
        "tables": [{"table": f"{service}.debtors", "rows": rows, "sha256": "ab" * 32}],
        "objects": {"count": 1, "bytes": 10, "sha256": "cd" * 32},
    }


MANDATE = {
    "tenant_id": "00000000-0000-0000-0000-000000000001",
    "comune_name": "Comune di Prova",
    "closed_on": date(2026, 11, 30),
    "closed_by": "Fabio Ferri",
    "reason": "Contratto scaduto",
    "erasure_requested_by": "Fabio Ferri",
    "erasure_requested_at": datetime(2026, 12, 1, 9, tzinfo=UTC),
}


def test_closing_needs_a_reason_and_a_confirmation() -> None:
    with pytest.raises(DomainError) as missing:
        rules.check_close("  ", True)
    assert missing.value.field == "reason"
    with pytest.raises(DomainError) as unconfirmed:
        rules.check_close("Contratto scaduto", False)
    assert unconfirmed.value.field == "confirm"
    with pytest.raises(DomainError):
        rules.check_close("x" * (rules.REASON_MAX + 1), True)
    assert rules.check_close(" Contratto scaduto ", True) == "Contratto scaduto"


def test_the_erasure_waits_for_the_whole_package_and_its_receipt() -> None:
    payments = {"service": "payments", "name": "pagamenti-e-ricevute.zip"}
    with pytest.raises(DomainError, match="non è ancora completo"):
        rules.check_erasure("closing", rules.Package("running", (payments,)), True)
    with pytest.raises(DomainError, match="non è ancora completo"):
        rules.check_erasure("closing", rules.Package("done", ()), True)
    with pytest.raises(DomainError, match="ricevuto"):
        rules.check_erasure("closing", rules.Package("done", (payments,)), False)
    with pytest.raises(DomainError, match="già stata richiesta"):
        rules.check_erasure("erasing", rules.Package("done", (payments,)), True)
    rules.check_erasure("closing", rules.Package("done", (payments,)), True)


def test_the_certificate_says_what_each_service_erased_and_verifies() -> None:
    reports = {
        s: report(s, n, f"2026-12-01T09:0{n}:00+00:00")
        for n, s in enumerate(("ingest", "contact", "payments", "reporting"), start=1)
    }
    assert rules.missing_services(["ingest", "payments"]) == ["contact", "reporting"]
    signer = Signer("a deployment secret")
    handed = [{"servizio": "payments", "nome": "pagamenti-e-ricevute.zip", "sha256": "ef" * 32, "byte": 99}]
    content = rules.certificate(
        MANDATE, handed, reports, signer.public_key, datetime(2026, 12, 1, 10, tzinfo=UTC)
    )
    assert [s["servizio"] for s in content["servizi"]] == ["ingest", "contact", "payments", "reporting"]
    assert content["servizi"][2]["righe_cancellate"] == 3
    assert content["cancellazione"]["completata_il"] == "2026-12-01T09:04:00+00:00"
    assert content["mandato"]["chiuso_il"] == "2026-11-30"
    data = rules.canonical(content)
    signature = signer.sign(data)
    assert verify(signer.public_key, data, signature)
    assert not verify(signer.public_key, data.replace(b"Prova", b"Prove"), signature)
    assert not verify(Signer("another secret").public_key, data, signature)
    assert not verify(signer.public_key, data, "not base64!")
    assert Signer("a deployment secret").public_key == signer.public_key  # one key per deployment
