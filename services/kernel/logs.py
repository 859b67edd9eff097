"""JSON logs carrying the tenant and correlation id of the work in progress."""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

tenant_var: ContextVar[str | None] = ContextVar("tenant_id", default=None)
correlation_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
# The name of the person the request acts for (what the access log keeps beside their id).
user_name_var: ContextVar[str] = ContextVar("user_name", default="")


def new_correlation_id() -> str:
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "tenant_id": tenant_var.get(),
            "correlation_id": correlation_var.get(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiormq").setLevel("WARNING")
    logging.getLogger("aio_pika").setLevel("WARNING")
    logging.getLogger("botocore").setLevel("WARNING")
    logging.getLogger("pgserver").setLevel("WARNING")


class Clock:
    """Phase timings for the log: `lap` records the time since the previous lap under `name`
    (added to what it has with `add`)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str, add: bool = False) -> None:
        now = time.perf_counter()
        key = f"{name}_s"
        self.laps[key] = round(now - self.last + (self.laps.get(key, 0.0) if add else 0.0), 2)
        self.last = now
