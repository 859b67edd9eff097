"""`POST /api/v1/payments/plans/{plan_id}/extension`: the one extension of a plan (c.798)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.kernel.db import UnitOfWork
from services.kernel.errors import DomainError, NotFound
from services.kernel.identity import Identity
from services.kernel.web import endpoint, json_object
from services.payments import handlers_lapse
from services.payments.domain_lapse import ROME
from services.payments.domain_simulation import schedule_json

# As for granting a plan.
PLAN_ROLES = ("api", "operator", "supervisor", "platform_admin")


def _extension(body: dict[str, Any]) -> tuple[int, str, date | None]:
    installments, reason, first_due = body.get("installments"), body.get("reason"), body.get("first_due_date")
    if type(installments) is not int or installments <= 0:
        raise DomainError("«installments» deve essere un numero intero positivo.", field="installments")
    if not isinstance(reason, str):
        raise DomainError(
            "«reason»: indica il peggioramento della situazione del contribuente che motiva la proroga.",
            field="reason",
        )
    if first_due is None:
        return installments, reason, None
    try:
        return installments, reason, date.fromisoformat(str(first_due))
    except ValueError:
        raise DomainError(
            f"«{str(first_due)[:20]}» non è una data valida per «Prima scadenza» (first_due_date: aaaa-mm-gg).",
            field="first_due_date",
        ) from None


@endpoint(*PLAN_ROLES)
async def extend_plan_api(request: Request, ident: Identity, uow: UnitOfWork) -> Response:
    try:
        plan_id = uuid.UUID(request.path_params["plan_id"])
    except ValueError:
        raise NotFound("Piano di rateizzazione non trovato.") from None
    installments, reason, first_due = _extension(await json_object(request))
    today = datetime.now(ROME).date()
    extended = await handlers_lapse.extend_plan(uow, ident, plan_id, installments, reason, today, first_due)
    body = {
        "plan_id": str(extended.plan_id),
        "residual_principal_cents": extended.residual_principal_cents,
        "installments_before": extended.installments_before,
        "installments_after": extended.installments_after,
        "schedule": schedule_json(extended.schedule),
    }
    return JSONResponse(body, status_code=201)


def routes() -> list[BaseRoute]:
    return [Route("/api/v1/payments/plans/{plan_id}/extension", extend_plan_api, methods=["POST"])]
