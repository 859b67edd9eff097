"""The Comune's register of accesses to personal data: each service shows its own access log
(`services.kernel.access_log`) at `/t/<slug>/<service>/accessi` to the Comune's administrators and
the firm's, newest first, a page at a time. Reading it is itself recorded."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.kernel.access_log import AccessLog
from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.kernel.web import MAX_QUERY_INT, endpoint, page, query_int, templates_for

ACCESS_ROLES = ("comune_admin", "platform_admin")
PAGE_SIZE = 100
SERVICE_TITLES = {
    "ingest": "Caricamenti e rintraccio",
    "contact": "Contatti telefonici",
    "payments": "Pagamenti e avvisi",
    "reporting": "Portale, pratiche e relazioni",
}
# What each recorded action was, as the register says it (one source for every service).
ACTION_LABELS = {
    "view_batch_rows": "Righe di un caricamento",
    "view_mapping_preview": "Anteprima delle colonne di un caricamento",
    "discard_batch": "Caricamento scartato",
    "api_rows": "Righe di un caricamento (API)",
    "download_errors": "Righe da correggere di un caricamento",
    "download_warnings": "Righe con avvertenze di un caricamento",
    "view_tracing_queue": "Coda del rintraccio",
    "api_debtor": "Recapiti di un debitore (API)",
    "download_cleaning": "Rapporto di pulizia dei dati",
    "mark_contact_wrong": "Recapito segnato come errato",
    "view_card": "Scheda del contribuente",
    "view_board": "Cruscotto dei supervisori",
    "conduct_override": "Chiamata fuori dalle regole autorizzata",
    "conduct_rules": "Regole di chiamata modificate",
    "call_script": "Traccia delle telefonate modificata",
    "outcome_labels": "Nomi degli esiti modificati",
    "quality_sample": "Campione di chiamate per la revisione di qualità",
    "quality_review": "Revisione di qualità di una chiamata",
    "work_list": "Lista di lavoro di un operatore",
    "work_list_removed": "Lista di lavoro di un operatore tolta",
    "release_lease": "Scheda rimessa in coda",
    "reassign_lease": "Scheda affidata a un altro operatore",
    "hand_callback": "Richiamo affidato ad altri",
    "attach_evidence": "Ricevuta allegata a una dichiarazione",
    "download_evidence": "Ricevuta di una dichiarazione di pagamento",
    "search_debtors": "Ricerca di un contribuente",
    "search_positions": "Ricerca di posizioni",
    "view_position": "Posizione",
    "api_position": "Posizione (API)",
    "api_positions": "Posizioni (API)",
    "view_refunds": "Rimborsi di una posizione",
    "list_money_not_owed": "Somme da restituire",
    "download_notice": "Avviso pagoPA",
    "download_notices_zip": "Avvisi pagoPA in un archivio ZIP",
    "public_view": "Pagina pubblica degli avvisi (il contribuente)",
    "public_download_notice": "Avviso scaricato dalla pagina pubblica",
    "view_debtor_list": "Elenco dei debitori",
    "download_debtor_list": "Elenco dei debitori scaricato",
    "view_debtor": "Fascicolo di un debitore",
    "export_dossier": "Fascicolo di un debitore scaricato",
    "view_cases": "Pratiche da decidere",
    "view_case": "Pratica",
    "answer_case": "Risposta a una pratica",
    "record_limitation_act": "Atto interruttivo della prescrizione registrato",
    "withdraw_limitation_act": "Atto interruttivo della prescrizione annullato",
    "download_digest": "Riepilogo periodico",
    "download_relazione": "Relazione di scarico",
    "download_rendiconto": "Rendiconto dell'aggio",
    "download_handover": "Pacchetto di riconsegna",
    "view_access_log": "Registro degli accessi",
}
FORMATS = {"csv": "CSV", "xlsx": "Excel", "pdf": "PDF"}
# The record an action's subject is, where the register links it: (path under the Comune, words).
_DEBTOR = ("reporting/portale/debitori/{id}", "fascicolo del debitore")
_POSITION = ("payments/positions/{id}", "posizione")
_BATCH = ("ingest/batches/{id}", "caricamento")
SUBJECT_LINKS = {
    "ingest": {
        **dict.fromkeys(("view_batch_rows", "view_mapping_preview", "discard_batch", "api_rows"), _BATCH),
        **dict.fromkeys(("download_errors", "download_warnings"), _BATCH),
        **dict.fromkeys(("api_debtor", "view_debtor"), _DEBTOR),
    },
    "contact": dict.fromkeys(
        (
            *("view_card", "conduct_override", "attach_evidence", "download_evidence"),
            *("mark_contact_wrong", "hand_callback", "release_lease", "reassign_lease"),
        ),
        _DEBTOR,
    ),
    "payments": {
        **dict.fromkeys(("view_position", "api_position", "view_refunds", "download_evidence"), _POSITION),
        "public_view": _DEBTOR,
    },
    "reporting": dict.fromkeys(
        (
            *("view_case", "answer_case", "view_debtor", "export_dossier"),
            *("record_limitation_act", "withdraw_limitation_act"),
        ),
        _DEBTOR,
    ),
}


def subject_link(service: str, action: str, subject_id: object) -> tuple[str, str] | None:
    """Where the register links an entry's record (a path under the Comune, and its words), when
    the record is a debtor, a position or a file the reader can open; None otherwise."""
    if not subject_id:
        return None
    links = SUBJECT_LINKS.get(service, {})
    base, _, suffix = action.rpartition("_")
    found = links.get(action) or (links.get(base) if suffix in FORMATS else None)
    if found is None:
        return None
    path, words = found
    return path.format(id=subject_id), words


def action_label(action: str) -> str:
    """The register's words for `action` («…_csv» and the like: the label and the format)."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    base, _, suffix = action.rpartition("_")
    if base in ACTION_LABELS and suffix in FORMATS:
        return f"{ACTION_LABELS[base]} ({FORMATS[suffix]})"
    return action.replace("_", " ").capitalize()


