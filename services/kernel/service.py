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
