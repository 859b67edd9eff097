"""Views of the digests for the Ufficio tributi: the list with downloads, the schedule and the
office's addresses, «Invia ora»."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.web import AfterCommit, ctx, endpoint, is_htmx, page, stored_download
from services.reporting import domain_digest, handlers_digests
from services.reporting.domain import SENDING_LEASE
from services.reporting.web import templates

READERS = ("comune_viewer", "comune_admin", "supervisor", "platform_admin")
ADMINS = ("comune_admin",)
STATUS_LABELS = {
    "sent": "Inviato",
    "kept": "Non inviato: nessun server di posta configurato",
    "failed": "Invio non riuscito",
    "sending": "In invio",
}


def _today(request: Request) -> date:
    return ctx(request).clock().astimezone(domain_digest.ROME).date()


async def _context(uow: UnitOfWork, who: Identity, now: datetime, **extra: Any) -> dict[str, Any]:
    seen = await handlers_digests.overview(uow, who, now.astimezone(domain_digest.ROME).date())
    return {
        "seen": seen,
        "periods": domain_digest.PERIOD_LABELS,
        "weekdays": domain_digest.WEEKDAYS,
        "max_days": domain_digest.MAX_EVERY_DAYS,
        "statuses": STATUS_LABELS,
        # A digest still `sending` past the lease was left by a run that died (not retried by hand).
        "stale_before": now - SENDING_LEASE,
        "can_manage": who.has_role(*ADMINS),
        **extra,
    }


@endpoint(*READERS)
async def digests_page(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    return page(templates, request, "digests.html", await _context(uow, who, ctx(request).clock()))


@endpoint(*ADMINS)
async def save_settings(request: Request, who: Identity, uow: UnitOfWork) -> Response:
    form = await request.form()
    names = ("periodo", "giorno", "ogni_giorni", "indirizzi")
    raw = tuple(str(form.get(name, "")) for name in names)
    try:
        await handlers_digests.save_settings(uow, who, (raw[0], raw[1], raw[2], raw[3]), _today(request))
    except DomainError as refused:  # said at its field, the form kept as typed; nothing written
        if not is_htmx(request):
            raise
        typed = dict(zip(names, raw, strict=True))
        context = await _context(uow, who, ctx(request).clock(), typed=typed, refused=refused)
        return page(templates, request, "digests.html", context, block="digest_settings", status_code=400)
    if not is_htmx(request):
        return RedirectResponse(f"/t/{who.tenant_slug}/reporting/riepiloghi", status_code=303)
    context = await _context(uow, who, ctx(request).clock(), saved=True, oob_schedule=True)
    return page(templates, request, "digests.html", context, block="digest_settings")


@endpoint(*ADMINS)
async def send_now(request: Request, who: Identity, uow: UnitOfWork) -> Response | AfterCommit:
    """The digest is recorded first; it is e-mailed once that committed, then the list is shown."""
    sender = handlers_digests.Sender.of(ctx(request))
    now = ctx(request).clock()
    today = now.astimezone(domain_digest.ROME).date()
    confirmed = (await request.form()).get("conferma") == "1"
    again = await handlers_digests.sent_today(uow, who, today)
    if again is not None and not confirmed:  # nothing new since today's: asked, nothing made
        context = await _context(uow, who, now, again=again)
        return page(templates, request, "digests.html", context, block="digest_list")
    try:
        outgoing = await handlers_digests.send_now(uow, sender, who, today, repeat=again)
    except DomainError as refused:
        if not is_htmx(request):
            raise
        # In the list it replaces, which stays (and with it the form's target for the next press).
        context = await _context(uow, who, now, refused_send=refused)
        return page(templates, request, "digests.html", context, block="digest_list", status_code=400)

    async def respond() -> Response:
        await handlers_digests.deliver(sender, outgoing)
        if not is_htmx(request):
            return RedirectResponse(f"/t/{who.tenant_slug}/reporting/riepiloghi", status_code=303)

        async def listed(fresh: UnitOfWork) -> dict[str, Any]:
            record = await handlers_digests.digest_record(fresh, who, outgoing.digest_id)
            return await _context(fresh, who, now, just_sent=record, oob_schedule=True)

        context = await sender.db.run(who.tenant_id, listed)
        return page(templates, request, "digests.html", context, block="digest_list")

    return AfterCommit(respond)


# The digest names the debtors whose cases wait: every download is recorded.
@endpoint(*READERS)
async def download(request: Request, who: Identity, uow: UnitOfWork) -> AfterCommit:
    try:
        digest_id = uuid.UUID(request.path_params["digest_id"])
    except ValueError:
        raise NotFound() from None
    record = await handlers_digests.open_digest(uow, ctx(request).storage, who, digest_id)
    name = f"riepilogo-{record.period.start:%Y%m%d}-{record.period.end:%Y%m%d}.pdf"
    return stored_download(request, who.tenant_id, record.object_key, name, "application/pdf")


def routes() -> list[BaseRoute]:
    web = "/t/{tenant}/reporting/riepiloghi"
    return [
        Route(web, digests_page, methods=["GET"]),
        Route(f"{web}/impostazioni", save_settings, methods=["POST"]),
        Route(f"{web}/invia", send_now, methods=["POST"]),
        Route(f"{web}/{{digest_id}}/pdf", download, methods=["GET"]),
    ]
