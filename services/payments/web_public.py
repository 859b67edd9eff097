"""The taxpayer's public page and its notices' PDFs, reached by a signed link with no login.

The gateway forwards `/avvisi/...` here with the "public" identity, after its per-address rate
limit. The link's token is the only credential: it names the Comune whose unit of work is opened,
the debtor and what may be shown. An altered token gets 400, an expired one 410, both in Italian.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.kernel.errors import NotFound
from services.kernel.logs import correlation_var
from services.kernel.roles import PUBLIC_ROLE
from services.kernel.web import ctx, require_role, templates_for
from services.payments import handlers_delivery, handlers_public, pdf_notice
from services.payments.domain_links import LinkExpired, LinkGrant, LinkRefused, verify
from services.payments.domain_notices import is_valid_notice_number

templates = templates_for(Path(__file__).parent)
PRIVATE_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
}


class _Refusal(Exception):
    def __init__(self, status: int, title: str, text: str) -> None:
        self.status, self.title, self.text = status, title, text


def _grant(request: Request) -> LinkGrant:
    require_role(request, PUBLIC_ROLE)
    token = request.path_params["token"]
    try:
        return verify(token, ctx(request).settings.secret_key, datetime.now(UTC))
    except LinkExpired:
        raise _Refusal(
            410,
            "Collegamento scaduto",
            "Questo collegamento è scaduto. Chieda al Comune un nuovo invio degli avvisi di pagamento.",
        ) from None
    except LinkRefused:
        raise _Refusal(
            400,
            "Collegamento non valido",
            "Questo collegamento non è valido: potrebbe essere stato copiato in modo incompleto o "
            "modificato. Usi il collegamento ricevuto dal Comune così com'è.",
        ) from None


def _refused(request: Request, refusal: _Refusal) -> Response:
    context = {"title": refusal.title, "text": refusal.text}
    response = templates.TemplateResponse(
        request, "public_refused.html", {"identity": None, **context}, status_code=refusal.status
    )
    response.headers.update(PRIVATE_HEADERS)
    return response


async def public_page(request: Request) -> Response:
    try:
        grant = _grant(request)
    except _Refusal as refusal:
        return _refused(request, refusal)
    work = functools.partial(handlers_public.public_view, grant=grant)
    view = await ctx(request).db.run(grant.tenant_id, work, correlation_var.get() or "")
    # The link's last day, as its message said it (the page did not).
    valid_until = handlers_delivery.last_day(grant.expires_at)
    context = {
        "identity": None,
        "view": view,
        "token": request.path_params["token"],
        "valid_until": valid_until,
    }
    response = templates.TemplateResponse(request, "public_notice.html", context)
    response.headers.update(PRIVATE_HEADERS)
    return response


async def public_pdf(request: Request) -> Response:
    try:
        grant = _grant(request)
    except _Refusal as refusal:
        return _refused(request, refusal)
    nav = request.path_params["nav"]
    if not is_valid_notice_number(nav):
        raise NotFound("Avviso non trovato.")
    work = functools.partial(handlers_public.public_notice, grant=grant, nav=nav)
    notice = await ctx(request).db.run(grant.tenant_id, work, correlation_var.get() or "")
    # Rendered after the commit: no connection is held meanwhile.
    body = await asyncio.to_thread(pdf_notice.render, notice)
    headers = {**PRIVATE_HEADERS, "Content-Disposition": f'attachment; filename="avviso-{nav}.pdf"'}
    return Response(body, media_type="application/pdf", headers=headers)


def routes() -> list[BaseRoute]:
    return [
        Route("/avvisi/{token}", public_page, methods=["GET"]),
        Route("/avvisi/{token}/pdf/{nav}", public_pdf, methods=["GET"]),
    ]