templates = templates_for(Path(__file__).parent)
templates.env.filters["action_label"] = action_label
templates.env.globals["subject_link"] = subject_link


# Where a service finds the words of an entry's record: a table of the Comune, its id column
# and what names the record («ROSSI MARIO · RSSMRA…», a file's name), read for one page at a time.
NameSource = tuple[sa.Table, str, Any]


async def subject_names(
    uow: UnitOfWork, tenant_id: uuid.UUID, ids: set[uuid.UUID], sources: Sequence[NameSource]
) -> dict[uuid.UUID, str]:
    """The names of the records the entries are about, as the service's tables name them."""
    found: dict[uuid.UUID, str] = {}
    for table, key, label in sources if ids else ():
        column = table.c[key]
        stmt = (
            sa.select(column.label("id"), label.label("label"))
            .where(table.c.tenant_id == tenant_id, column.in_(sorted(ids - set(found))))
            .ext(distinct_on(column))
        )
        found.update({r.id: str(r.label) for r in await uow.execute(stmt)})
    return found


def access_routes(service: str, access: AccessLog, names: Sequence[NameSource] = ()) -> list[BaseRoute]:
    """The service's register page (`names`: where it finds the words of the records)."""

    @endpoint(*ACCESS_ROLES)
    async def register(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
        before = query_int(request, "prima", 0, least=1, most=MAX_QUERY_INT) or None
        rows = await access.recent(uow, ident.tenant_id, PAGE_SIZE + 1, before)
        subjects = {r.subject_id for r in rows[:PAGE_SIZE] if r.subject_id is not None}
        named = await subject_names(uow, ident.tenant_id, subjects, names)
        detail = "" if before is None else "accessi precedenti"
        await access.record(uow, ident.tenant_id, ident.user_id, "view_access_log", None, detail)
        context = {
            "service": service,
            "title": SERVICE_TITLES.get(service, service),
            "services": SERVICE_TITLES,
            "entries": rows[:PAGE_SIZE],
            "names": named,
            "older": rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None,
            "first": before is None,
        }
        return page(templates, request, "access_log.html", context)

    return [Route(f"/t/{{tenant}}/{service}/accessi", register, methods=["GET"])]
