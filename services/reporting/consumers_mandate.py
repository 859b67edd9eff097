"""`reporting.mandate`: the reporting service's own erasure, the payments service's handover files,
and every service's erasure report (then the certificate). It handles events of a Comune whose data
is erased already (`after_erasure`): the reports arrive after reporting erased its own."""

from __future__ import annotations

from services.contracts_mandate import ERASED_EVENTS, ErasureRequested, HandoverReady, TenantErased
from services.kernel.db import UnitOfWork
from services.kernel.envelope import Envelope
from services.kernel.messaging import Consumer, EventHandler
from services.kernel.web import ServiceContext
from services.reporting import handlers_mandate as handlers

NAME = "reporting.mandate"


def mandate(ctx: ServiceContext) -> Consumer:
    async def on_erasure(uow: UnitOfWork, envelope: Envelope) -> None:
        ErasureRequested.from_envelope(envelope)
        await handlers.erase_own(uow, ctx.db, ctx.storage, envelope.tenant_id)

    async def on_handover(uow: UnitOfWork, envelope: Envelope) -> None:
        event = HandoverReady.from_envelope(envelope)
        await handlers.handover_ready(uow, envelope.tenant_id, "payments", event.file_list())

    def on_erased(kind: type[TenantErased]) -> EventHandler:
        async def handle(uow: UnitOfWork, envelope: Envelope) -> None:
            report = kind.from_envelope(envelope).report()
            await handlers.service_erased(
                uow, envelope.tenant_id, report, ctx.storage, ctx.settings.secret_key
            )

        return handle

    routes: dict[str, EventHandler] = {
        ErasureRequested.routing_key(): on_erasure,
        HandoverReady.routing_key(): on_handover,
    }
    routes.update({kind.routing_key(): on_erased(kind) for kind in ERASED_EVENTS.values()})
    # One Comune's events one at a time: the four reports must not each miss the others'.
    return Consumer(name=NAME, handlers=routes, serialize_per_tenant=True, after_erasure=True)
