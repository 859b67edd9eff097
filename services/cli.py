"""The `riscossa` command: dev, serve, worker, relay, migrate, seed-demo, payments-daily,
contact-daily, reporting-daily, dlq, replay, and the registry's commands of `services.cli_ops`
(tenant, apikey, gateway-purge)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import httpx
import uvicorn
import uvloop

from services import cli_ops, cli_repair
from services.kernel import logs, tracing
from services.kernel.embedded import start_embedded_postgres
from services.kernel.health import HealthServer
from services.kernel.messaging import METRICS_EVERY_SECONDS, measure_queues
from services.kernel.metrics import every, serve_metrics
from services.kernel.migrate import migrate_settings
from services.kernel.settings import Settings, with_generated_secret
from services.kernel.watchdog import Watchdog, ended, exit_stuck
from services.platform import ALL_SCHEMAS, BUSINESS_SERVICES, Platform

log = logging.getLogger("riscossa")


def _settings(embedded_db: bool) -> tuple[Settings, Any]:
    settings = with_generated_secret(Settings.from_env())
    server = None
    if embedded_db and settings.uses_embedded_database:
        server, url = start_embedded_postgres(settings.data_dir)
        settings = replace(settings, database_url=url)
    if not settings.database_url:
        sys.exit("RISCOSSA_DATABASE_URL is not set (and the embedded database is only for dev).")
    settings.check()
    return settings, server


def build_gateway(platform: Platform, remote: bool = False) -> Any:
    from gateway.app import Gateway
    from gateway.proxy import AsgiUpstream, HttpUpstream, Upstream

    upstreams: dict[str, Upstream] = {}
    for name in BUSINESS_SERVICES:
        if remote:
            url = platform.settings.service_urls.get(name)
            if not url:
                sys.exit(f"RISCOSSA_{name.upper()}_URL is required to serve the gateway alone.")
            upstreams[name] = HttpUpstream(url)
        else:
            upstreams[name] = AsgiUpstream(platform.app(name))
    return Gateway(
        platform.settings,
        platform.databases["gateway"],
        platform.signer,
        platform.storage,
        platform.bus,
        upstreams,
    )


async def _until_signal(watchdog: Watchdog | None = None) -> str | None:
    """Until SIGINT or SIGTERM (None) or, with a watchdog, until it finds the process stuck (why)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if watchdog is not None:
        return await watchdog.watch(stop)
    await stop.wait()
    return None


