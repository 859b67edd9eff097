"""Every route × every role × own/foreign Comune -> the expected status, through the real gateway.

The route list is collected from the applications themselves (each service's Starlette routes and
the gateway's own router), so a route added without a line in MATRIX fails this test by name.
Requests carry no meaningful body and point at resources that do not exist: what is checked is who
gets past the door (403/404/401/303 versus the handler's own answer), not what the handler does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from starlette.routing import Mount, Route

from gateway.app import Gateway
from gateway.seed import issue_dev_api_key
from services.cli import build_gateway
from services.payments.domain_notices import notice_number
from services.platform import BUSINESS_SERVICES, Platform
from tests.gateway.helpers import Person, client, make_person, make_tenant, sign_in

V, A, OP, S, P = "comune_viewer", "comune_admin", "operator", "supervisor", "platform_admin"
SESSION_ROLES = (V, A, OP, S, P)
ALL = SESSION_ROLES
FIRM = (OP, S, P)
UPLOADERS = (A, OP, S, P)
REPORTERS = (A, S, P)
SETTINGS = (A, P)


@dataclass(frozen=True)
class Expect:
    """Statuses: `own` per signed-in role on their own Comune, `foreign` for any role on another
    Comune (None: the route has no Comune), `anonymous` without a session, `api` with a valid key."""

    own: dict[str, int]
    foreign: dict[str, int] | None
    anonymous: int
    api: int
    api_foreign: int | None = None


def web(ok: int, allowed: tuple[str, ...], method: str = "GET", denied: int = 403) -> Expect:
    """A Comune page served by a service: sessions only; foreign Comuni look missing."""
    no_session = 303 if method == "GET" else 401
    own = {r: ok if r in allowed else denied for r in SESSION_ROLES}
    return Expect(own, foreign=dict.fromkeys(SESSION_ROLES, 404), anonymous=no_session, api=no_session)


def api(ok: int, foreign: int | None = None) -> Expect:
    """A JSON API route: only API keys get in; sessions are not credentials there. `foreign` is
    what another Comune's key gets on this Comune's resources."""
    return Expect(dict.fromkeys(SESSION_ROLES, 401), foreign=None, anonymous=401, api=ok, api_foreign=foreign)


def public(status: int) -> Expect:
    return Expect(dict.fromkeys(SESSION_ROLES, status), foreign=None, anonymous=status, api=status)


def admin_page(
    ok: int, allowed: tuple[str, ...], method: str = "GET", foreign_ok: int | None = None
) -> Expect:
    """The gateway's own administration pages; `foreign_ok` is what a platform admin gets elsewhere."""
    no_session = 303 if method == "GET" else 401
    own = {r: ok if r in allowed else 403 for r in SESSION_ROLES}
    foreign = None if foreign_ok is None else {**dict.fromkeys(SESSION_ROLES, 404), P: foreign_ok}
    return Expect(own, foreign=foreign, anonymous=no_session, api=no_session)


