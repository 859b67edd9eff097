"""The end of a mandate, pure: the checks before closing and erasing, and the erasure certificate's
content and canonical form (what is signed)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.contracts_mandate import ERASING_SERVICES
from services.kernel.errors import DomainError

STATE_LABELS = {
    "closing": "Chiuso: pacchetto di riconsegna in preparazione o pronto",
    "erasing": "Cancellazione dei dati personali in corso",
    "erased": "Dati personali cancellati: certificato emesso",
}
SERVICE_LABELS = {
    "ingest": "Acquisizione e bonifica dei carichi",
    "contact": "Contatto telefonico",
    "payments": "Pagamenti e pagoPA",
    "reporting": "Rendicontazione",
}
REASON_MAX = 1000
TITLE = "Certificato di cancellazione dei dati personali"


def check_close(reason: str, confirmed: bool) -> str:
    text = reason.strip()
    if not text:
        raise DomainError("Indica il motivo della chiusura (es. scadenza del contratto).", field="reason")
    if len(text) > REASON_MAX:
        raise DomainError(f"Il motivo può avere al massimo {REASON_MAX} caratteri.", field="reason")
    if not confirmed:
        raise DomainError(
            "Conferma la chiusura: da quel momento il Comune è in sola consultazione.", field="confirm"
        )
    return text


@dataclass(frozen=True)
class Package:
    """What the Comune receives: the final relazione's state and the files so far."""

    report_status: str  # queued | running | done | failed | missing
    files: tuple[Mapping[str, Any], ...]

    @property
    def ready(self) -> bool:
        return self.report_status == "done" and any(f["service"] == "payments" for f in self.files)


def check_erasure(state: str, package: Package, received: bool) -> None:
    if state != "closing":
        raise DomainError("La cancellazione è già stata richiesta.", field="received")
    if not package.ready:
        raise DomainError(
            "Il pacchetto di riconsegna non è ancora completo: attendere la relazione finale e "
            "l'archivio dei pagamenti.",
            field="received",
        )
    if not received:
        raise DomainError(
            "Conferma che il Comune ha ricevuto e conservato il pacchetto di riconsegna.", field="received"
        )


def missing_services(reported: Sequence[str]) -> list[str]:
    return [s for s in ERASING_SERVICES if s not in reported]


def certificate(
    mandate: Mapping[str, Any],
    handed_over: Sequence[Mapping[str, Any]],
    reports: Mapping[str, Mapping[str, Any]],
    public_key: str,
    issued_at: datetime,
) -> dict[str, Any]:
    """The certificate's content: who, which mandate, what was handed over, what each service
    erased (counts and SHA-256), and the key that signs it. No personal datum of any taxpayer."""
    return {
        "documento": TITLE,
        "comune": {"id": str(mandate["tenant_id"]), "nome": mandate["comune_name"]},
        "mandato": {
            "chiuso_il": _day(mandate["closed_on"]),
            "chiuso_da": mandate["closed_by"],
            "motivo": mandate["reason"],
        },
        "cancellazione": {
            "richiesta_da": mandate["erasure_requested_by"],
            "richiesta_il": _instant(mandate["erasure_requested_at"]),
            "completata_il": max(r["erased_at"] for r in reports.values()),
        },
        "riconsegnato": [dict(f) for f in sorted(handed_over, key=lambda f: (f["servizio"], f["nome"]))],
        "servizi": [_service(name, reports[name]) for name in ERASING_SERVICES],
        "emesso_il": issued_at.isoformat(),
        "firma": {"algoritmo": "Ed25519", "chiave_pubblica": public_key},
    }


def _service(name: str, report: Mapping[str, Any]) -> dict[str, Any]:
    tables = sorted(report["tables"], key=lambda t: t["table"])
    return {
        "servizio": name,
        "cancellato_il": report["erased_at"],
        "righe_cancellate": sum(int(t["rows"]) for t in tables),
        "tabelle": [{"tabella": t["table"], "righe": int(t["rows"]), "sha256": t["sha256"]} for t in tables],
        "oggetti": {
            "numero": int(report["objects"]["count"]),
            "byte": int(report["objects"]["bytes"]),
            "sha256": report["objects"]["sha256"],
        },
    }


def canonical(content: Mapping[str, Any]) -> bytes:
    """The bytes signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _day(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _instant(value: datetime | str | None) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")
