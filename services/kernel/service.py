"""What each service declares to the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from starlette.routing import BaseRoute

from services.kernel.messaging import Consumer
from services.kernel.web import ServiceContext

ConsumerFactory = Callable[[ServiceContext], tuple[Consumer, ...]]


def static_consumers(*consumers: Consumer) -> ConsumerFactory:
    """For consumers that need nothing but the unit of work they are given."""
    return lambda ctx: consumers


@dataclass(frozen=True)
class ServiceSpec:
    """A service: its schema's tables, its routes (served by `kernel.web.service_app`), its consumers."""

    name: str
    metadata: sa.MetaData
    routes: Callable[[], list[BaseRoute]]
    # Consumers are built from the service's context, so a handler can reach e.g. object storage.
    consumers: ConsumerFactory = field(default_factory=static_consumers)