T = "/t/{tenant}"
B = "/t/{tenant}/ingest/batches/{batch_id}"
IB = "/api/v1/ingest/batches"
MATRIX: dict[tuple[str, str], Expect] = {
    # ---------------------------------------------------------------------------------- ingest
    ("GET", f"{T}/ingest/"): web(200, ALL),
    ("POST", f"{T}/ingest/batches"): web(400, UPLOADERS, "POST"),
    ("GET", B): web(200, ALL),
    # 409: the batch is not waiting for a column mapping (it was just received).
    ("POST", f"{B}/mapping/preview"): web(409, UPLOADERS, "POST"),
    ("POST", f"{B}/mapping"): web(409, UPLOADERS, "POST"),
    ("POST", f"{B}/discard"): web(409, UPLOADERS, "POST"),
    ("GET", f"{B}/errors.csv"): web(200, ALL),
    ("GET", f"{B}/errors.xlsx"): web(200, ALL),
    ("GET", f"{B}/warnings.csv"): web(200, ALL),
    ("GET", f"{B}/warnings.xlsx"): web(200, ALL),
    ("POST", IB): api(400),
    ("GET", f"{IB}/{{batch_id}}"): api(200, foreign=404),
    ("GET", f"{IB}/{{batch_id}}/rows"): api(200, foreign=404),
    ("POST", f"{IB}/{{batch_id}}/mapping"): api(409, foreign=404),
    ("POST", f"{IB}/{{batch_id}}/discard"): api(409, foreign=404),
    ("GET", f"{IB}/{{batch_id}}/errors.csv"): api(200, foreign=404),
    ("GET", f"{IB}/{{batch_id}}/errors.xlsx"): api(200, foreign=404),
    ("GET", f"{T}/ingest/tracing"): web(200, ALL),
    ("POST", f"{T}/ingest/tracing/import"): web(400, UPLOADERS, "POST"),
    ("GET", f"{T}/ingest/debtors/{{debtor_id}}"): web(404, ALL),
    ("POST", f"{T}/ingest/debtors/{{debtor_id}}/contacts"): web(400, UPLOADERS, "POST"),
    ("POST", f"{T}/ingest/contacts/{{contact_id}}/wrong"): web(404, UPLOADERS, "POST"),
    ("GET", f"{T}/ingest/cleaning-report.pdf"): web(200, ALL),
    ("GET", f"{T}/ingest/cleaning-report.xlsx"): web(200, ALL),
    ("POST", "/api/v1/ingest/tracing/import"): api(400),
    ("GET", "/api/v1/ingest/debtors/{debtor_id}"): api(404),
    ("POST", "/api/v1/ingest/debtors/{debtor_id}/contacts"): api(400),
    ("POST", "/api/v1/ingest/contacts/{contact_id}/wrong"): api(404),
    ("GET", "/api/v1/ingest/cleaning-report.pdf"): api(200),
    ("GET", "/api/v1/ingest/cleaning-report.xlsx"): api(200),
    # --------------------------------------------------------------------------------- contact
    ("GET", f"{T}/contact/"): web(200, FIRM),
    ("POST", f"{T}/contact/next"): web(303, FIRM, "POST"),
    ("GET", f"{T}/contact/conduct"): web(200, (A, S, P)),
    ("GET", f"{T}/contact/summary"): web(200, FIRM),
    ("GET", f"{T}/contact/cerca"): web(200, FIRM),
    ("GET", f"{T}/contact/board"): web(200, (S, P)),
    # No operator named: back to the board, where each one to review has its link.
    ("GET", f"{T}/contact/board/review"): web(303, (S, P)),
    ("POST", f"{T}/contact/board/review/{{contact_id}}"): web(400, (S, P), "POST"),
    ("POST", f"{T}/contact/debtors/{{debtor_id}}/contacts/{{contact_id}}/wrong"): web(404, FIRM, "POST"),
    ("GET", f"{T}/contact/scripts"): web(200, (S, P)),
    ("POST", f"{T}/contact/scripts"): web(400, (S, P), "POST"),
    ("POST", f"{T}/contact/outcome-labels"): web(200, (S, P), "POST"),
    # The address a form posts to, reloaded: back to the form's page (`kernel.web_reload`).
    ("GET", f"{T}/contact/outcome-labels"): web(303, (S, P)),
    ("POST", f"{T}/contact/board/leases/{{debtor_id}}/release"): web(404, (S, P), "POST"),
    ("POST", f"{T}/contact/board/leases/{{debtor_id}}/reassign"): web(
        400, (S, P), "POST"
    ),  # no operator chosen
    # No operator chosen.
    ("POST", f"{T}/contact/board/callbacks/{{debtor_id}}/hand"): web(400, (S, P), "POST"),
    ("POST", f"{T}/contact/conduct"): web(400, (A, S, P), "POST"),
    # The operators' work lists: supervisors edit them (an empty form names no criterion: 400; an
    # operator without a list has none to take away: 404); every caller sees their own.
    ("GET", f"{T}/contact/liste"): web(200, (S, P)),
    # An operator only through the gateway's signed link (or one with a list): here, nobody.
    ("GET", f"{T}/contact/liste/{{operator}}"): web(404, (S, P)),
    ("POST", f"{T}/contact/liste/{{operator}}"): web(404, (S, P), "POST"),
    ("POST", f"{T}/contact/liste/{{operator}}/rimuovi"): web(404, (S, P), "POST"),
    ("GET", f"{T}/contact/lista"): web(200, FIRM),
    ("GET", f"{T}/contact/debtors/{{debtor_id}}"): web(404, FIRM),
    ("POST", f"{T}/contact/debtors/{{debtor_id}}/outcomes"): web(400, FIRM, "POST"),
    # 400: no file chosen (checked before the claim is looked up).
    ("POST", f"{T}/contact/debtors/{{debtor_id}}/claims/{{contact_id}}/evidence"): web(400, FIRM, "POST"),
    ("GET", f"{T}/contact/debtors/{{debtor_id}}/evidence/{{attachment_id}}"): web(404, FIRM),
    # -------------------------------------------------------------------------------- payments
    ("GET", f"{T}/payments/"): web(200, FIRM),
    ("GET", f"{T}/payments/positions/{{position_id}}"): web(404, (*FIRM, V, A)),
    # 400: an empty form has no reason (checked before the evidence is stored).
    ("POST", f"{T}/payments/positions/{{position_id}}/payments"): web(400, FIRM, "POST"),
    ("POST", "/api/v1/payments/positions/{position_id}/payments"): api(400, foreign=400),
    # An empty body is not JSON (400).
    ("POST", "/api/v1/payments/plans/simulate"): api(400),
    ("POST", "/api/v1/payments/plans"): api(400),
    ("POST", "/api/v1/payments/plans/{plan_id}/extension"): api(400),
    ("GET", "/api/v1/payments/rules"): api(200),
    ("GET", "/api/v1/payments/positions"): api(200),
    ("GET", "/api/v1/payments/positions/{position_id}"): api(404, foreign=404),
    ("PUT", "/api/v1/payments/rules/{revenue_type}"): api(404),
    ("POST", "/api/v1/payments/notices"): api(400),
    ("GET", "/api/v1/payments/notices/{nav}/pdf"): api(404, foreign=404),
    # Sending with nothing named: 400. The public pages refuse a token the platform did not sign
    # (400), whoever asks: the signed link is the only credential there.
    ("POST", "/api/v1/payments/notices/send"): api(400),
    ("POST", f"{T}/payments/notices/send"): web(400, FIRM, "POST"),
    ("GET", "/avvisi/{token}"): public(400),
    ("GET", "/avvisi/{token}/pdf/{nav}"): public(400),
    # 400: no file attached / no note given.
    ("POST", "/api/v1/payments/reconciliation/receipts"): api(400),
    ("POST", "/api/v1/payments/reconciliation/fdr"): api(400),
    ("GET", "/api/v1/payments/reconciliation/review"): api(200),
    ("POST", "/api/v1/payments/reconciliation/review/{item_id}/resolve"): api(400),
    ("POST", "/api/v1/payments/reconciliation/review/{item_id}/book"): api(400),
    ("GET", f"{T}/payments/reconciliation"): web(200, FIRM),
    ("GET", f"{T}/payments/payments/{{payment_id}}/evidence"): web(404, (*FIRM, V, A)),
    # Refunds: the Comune's administrator and the firm's admin (an unknown position or payment: 404).
    ("GET", f"{T}/payments/rimborsi"): web(200, (A, P)),
    ("GET", f"{T}/payments/positions/{{position_id}}/rimborsi"): web(404, (A, P)),
    ("POST", f"{T}/payments/payments/{{payment_id}}/rimborsi"): web(404, (A, P), "POST"),
    ("GET", f"{T}/payments/payments/{{payment_id}}/rimborsi"): web(404, (A, P)),
    ("POST", f"{T}/payments/reconciliation/jobs/{{kind}}"): web(400, FIRM, "POST"),
    ("GET", f"{T}/payments/jobs/{{job_id}}"): web(404, FIRM),
    ("GET", f"{T}/payments/jobs/{{job_id}}/avvisi.zip"): web(404, FIRM),
    ("GET", f"{T}/payments/notices/bulk"): web(200, FIRM),
    ("POST", f"{T}/payments/notices/bulk"): web(400, FIRM, "POST"),
    ("POST", "/api/v1/payments/notices/bulk"): api(400),
    ("GET", "/api/v1/payments/jobs/{job_id}"): api(404, foreign=404),
    ("GET", "/api/v1/payments/jobs/{job_id}/avvisi.zip"): api(404, foreign=404),
    ("POST", f"{T}/payments/reconciliation/review/{{item_id}}/resolve"): web(400, FIRM, "POST"),
    # GPD: without the Comune's pagoPA data there is nothing to hand over (409); no body (400).
    ("GET", "/api/v1/payments/gpd/export"): api(409),
    ("POST", "/api/v1/payments/gpd/publish"): api(400),
    ("GET", f"{T}/payments/notices/{{nav}}/pdf"): web(404, (*FIRM, V, A)),
    # 409: the test Comune has no pagoPA data yet.
    ("POST", f"{T}/payments/positions/{{position_id}}/notices"): web(409, FIRM, "POST"),
    # Without positions there is nothing to plan: 400.
    ("GET", f"{T}/payments/plans/builder"): web(400, FIRM),
    ("GET", f"{T}/payments/plans/{{plan_id}}/send"): web(404, FIRM),
    # What an answer of the Ufficio tributi would make of a plan (no query: no plan, an empty block).
    ("GET", f"{T}/payments/plans/after-answer"): web(200, (A, P)),
    ("POST", f"{T}/payments/plans"): web(400, FIRM, "POST"),
    # The Comune's pagoPA settings: its admin; an empty form or body is refused field by field (400).
    ("GET", f"{T}/payments/settings"): web(200, SETTINGS),
    ("POST", f"{T}/payments/settings"): web(400, SETTINGS, "POST"),
    ("PUT", "/api/v1/payments/settings"): api(400),
    # The installment rules page: its admin; an empty form names no revenue type (400).
    ("GET", f"{T}/payments/rules"): web(200, SETTINGS),
    ("POST", f"{T}/payments/rules"): web(400, SETTINGS, "POST"),
    ("GET", f"{T}/payments/legal-rates"): web(200, SETTINGS),
    ("POST", f"{T}/payments/legal-rates"): web(400, (P,), "POST"),
    ("GET", "/api/v1/payments/legal-rates"): api(200),
    # ------------------------------------------------------------------------------- reporting
    ("GET", f"{T}/reporting/"): web(200, ALL),
    ("GET", f"{T}/reporting/summary"): web(200, ALL),
    # The relazioni: listed for all; requested by the office's admin and the firm's supervisors (an
    # empty form names no kind: 400); progress and files for the Comune's roles and supervisors
    # (the report of the own Comune is still queued: its files answer 409).
    ("GET", f"{T}/reporting/reports"): web(200, ALL),
    ("POST", f"{T}/reporting/reports"): web(400, REPORTERS, "POST"),
    ("GET", f"{T}/reporting/reports/{{report_id}}"): web(200, (V, A, S, P)),
    **{
        ("GET", f"{T}/reporting/reports/{{report_id}}.{f}"): web(409, (V, A, S, P))
        for f in ("pdf", "xlsx", "csv")
    },
    # The Ufficio tributi's worklist: its office and the firm's supervisors read it (an unknown case
    # or receipt: 404); its administrator answers (an empty form names no answer: 400).
    ("GET", f"{T}/reporting/pratiche"): web(200, (V, A, S, P)),
    ("GET", f"{T}/reporting/pratiche/{{case_id}}"): web(404, (V, A, S, P)),
    ("POST", f"{T}/reporting/pratiche/{{case_id}}/risposta"): web(400, (A, P), "POST"),
    ("GET", f"{T}/reporting/pratiche/ricevute/{{evidence_id}}"): web(404, (V, A, S, P)),
    # The digests for the Ufficio tributi: listed and downloaded by the office and supervisors (an
    # unknown digest: 404); schedule and «Invia ora» for its administrator (an empty form, or no
    # address to send to: 400).
    ("GET", f"{T}/reporting/riepiloghi"): web(200, (V, A, S, P)),
    ("POST", f"{T}/reporting/riepiloghi/impostazioni"): web(400, (A,), "POST"),
    ("POST", f"{T}/reporting/riepiloghi/invia"): web(400, (A,), "POST"),
    ("GET", f"{T}/reporting/riepiloghi/{{digest_id}}/pdf"): web(404, (V, A, S, P)),
    # The aggio: its page and rendiconti for the Comune's roles and the firm's admin; the contract
    # and on-demand rendiconti for the firm's admin only (an empty form: 400); the office's addresses
    # for its admin (an empty list is saved: 303); no period named: 400.
    ("GET", f"{T}/reporting/aggio"): web(200, (V, A, P)),
    ("GET", f"{T}/reporting/mandato"): web(200, (V, A, P)),
    ("POST", f"{T}/reporting/mandato/chiusura"): web(400, (P,), "POST"),
    ("POST", f"{T}/reporting/mandato/cancellazione"): web(400, (P,), "POST"),
    ("GET", f"{T}/reporting/mandato/chiusura"): web(303, (V, A, P)),
    ("GET", f"{T}/reporting/mandato/cancellazione"): web(303, (V, A, P)),
    ("GET", f"{T}/reporting/mandato/consegna/{{sha256}}"): web(404, (A, P)),
    ("GET", f"{T}/reporting/mandato/certificato.pdf"): web(404, (V, A, P)),
    ("GET", f"{T}/reporting/mandato/certificato.json"): web(404, (V, A, P)),
    ("GET", f"{T}/reporting/aggio/contratto"): web(200, (P,)),
    ("POST", f"{T}/reporting/aggio/contratto"): web(400, (P,), "POST"),
    ("POST", f"{T}/reporting/aggio/contratto/elimina"): web(400, (P,), "POST"),
    ("GET", f"{T}/reporting/aggio/contratto/elimina"): web(303, (P,)),
    ("POST", f"{T}/reporting/aggio/rendiconti"): web(400, (P,), "POST"),
    ("GET", f"{T}/reporting/aggio/rendiconti/{{rendiconto_id}}.pdf"): web(404, (V, A, P)),
    ("GET", f"{T}/reporting/aggio/rendiconti/{{rendiconto_id}}.xlsx"): web(404, (V, A, P)),
    ("POST", f"{T}/reporting/aggio/contatti"): web(303, (A, P), "POST"),
    ("GET", f"{T}/reporting/aggio/contatti"): web(303, (V, A, P)),
    ("GET", f"{T}/reporting/aggio/rendiconti"): web(303, (V, A, P)),
    ("GET", "/api/v1/reporting/aggio"): api(400),
    # The Ufficio tributi's portal: its figures for everyone on the Comune; names (the debtors, a
    # debtor's file, their downloads) for the office, supervisors, platform admins; unknown: 404.
    ("GET", f"{T}/reporting/portale"): web(200, ALL),
    ("GET", f"{T}/reporting/portale/debitori"): web(200, (V, A, S, P)),
    ("GET", f"{T}/reporting/portale/debitori/{{debtor_id}}"): web(404, (V, A, S, P)),
    ("GET", f"{T}/reporting/portale/debitori/{{debtor_id}}/fascicolo.pdf"): web(404, (V, A, S, P)),
    # The Comune's interrupting acts on a debtor's page: its administrators record and withdraw them
    # (an unknown debtor or act: 404).
    ("POST", f"{T}/reporting/portale/debitori/{{debtor_id}}/atti"): web(404, (A, P), "POST"),
    ("GET", f"{T}/reporting/portale/debitori/{{debtor_id}}/atti"): web(303, (A, P)),
    ("GET", f"{T}/reporting/portale/debitori/{{debtor_id}}/atti/{{act_id}}/annulla"): web(303, (A, P)),
    ("POST", f"{T}/reporting/portale/debitori/{{debtor_id}}/atti/{{act_id}}/annulla"): web(
        404, (A, P), "POST"
    ),
    ("GET", f"{T}/reporting/portale/{{kind}}.csv"): web(404, ALL),
    ("GET", f"{T}/reporting/portale/{{kind}}.xlsx"): web(404, ALL),
    ("GET", "/api/v1/reporting/summary"): api(200),
    ("GET", "/api/v1/reporting/reports"): api(200),
    ("POST", "/api/v1/reporting/reports"): api(400),  # an empty body is not JSON
    ("GET", "/api/v1/reporting/reports/{report_id}"): api(200, foreign=404),
    **{
        ("GET", f"/api/v1/reporting/reports/{{report_id}}.{f}"): api(409, foreign=404)
        for f in ("pdf", "xlsx", "csv")
    },
    # ------------------------------------- every service's register of accesses to personal data
    **{
        ("GET", f"{T}/{s}/accessi"): web(200, SETTINGS)
        for s in ("ingest", "contact", "payments", "reporting")
    },
    # ------------------------------------------------------- every service's health (gateway's)
    ("GET", "/healthz"): public(200),
    # Each service reached through the gateway with a session, doing nothing else (monitoring).
    ("GET", f"{T}/ingest/healthz"): web(200, ALL),
    ("GET", f"{T}/contact/healthz"): web(200, ALL),
    ("GET", f"{T}/payments/healthz"): web(200, ALL),
    ("GET", f"{T}/reporting/healthz"): web(200, ALL),
    ("GET", "/readyz"): public(200),
    # --------------------------------------------------------------------------- gateway pages
    # One Comune: straight into it; the firm's callers stay on their home of queues, a platform
    # administrator on the platform's links.
    ("GET", "/"): Expect(
        {r: 200 if r in (OP, S, P) else 303 for r in SESSION_ROLES}, foreign=None, anonymous=303, api=303
    ),
    ("GET", "/login"): public(200),
    ("POST", "/login/dev"): public(404),  # development login: off outside dev/embedded mode
    ("POST", "/logout"): public(303),
    ("POST", "/logout/all"): public(303),
    ("GET", "/.well-known/jwks.json"): public(200),
    ("GET", "/login/oidc/{provider}"): public(404),  # no such provider configured here
    ("GET", "/login/oidc/{provider}/callback"): public(404),
    ("GET", "/files"): public(404),  # presigned local files only; S3 here
    ("GET", "/api/v1/openapi.json"): public(200),
    ("GET", "/static/vendor/bootstrap-italia/{path}"): public(200),
    ("GET", "/static/vendor/htmx/{path}"): public(200),
    ("GET", "/static/{path}"): public(200),
    # ------------------------------------------------------------- gateway administration pages
    ("GET", "/admin/"): Expect({V: 403, A: 303, OP: 403, S: 303, P: 303}, None, 303, 303),
    ("GET", "/admin/comuni"): admin_page(200, (P,)),
    ("POST", "/admin/comuni"): admin_page(400, (P,), "POST"),
    # A Comune's supervisors assign its operators there (an empty form names no role: 400).
    ("GET", "/admin/comuni/{slug}/utenti"): admin_page(200, (A, S, P), foreign_ok=200),
    ("POST", "/admin/comuni/{slug}/utenti"): admin_page(400, (A, S, P), "POST", foreign_ok=400),
    ("POST", "/admin/comuni/{slug}/utenti/rimuovi"): admin_page(400, (A, S, P), "POST", foreign_ok=400),
    ("POST", "/admin/comuni/{slug}/inviti/annulla"): admin_page(400, (A, S, P), "POST", foreign_ok=400),
    ("GET", "/admin/comuni/{slug}/registro"): admin_page(200, (A, P), foreign_ok=200),
    # The Comune's API keys: its administrators and the platform's (an empty form names no label,
    # and no key to revoke: 400).
    ("GET", "/admin/comuni/{slug}/chiavi"): admin_page(200, (A, P), foreign_ok=200),
    ("POST", "/admin/comuni/{slug}/chiavi"): admin_page(400, (A, P), "POST", foreign_ok=400),
    ("POST", "/admin/comuni/{slug}/chiavi/revoca"): admin_page(400, (A, P), "POST", foreign_ok=400),
    ("GET", "/admin/registro"): admin_page(200, (P,)),
}

