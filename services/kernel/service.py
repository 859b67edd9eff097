"""What each service declares to the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from starlette.applications import Starlette

from services.kernel.messaging import Consumer
from services.kernel.web import ServiceContext


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    metadata: sa.MetaData
    create_app: Callable[[ServiceContext], Starlette]
    consumers: tuple[Consumer, ...] = field(default_factory=tuple)
    # For consumers that need more than the unit of work (e.g. object storage): builds them from the
    # service's context. `consumers` still declares the same names and keys for the queue topology.
    consumer_factory: Callable[[ServiceContext], tuple[Consumer, ...]] | None = None

    def bound_consumers(self, ctx: ServiceContext) -> tuple[Consumer, ...]:
        """The consumers to run, wired to the service's resources."""
        return self.consumer_factory(ctx) if self.consumer_factory is not None else self.consumers