class _Server(uvicorn.Server):
    """Stops on SIGINT/SIGTERM without re-raising the signal, so the caller can shut down cleanly
    (finish in-flight messages, stop relays, close connections) and exit 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


async def _serve(app: Any, settings: Settings) -> None:
    # Behind a reverse proxy, the client address (rate limits, audit log) comes from X-Forwarded-For,
    # trusted only from the proxies listed in RISCOSSA_TRUSTED_PROXIES (none by default).
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        lifespan="off",
        timeout_graceful_shutdown=10,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
    )
    await _Server(config).serve()


def _observed(settings: Settings, process: str) -> None:
    """Metrics on `RISCOSSA_METRICS_PORT`, traces to `RISCOSSA_TRACES_ENDPOINT` (both off unset)."""
    serve_metrics(settings.metrics_port)
    tracing.configure(process, settings.traces_endpoint)


async def cmd_dev() -> None:
    settings, server = _settings(embedded_db=True)
    _observed(settings, "dev")
    try:
        await migrate_settings(settings, list(ALL_SCHEMAS))
        platform = await Platform.open(settings)
        from gateway.seed import issue_dev_api_key, seed_demo
        from services.payments.seed import seed_creditors

        tenants = await seed_demo(platform.databases["gateway"])
        await seed_creditors(platform.databases["payments"], tenants)
        keys = {
            slug: await issue_dev_api_key(platform.databases["gateway"], tid) for slug, tid in tenants.items()
        }
        await platform.start_workers()
        stop = asyncio.Event()
        relays = [asyncio.create_task(platform.relay(s).run(stop)) for s in BUSINESS_SERVICES]
        relays.append(asyncio.create_task(_daily_loop(platform, stop)))
        gateway = build_gateway(platform)
        relays.append(asyncio.create_task(gateway.sessions_store.purge_periodically(stop)))
        await _upload_demo_credits(settings, gateway, keys)
        for slug, key in keys.items():
            print(f"API key for {slug}: {key}", flush=True)
        print(f"Riscossa is running on {settings.public_base_url} (Ctrl+C to stop)", flush=True)
        try:
            await _serve(gateway, settings)
        finally:
            stop.set()
            await asyncio.gather(*relays, return_exceptions=True)
            await platform.close()
    finally:
        if server is not None:
            with contextlib.suppress(Exception):
                server.cleanup()


async def _upload_demo_credits(settings: Settings, gateway: Any, keys: dict[str, str]) -> None:
    """First start only: upload a demo credits file per tenant through the public API."""
    from gateway.seed import demo_csv

    marker = settings.data_dir / "demo-credits-uploaded"
    if marker.exists():
        return
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for i, (slug, key) in enumerate(sorted(keys.items())):
            response = await client.post(
                "/api/v1/ingest/batches",
                headers={"authorization": f"Bearer {key}"},
                files={"file": (f"demo-{slug}.csv", demo_csv(seed=i + 1), "text/csv")},
            )
            if response.status_code >= 300:
                log.warning(
                    "demo upload failed", extra={"fields": {"tenant": slug, "status": response.status_code}}
                )
                return
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("ok\n")


async def cmd_serve(service: str) -> None:
    settings, _ = _settings(embedded_db=False)
    _observed(settings, service)
    platform = await Platform.open(settings)
    try:
        if service == "gateway":
            gateway = build_gateway(platform, remote=True)
            stop = asyncio.Event()
            # Ended sessions and abandoned logins are deleted every 10 minutes (`gateway-purge` for cron).
            purging = asyncio.create_task(gateway.sessions_store.purge_periodically(stop))
            try:
                await _serve(gateway, settings)
            finally:
                stop.set()
                await purging
            await gateway.close()
        else:
            await _serve(platform.app(service), settings)
    finally:
        await platform.close()


async def _daily_loop(
    platform: Platform, stop: asyncio.Event, services: tuple[str, ...] | None = None
) -> None:
    from services.jobs import DAILY_RUNS, daily_loop

    await daily_loop(platform, stop, services or tuple(DAILY_RUNS))


async def cmd_worker(service: str) -> None:
    settings, _ = _settings(embedded_db=False)
    _observed(settings, f"{service}-worker")
    platform = await Platform.open(settings)
    await platform.start_workers((service,))
    stop = asyncio.Event()
    queues = platform.queue_names((service,))
    depths = asyncio.create_task(
        every(METRICS_EVERY_SECONDS, functools.partial(measure_queues, platform.bus, queues), stop)
    )
    # The payments, contact and reporting workers also run their daily run (06:00 Europe/Rome);
    # `payments-daily`, `contact-daily` and `reporting-daily` are for cron.
    daily = (
        asyncio.create_task(_daily_loop(platform, stop, (service,)))
        if service in ("payments", "contact", "reporting")
        else None
    )
    watchdog = Watchdog({"broker connection lost": platform.bus.lost_since}, settings.stuck_seconds)
    health = HealthServer(
        settings.health_port,
        {"database": platform.databases[service].ping, "broker": platform.bus.ping},
        alive=watchdog.check,
    )
    await health.start()
    log.info("worker started", extra={"fields": {"service": service}})
    if (why := await _until_signal(watchdog)) is not None:
        exit_stuck(why, f"{service}-worker")
    log.info("worker stopping: finishing in-flight messages")
    stop.set()
    if daily is not None:
        await daily
    await depths
    await platform.close()
    await health.stop()


async def cmd_daily(service: str, day: str | None) -> None:
    """One daily run of `service` for every Comune (for cron); `day` defaults to today in Europe/Rome."""
    from services.jobs import DAILY_RUNS, ROME

    try:
        today = date.fromisoformat(day) if day else datetime.now(ROME).date()
    except ValueError:
        sys.exit(f"--date: not a date (YYYY-MM-DD): {day}")
    settings, _ = _settings(embedded_db=False)
    platform = await Platform.open(settings)
    try:
        done = await DAILY_RUNS[service](platform, today)
        for tenant_id, report in done.items():
            print(f"{tenant_id}: {report}", flush=True)
    finally:
        await platform.close()


async def cmd_relay(service: str) -> None:
    settings, _ = _settings(embedded_db=False)
    _observed(settings, f"{service}-relay")
    platform = await Platform.open(settings)
    stop = asyncio.Event()
    relay = platform.relay(service)
    task = asyncio.create_task(relay.run(stop))
    watchdog = Watchdog(
        {
            "outbox relay ended": ended(task),
            "every outbox publish failing": lambda: relay.failing_since,
            "one outbox batch not finishing": lambda: relay.batch_since,
            "broker connection lost": platform.bus.lost_since,
        },
        settings.stuck_seconds,
    )
    # The relay's database check reads its outbox with its own role (and refreshes the backlog gauges).
    health = HealthServer(
        settings.health_port,
        {"database": relay.measure_backlog, "broker": platform.bus.ping},
        alive=watchdog.check,
    )
    await health.start()
    if (why := await _until_signal(watchdog)) is not None:
        exit_stuck(why, f"{service}-relay")
    stop.set()
    await task
    await platform.close()
    await health.stop()


async def cmd_migrate() -> None:
    settings, server = _settings(embedded_db=True)
    if settings.mode == "production" and (weak := settings.default_db_passwords()):
        sys.exit(
            f"migrate: no password for the roles {', '.join(weak)} (RISCOSSA_DB_PASSWORD_<ROLE> or RISCOSSA_APP_DB_PASSWORD)"
        )
    await migrate_settings(settings, list(ALL_SCHEMAS))
    print("migrations applied")
    if server is not None:
        server.cleanup()


async def cmd_seed_demo() -> None:
    settings, server = _settings(embedded_db=True)
    from gateway.seed import seed_demo
    from services.payments.seed import seed_creditors

    await migrate_settings(settings, list(ALL_SCHEMAS))
    platform = await Platform.open(settings)
    try:
        tenants = await seed_demo(platform.databases["gateway"])
        await seed_creditors(platform.databases["payments"], tenants)
        print("demo tenants: " + ", ".join(sorted(tenants)))
    finally:
        await platform.close()
        if server is not None:
            server.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="riscossa", description="Riscossa platform")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dev", help="gateway and all services in one process on embedded defaults")
    for name in ("serve", "worker", "relay"):
        choices = ("gateway", *BUSINESS_SERVICES) if name == "serve" else BUSINESS_SERVICES
        sub.add_parser(name).add_argument("service", choices=choices)
    sub.add_parser("migrate", help="create roles and schemas and apply every migration")
    sub.add_parser("seed-demo", help="create the demo tenants and users")
    for name, what in (
        ("payments", "reminders, lapses"),
        ("contact", "broken promises"),
        ("reporting", "digests to the Ufficio tributi"),
    ):
        daily = sub.add_parser(f"{name}-daily", help=f"the {name} daily run ({what}) for every Comune")
        daily.add_argument("--date", help="the day to run for, YYYY-MM-DD (default: today in Europe/Rome)")
    cli_repair.add_parsers(sub)
    cli_ops.add_parsers(sub)
    args = parser.parse_args(argv)
    logs.configure(Settings.from_env().log_level)
    commands: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
        "dev": cmd_dev,
        "serve": lambda: cmd_serve(args.service),
        "worker": lambda: cmd_worker(args.service),
        "relay": lambda: cmd_relay(args.service),
        "migrate": cmd_migrate,
        "seed-demo": cmd_seed_demo,
        "payments-daily": lambda: cmd_daily("payments", args.date),
        "contact-daily": lambda: cmd_daily("contact", args.date),
        "reporting-daily": lambda: cmd_daily("reporting", args.date),
        **cli_repair.commands(args, lambda: _settings(embedded_db=False)[0]),
        **cli_ops.commands(args, lambda: _settings(embedded_db=False)[0]),
    }
    uvloop.run(commands[args.command]())  # a loop in C: uvicorn picks it only in its own `run`


if __name__ == "__main__":
    main()