STATIC_FILES = {
    "/static/vendor/bootstrap-italia/{path}": "css/bootstrap-italia.min.css",
    "/static/vendor/htmx/{path}": "htmx.min.js",
    "/static/{path}": "app.css",
}


def collected_routes(gw: Gateway, platform: Platform) -> set[tuple[str, str]]:
    """(method, path template) of every route the applications declare."""
    found: set[tuple[str, str]] = set()
    apps = [platform.app(name).routes for name in BUSINESS_SERVICES] + [gw.router.routes]
    for routes in apps:
        for route in routes:
            if isinstance(route, Route):
                found |= {(m, route.path) for m in route.methods or () if m != "HEAD"}
            elif isinstance(route, Mount):
                found.add(("GET", f"{route.path}/{{path}}"))
            else:
                found.add(("?", repr(route)))
    return found


@dataclass(frozen=True)
class World:
    gw: Gateway
    own: str
    foreign: str
    people: dict[str, Person]
    api_key: str
    foreign_api_key: str
    ids: dict[str, str]


def concrete(path: str, slug: str, ids: dict[str, str]) -> str:
    values = {"tenant": slug, "slug": slug, "path": STATIC_FILES.get(path, ""), "provider": "nessuno"}
    values["nav"] = notice_number("01", 0)  # well formed, never issued (numbering starts at 1)
    values["token"] = "nonvalido"  # a public link the platform never signed
    values["revenue_type"] = "IRPEF"  # not a revenue type of ours
    for name in ("batch_id", "debtor_id", "position_id", "report_id", "contact_id", "plan_id"):
        values[name] = ids.get(name, str(uuid.UUID(int=0x5EED)))
    values.update(
        item_id=str(uuid.UUID(int=0x5EED)),
        payment_id=str(uuid.UUID(int=0x5EED)),
        attachment_id=str(uuid.UUID(int=0x5EED)),
        case_id=str(uuid.UUID(int=0x5EED)),
        act_id=str(uuid.UUID(int=0x5EED)),
        evidence_id=str(uuid.UUID(int=0x5EED)),
        digest_id=str(uuid.UUID(int=0x5EED)),
        job_id=str(uuid.UUID(int=0x5EED)),
        rendiconto_id=str(uuid.UUID(int=0x5EED)),
        operator=str(uuid.UUID(int=0x5EED)),
        kind="receipts",
        sha256="0" * 64,
    )
    return path.format(**values)


