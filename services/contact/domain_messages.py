"""The labels of what other services did with a debtor, shown in the contact history beside the
calls (no I/O): the payments service's messages and plan events, the office's answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from services.kernel.limitation import act_served

# Messages the payments service sent to the debtor, shown in the contact history beside the calls
# (never offered as an outcome an operator records).
MESSAGE_LABELS: dict[str, str] = {
    "messaggio_email": "Messaggio inviato per e-mail",
    "messaggio_sms": "Messaggio inviato per SMS",
    # The payments service's plan events, in the same history.
    "piano_creato": "Piano di rate concesso",
    "piano_decaduto": "Piano di rate decaduto",
    "piano_ricalcolato": "Piano di rate ricalcolato dopo una decisione dell'Ufficio tributi",
    "piano_annullato": "Piano di rate annullato dall'Ufficio tributi",
    "pagamento": "Pagamento ricevuto",
    "rimborso": "Rimborso al contribuente (di nuovo dovuto)",
    "pagamento_revocato": "Pagamento revocato nel flusso di rendicontazione (di nuovo dovuto)",
    # The Ufficio tributi's answer to a case (`domain_answers`).
    "risposta_ufficio": "Risposta dell'Ufficio tributi",
    # An act of the Comune interrupting the limitation, recorded by the office, or taken back.
    "atto_interruttivo": "Atto interruttivo della prescrizione registrato dall'Ufficio tributi",
    "atto_interruttivo_annullato": "Atto interruttivo annullato dall'Ufficio tributi (registrato per errore)",
}
MESSAGE_KIND_LABELS: dict[str, str] = {
    "notice": "Avvisi di pagamento",
    "installment_reminder": "Promemoria scadenza rata",
    "sollecito": "Sollecito",
}


def message_note(kind: str, delivered: bool, installment: int, recipient: str = "") -> str:
    """The history's note of a message sent to the debtor (and where to, when the event says)."""
    note = MESSAGE_KIND_LABELS.get(kind, kind) + (f" (rata {installment})" if installment else "")
    note += f" a {recipient}" if recipient else ""
    return note if delivered else note + " - non spedito: piattaforma di sviluppo"


def act_note(kind: str, served_on: date, acts: Sequence[str]) -> str:
    """The history's note of an interrupting act: what, when served, the positions by act number
    (`kernel.limitation.act_served`)."""
    said = act_served(kind, served_on)
    return said + (f": atti {', '.join(acts)}" if len(acts) > 1 else f": atto {acts[0]}" if acts else "")
