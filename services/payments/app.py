"""The payments service: what it declares to the composition root."""

from __future__ import annotations

from services.kernel.service import ServiceSpec, static_consumers
from services.payments import models, web
from services.payments.consumers import balances

SERVICE = ServiceSpec(
    name="payments", metadata=models.metadata, routes=web.routes, consumers=static_consumers(balances)
)