def cells(expect: Expect) -> Iterator[tuple[str, str, int]]:
    """(who, where, expected status) for one route."""
    for role in SESSION_ROLES:
        yield role, "own", expect.own[role]
        if expect.foreign is not None:
            yield role, "foreign", expect.foreign[role]
    yield "anonymous", "own", expect.anonymous
    yield "api", "own", expect.api
    if expect.api_foreign is not None:
        yield "api", "foreign", expect.api_foreign


async def request(world: World, method: str, path: str, who: str, where: str) -> int:
    slug = world.own if where == "own" else world.foreign
    url = concrete(path, slug, world.ids)
    headers: dict[str, str] = {}
    async with client(world.gw) as c:
        if who in world.people:
            headers["x-csrf-token"] = await sign_in(world.gw, c, world.people[who])
        elif who == "api":
            headers["x-api-key"] = world.api_key if where == "own" else world.foreign_api_key
        response = await c.request(method, url, headers=headers)
    return response.status_code


async def _own_resources(gw: Gateway, key: str) -> dict[str, str]:
    """A real batch and a real report of the own Comune, so allowed roles reach actual pages."""
    async with client(gw) as c:
        headers = {"x-api-key": key}
        csv = b"codice_fiscale;nominativo;tributo;anno;numero_atto;importo\n"
        batch = await c.post(f"{IB}", headers=headers, files={"file": ("crediti.csv", csv, "text/csv")})
        period = {"kind": "final", "period_from": "2026-01-01", "period_to": "2026-03-31"}
        report = await c.post("/api/v1/reporting/reports", headers=headers, json=period)
    assert batch.status_code == 202 and report.status_code == 202, (batch.text, report.text)
    return {"batch_id": batch.json()["id"], "report_id": report.json()["id"]}


