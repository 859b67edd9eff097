"""Composition root: builds the bus, storage, databases and apps from settings."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette

from services.kernel.bus import Bus, QueueSpec, Subscription
from services.kernel.bus_memory import InProcessBus
from services.kernel.bus_rabbit import RabbitBus
from services.kernel.db import Database
from services.kernel.identity import IdentitySigner
from services.kernel.mail import make_mailer
from services.kernel.messaging import Consumer, OutboxRelay, start_consumers
from services.kernel.migrate import app_role, migrate_settings, relay_role, role_url
from services.kernel.service import ServiceSpec
from services.kernel.settings import Settings
from services.kernel.storage import LocalStorage, ObjectStorage, S3Storage
from services.kernel.web import ServiceContext, service_app

log = logging.getLogger(__name__)
BUSINESS_SERVICES = ("ingest", "contact", "payments", "reporting")
ALL_SCHEMAS = ("gateway", *BUSINESS_SERVICES)


def service_specs() -> dict[str, ServiceSpec]:
    from services.contact.app import SERVICE as CONTACT
    from services.ingest.app import SERVICE as INGEST
    from services.payments.app import SERVICE as PAYMENTS
    from services.reporting.app import SERVICE as REPORTING

    return {s.name: s for s in (INGEST, CONTACT, PAYMENTS, REPORTING)}


def make_bus(settings: Settings) -> Bus:
    if settings.uses_rabbitmq:
        return RabbitBus(
            settings.amqp_url,
            settings.exchange,
            settings.max_retries,
            settings.retry_delay_ms,
            connect_wait_seconds=settings.broker_wait_seconds,
        )
    return InProcessBus(settings.max_retries, settings.retry_delay_ms)


def make_storage(settings: Settings) -> ObjectStorage:
    if settings.uses_s3:
        return S3Storage(
            settings.s3_endpoint,
            settings.s3_bucket,
            settings.s3_access_key,
            settings.s3_secret_key,
            settings.s3_region,
        )
    return LocalStorage(settings.storage_dir, settings.secret_key, settings.public_base_url)


@dataclass
class Platform:
    settings: Settings
    bus: Bus
    storage: ObjectStorage
    signer: IdentitySigner
    databases: dict[str, Database] = field(default_factory=dict)
    _apps: dict[str, Starlette] = field(default_factory=dict)
    _subscriptions: list[Subscription] = field(default_factory=list)
    # A service's clock (`ServiceContext.clock`) when tests freeze it: service name -> the moment.
    clocks: dict[str, datetime] = field(default_factory=dict)

    @classmethod
    async def open(cls, settings: Settings, run_migrations: bool = False) -> Platform:
        if run_migrations:
            await migrate_settings(settings, list(ALL_SCHEMAS))
        bus = make_bus(settings)
        await bus.start()
        storage = make_storage(settings)
        if isinstance(storage, S3Storage):
            await storage.ensure_bucket()
        platform = cls(
            settings, bus, storage, IdentitySigner(settings.secret_key, settings.identity_ttl_seconds)
        )
        from gateway.models import metadata as gateway_metadata

        metadatas: dict[str, Any] = {n: s.metadata for n, s in service_specs().items()}
        metadatas["gateway"] = gateway_metadata
        for name, metadata in metadatas.items():
            platform.databases[name] = Database(platform.app_url(name), metadata, settings.db_pool_size)
        await bus.declare(platform.topology())
        return platform

    def app_url(self, service: str) -> str:
        s = self.settings
        return role_url(s.database_url, app_role(service, s.role_prefix), s.db_password(service))

    def relay_url(self, service: str) -> str:
        s = self.settings
        return role_url(
            s.database_url, relay_role(service, s.role_prefix), s.db_password(service, relay=True)
        )

    def context(self, service: str) -> ServiceContext:
        return ServiceContext(
            service,
            self.settings,
            self.databases[service],
            self.bus,
            self.storage,
            self.signer,
            make_mailer(self.settings),
            lambda: self.clocks.get(service) or datetime.now(UTC),
        )

    def app(self, service: str) -> Starlette:
        if service not in self._apps:
            self._apps[service] = service_app(self.context(service), service_specs()[service].routes())
        return self._apps[service]

    def consumers(self, service: str) -> tuple[Consumer, ...]:
        return service_specs()[service].consumers(self.context(service))

    def topology(self) -> list[QueueSpec]:
        """Every consumer queue with its bindings, declared before anything is published."""
        return [
            c.queue(self.settings.queue_prefix) for name in BUSINESS_SERVICES for c in self.consumers(name)
        ]

    def relay(self, service: str) -> OutboxRelay:
        return OutboxRelay(self.relay_url(service), service, self.bus)

    async def start_workers(self, services: tuple[str, ...] = BUSINESS_SERVICES) -> None:
        specs = service_specs()
        for name in services:
            consumers = list(specs[name].consumers(self.context(name))) if name in specs else []
            self._subscriptions += await start_consumers(
                self.bus, self.databases[name], consumers, self.settings.queue_prefix
            )

    def queue_names(self, services: tuple[str, ...] = BUSINESS_SERVICES) -> list[str]:
        """The broker queues of these services' consumers (the metrics measure their depth)."""
        specs = service_specs()
        return [
            c.queue(self.settings.queue_prefix).name
            for name in services
            if name in specs
            for c in specs[name].consumers(self.context(name))
        ]

    async def stop_workers(self) -> None:
        await asyncio.gather(*(s.stop() for s in self._subscriptions))
        self._subscriptions.clear()

    async def close(self) -> None:
        await self.bus.drain(within_seconds=30)
        await self.stop_workers()
        await self.bus.close()
        for db in self.databases.values():
            await db.dispose()
