"""The `riscossa` commands that repair the flow of events: `dlq list|show|replay` (the consumers'
dead-letter queues, audited) and `replay reporting` (the reporting projections rebuilt from the
events they were built from)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from services.kernel.settings import Settings
from services.platform import Platform


def add_parsers(sub: Any) -> None:
    """The commands' arguments, on the `riscossa` parser's subcommands."""
    dead = sub.add_parser("dlq", help="the consumers' dead-letter queues: list, show, replay (audited)")
    dead.add_argument("action", choices=("list", "show", "replay"))
    dead.add_argument("consumer", nargs="?", help="a consumer's name, as `dlq list` prints it")
    dead.add_argument("--payload", action="store_true", help="show: print each message's content")
    dead.add_argument("--message", action="append", help="replay: only this message id (repeatable)")
    replay = sub.add_parser("replay", help="rebuild a service's projections from the events it logged")
    replay.add_argument("service", choices=("reporting",))
    replay.add_argument("--tenant", action="append", help="only this Comune, by slug (repeatable)")


def commands(
    args: argparse.Namespace, settings: Callable[[], Settings]
) -> dict[str, Callable[[], Coroutine[Any, Any, None]]]:
    """The coroutine of each command, given the parsed arguments."""
    if args.command == "dlq":
        return {"dlq": lambda: cmd_dlq(settings, args.action, args.consumer, args.payload, args.message)}
    if args.command == "replay":
        return {"replay": lambda: cmd_replay(settings, args.service, args.tenant)}
    return {}


async def cmd_dlq(
    settings_of: Callable[[], Settings],
    action: str,
    consumer: str | None,
    payload: bool,
    messages: list[str] | None,
) -> None:
    """`riscossa dlq list|show|replay`: see `services.dlq`."""
    from services import dlq

    settings = settings_of()
    platform = await Platform.open(settings)
    try:
        if action == "list":
            for name, count in await dlq.listing(platform):
                print(f"{name:40} {count}")
            return
        if consumer is None:
            sys.exit(f"riscossa dlq {action}: name the consumer (riscossa dlq list shows them)")
        try:
            if action == "show":
                letters = await dlq.show(platform, consumer, payload)
            else:
                letters = await dlq.replay(platform, consumer, messages)
        except dlq.UnknownConsumer as exc:
            sys.exit(str(exc))
        for letter in letters:
            print("\n".join(letter.lines(payload and action == "show")))
        print(f"{len(letters)} {'replayed' if action == 'replay' else 'dead letters'}")
    finally:
        await platform.close()


async def cmd_replay(settings_of: Callable[[], Settings], service: str, tenants: list[str] | None) -> None:
    """`riscossa replay reporting [--tenant SLUG]...`: rebuild the reporting projections from the events
    they were built from (every Comune, or those named by slug)."""
    from gateway.repository import list_tenants
    from services.replay import replay_reporting

    settings = settings_of()
    platform = await Platform.open(settings)
    try:
        only = None
        if tenants:
            async with platform.databases["gateway"].unit_of_work(None) as uow:
                by_slug = {t.slug: t.id for t in await list_tenants(uow)}
            unknown = sorted(set(tenants) - set(by_slug))
            if unknown:
                sys.exit(f"replay {service}: unknown Comune {', '.join(unknown)}")
            only = [by_slug[slug] for slug in tenants]
        for tenant_id, count in (await replay_reporting(platform, only)).items():
            print(f"{tenant_id}: {count} events replayed", flush=True)
    finally:
        await platform.close()