@pytest.mark.asyncio
async def test_every_route_has_an_expectation(platform: Platform) -> None:
    gw = build_gateway(platform)
    routes = collected_routes(gw, platform)
    missing = sorted(routes - MATRIX.keys())
    assert not missing, f"routes without a line in MATRIX: {missing}"
    stale = sorted(MATRIX.keys() - routes)
    assert not stale, f"MATRIX lines for routes that no longer exist: {stale}"


@pytest.mark.asyncio
async def test_authorization_matrix(platform: Platform) -> None:
    own, foreign = await make_tenant(platform, "proprio"), await make_tenant(platform, "altrui")
    people = {role: await make_person(platform, {own.id: role}) for role in SESSION_ROLES}
    key = await issue_dev_api_key(platform.databases["gateway"], own.id)
    foreign_key = await issue_dev_api_key(platform.databases["gateway"], foreign.id)
    gw = build_gateway(platform)
    world = World(gw, own.slug, foreign.slug, people, key, foreign_key, await _own_resources(gw, key))
    wrong: list[str] = []
    for (method, path), expect in sorted(MATRIX.items()):
        if (method, path) not in collected_routes(gw, platform):
            continue  # reported by test_every_route_has_an_expectation
        for who, where, status in cells(expect):
            got = await request(world, method, path, who, where)
            if got != status:
                wrong.append(f"{method} {path} as {who} on {where} Comune: expected {status}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_the_matrix_names_every_role() -> None:
    for key, expect in MATRIX.items():
        assert set(expect.own) == set(SESSION_ROLES), key
        assert expect.foreign is None or set(expect.foreign) == set(SESSION_ROLES), key
