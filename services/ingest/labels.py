"""Italian labels of the ingest service, in one place: pages, exports and rule messages use these.

Pure data (no import), so the rule modules (`domain*.py`) may take their labels from here too.
"""

from __future__ import annotations

# ---------------------------------------------------------------- batches and rows

STATUS_LABELS = {
    "received": "Ricevuto, in attesa di elaborazione",
    "processing": "In elaborazione",
    "needs_mapping": "In attesa di conferma delle colonne",
    "completed": "Elaborato",
    "failed": "Non elaborabile",
    "discarded": "Scartato senza elaborarlo",
}
# Why a row was rejected (the part of its verdict after "rejected:").
REASON_LABELS = {
    "taxpayer": "Codice fiscale / partita IVA non valido",
    "amount": "Importo non valido",
    "revenue_type": "Tipo di entrata non riconosciuto",
    "year": "Anno di riferimento non valido",
    "act_number": "Numero atto mancante",
    "nothing_due": "Nessun importo residuo",
}
# The field a row's verdict is about, as a column of the batch page.
FIELD_LABELS = {
    "taxpayer": "Codice fiscale / P.IVA",
    "amount": "Importo",
    "revenue_type": "Tipo entrata",
    "year": "Anno",
    "act_number": "Numero atto",
}
WARNING_LABELS = {
    "phone": "Telefono non utilizzabile",
    "email": "E-mail non valida",
    "name": "Nominativo mancante",
    "address": "Indirizzo incompleto",
    "limitation": "Atto oltre i cinque anni (prescrizione)",
    "formula": "Testo che inizia con = + - @",
    "date": "Data non leggibile o inesistente",
}
VERDICT_LABELS = {"duplicate": "Duplicata", "conflict": "In conflitto", "accepted": "Accettata"}


def verdict_label(verdict: str) -> str:
    """A row's verdict as the pages and the error report name it."""
    return "Scartata" if verdict.startswith("rejected:") else VERDICT_LABELS.get(verdict, verdict)


# ---------------------------------------------------------------- column mapping

# The required fields (and the amount) as a sentence names them ("mancano le colonne …").
REQUIRED_FIELD_LABELS = {
    "taxpayer": "codice fiscale / partita IVA",
    "revenue_type": "tipo di entrata",
    "year": "anno di riferimento",
    "act_number": "numero atto",
    "amount": "importo residuo (o importo dovuto)",
}
# Every field a user may assign a column to, with its Italian label (the mapping form offers these).
MAPPABLE_FIELDS = {
    "taxpayer": "Codice fiscale / partita IVA",
    "name": "Nominativo",
    "surname": "Cognome",
    "first_name": "Nome",
    "company": "Ragione sociale",
    "revenue_type": "Tipo di entrata",
    "year": "Anno di riferimento",
    "act_number": "Numero atto",
    "amount": "Importo residuo",
    "amount_due": "Importo dovuto",
    "amount_paid": "Importo versato",
    "phone": "Telefono",
    "email": "E-mail / PEC",
    "address": "Indirizzo",
    "postcode": "CAP",
    "city": "Comune / città",
    "province": "Provincia",
    "act_date": "Data notifica atto",
    "due_date": "Data scadenza",
}

# ---------------------------------------------------------------- contacts and cleaning

CONTACT_KINDS = {"phone": "Telefono", "email": "E-mail", "pec": "PEC", "address": "Indirizzo"}
GRADES = {
    "phone": "Raggiungibile per telefono",
    "address": "Solo per iscritto (indirizzo o PEC)",
    "none": "Nessun recapito utilizzabile",
}
# The warnings of the rows as the cleaning report counts them.
CLEANING_WARNING_LABELS = {
    "phone": "Telefoni non utilizzabili scartati",
    "email": "E-mail non valide scartate",
    "name": "Nominativi mancanti",
    "address": "Indirizzi incompleti",
    "limitation": "Atti oltre i cinque anni (prescrizione)",
    "formula": "Testi con = + - @ neutralizzati",
    "date": "Date non leggibili o inesistenti",
}
