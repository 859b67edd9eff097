"""A digest or rendiconto left `sending` by a run that died between the commit of its claim and the
record of the outcome (the process killed) is claimed again by the next run once its lease
(`domain.SENDING_LEASE`) has passed, and sent once to the real test SMTP server; within the lease it
is not sent again, and of two concurrent runs past the lease only one sends it. The runs' clock is
the service context's, frozen here, so no test sleeps out the lease."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from services.kernel import daily as kernel_daily
from services.kernel.db import UnitOfWork
from services.kernel.identity import Identity
from services.kernel.mail import Mail
from services.kernel.web import ServiceContext
from services.platform import Platform
from services.reporting import daily, domain, handlers_aggio, handlers_digests
from tests.reporting.test_digest import sql
from tests.reporting.test_mail_after_commit import RENDICONTO_DAY, office, working
from tests.smtp_server import Inbox

CLAIMED = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)  # 06:00 in Rome, when the worker runs
WITHIN = CLAIMED + domain.SENDING_LEASE - timedelta(minutes=1)
PAST = CLAIMED + domain.SENDING_LEASE + timedelta(minutes=1)
# Backends whose lock waits for the transaction of the one asking (another run's claim, blocked).
BLOCKED_BY_US = (
    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pg_backend_pid() = ANY (pg_blocking_pids(pid)))"
)


class Killed(BaseException):
    """The process killed while talking to the mail server: nothing after it runs, no outcome recorded."""


class Dying:
    delivers = True

    async def send(self, mail: Mail) -> str:
        raise Killed()


def at(platform: Platform, moment: datetime, mailer: Any) -> ServiceContext:
    """The reporting service's context with its clock frozen at `moment`."""
    return dataclasses.replace(platform.context("reporting"), mailer=mailer, clock=lambda: moment)


async def states(platform: Platform, tenant_id: uuid.UUID) -> dict[str, tuple[str, int]]:
    rows = await sql(
        platform,
        tenant_id,
        "SELECT 'digest' AS kind, status, attempts FROM reporting.digests WHERE tenant_id = :t"
        " UNION ALL SELECT 'rendiconto', email_status, email_attempts"
        " FROM reporting.rendiconti WHERE tenant_id = :t",
        t=tenant_id,
    )
    return {r.kind: (r.status, r.attempts) for r in rows}


async def crashed(platform: Platform, tenant: Identity, steps: list[kernel_daily.Step]) -> str:
    """The office set up, then a daily run killed after its commit, on the first e-mail it sends."""
    to = await office(platform, tenant)
    with pytest.raises(Killed):
        await kernel_daily.run_daily(
            steps, at(platform, CLAIMED, Dying()), RENDICONTO_DAY, [tenant.tenant_id]
        )
    return to


@pytest.mark.asyncio
async def test_a_digest_and_a_rendiconto_left_sending_are_sent_once_by_the_next_run_past_the_lease(
    platform: Platform, tenant: Identity, smtp: Inbox
) -> None:
    to = await crashed(platform, tenant, list(daily.STEPS))
    stuck = {"digest": ("sending", 1), "rendiconto": ("sending", 1)}
    assert await states(platform, tenant.tenant_id) == stuck

    # Within the lease the run that claimed them might still be sending: nothing is sent again.
    early = await daily.run_daily(at(platform, WITHIN, working(smtp)), RENDICONTO_DAY, [tenant.tenant_id])
    assert early[tenant.tenant_id]["monthly_rendiconto"] == "done"
    assert early[tenant.tenant_id]["send_due_digest"].status == "already_sent"  # type: ignore[attr-defined]
    assert await states(platform, tenant.tenant_id) == stuck
    assert await smtp.wait_for(to, within=0.5) == []

    # Past it, the next run claims each again (one attempt more) and sends it.
    late = await daily.run_daily(at(platform, PAST, working(smtp)), RENDICONTO_DAY, [tenant.tenant_id])
    assert late[tenant.tenant_id]["monthly_rendiconto"] == "retried, e-mail sent"
    assert late[tenant.tenant_id]["send_due_digest"].status == "sent"  # type: ignore[attr-defined]
    assert await states(platform, tenant.tenant_id) == {"digest": ("sent", 2), "rendiconto": ("sent", 2)}

    # Sent is final: later runs, however late, send nothing more.
    later = at(platform, PAST + timedelta(days=1), working(smtp))
    again = await daily.run_daily(later, RENDICONTO_DAY + timedelta(days=1), [tenant.tenant_id])
    assert again[tenant.tenant_id]["monthly_rendiconto"] == "done"
    assert again[tenant.tenant_id]["send_due_digest"] == handlers_digests.DigestRun("nothing_due")
    subjects = sorted(str(m["Subject"]) for m in await smtp.wait_for(to, count=3, within=1.0))
    assert len(subjects) == 2 and "rendiconto" in subjects[0] + subjects[1]


def holding() -> kernel_daily.Step:
    """A daily step that keeps the transaction of the first run reaching it (the one whose claim
    went through) open until another run's claim waits on the claimed row, so that the two claims
    really meet in PostgreSQL; the other run passes straight on."""
    held: list[bool] = []

    async def hold(uow: UnitOfWork, ctx: ServiceContext, tenant_id: uuid.UUID, today: date) -> object:
        if held:
            return "passed"
        held.append(True)
        for _ in range(500):
            if (await uow.execute(sa.text(BLOCKED_BY_US))).scalar_one():
                return "held"
            await asyncio.sleep(0.01)
        raise AssertionError("no other run waited on the claimed row")

    return hold


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("kind", "step"),
    [("digest", handlers_digests.send_due_digest), ("rendiconto", handlers_aggio.monthly_rendiconto)],
)
async def test_two_concurrent_runs_past_the_lease_send_it_once(
    platform: Platform, tenant: Identity, smtp: Inbox, kind: str, step: kernel_daily.Step
) -> None:
    to = await crashed(platform, tenant, [step])
    assert (await states(platform, tenant.tenant_id))[kind] == ("sending", 1)

    steps = [step, holding()]
    ctx = at(platform, PAST, working(smtp))
    runs = await asyncio.gather(
        *(kernel_daily.run_daily(steps, ctx, RENDICONTO_DAY, [tenant.tenant_id]) for _ in range(2))
    )
    reports = sorted(
        (str(run[tenant.tenant_id]["hold"]), str(run[tenant.tenant_id][step.__name__])) for run in runs
    )
    [(held, sent), (passed, lost)] = reports
    assert (held, passed) == ("held", "passed")
    if kind == "digest":
        assert "status='sent'" in sent and "status='already_sent'" in lost
    else:
        assert (sent, lost) == ("retried, e-mail sent", "done")
    assert (await states(platform, tenant.tenant_id))[kind] == ("sent", 2)
    assert len(await smtp.wait_for(to, count=2, within=1.0)) == 1
