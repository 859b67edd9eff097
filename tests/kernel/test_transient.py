"""Which failures of a consumer mean "the database is unavailable for now" (the message waits) and
which mean the message itself failed (retried, then dead-lettered); and a consumer whose database is
down for longer than its retries loses nothing, against the real PostgreSQL."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
import sqlalchemy as sa

from services.kernel.bus import IncomingMessage, TransientFailure, settle_verdict
from services.kernel.db import Database, UnitOfWork
from services.kernel.envelope import Envelope
from services.kernel.messaging import Consumer, inbox_handler, is_transient
from services.reporting.models import metadata as reporting_metadata


def wrapped(cause: BaseException) -> sa.exc.DBAPIError:
    """How SQLAlchemy hands a driver's error to the handler."""
    try:
        raise sa.exc.DBAPIError("SELECT 1", {}, cause) from cause
    except sa.exc.DBAPIError as exc:
        return exc


@pytest.mark.parametrize(
    "failure",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        sa.exc.TimeoutError("QueuePool limit of size 3 overflow 3 reached"),
        wrapped(
            asyncpg.exceptions.CannotConnectNowError("the database system is not yet accepting connections")
        ),
        wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command")),
        wrapped(asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")),
        wrapped(
            asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        ),
    ],
    ids=repr,
)
def test_an_unavailable_database_is_transient(failure: BaseException) -> None:
    assert is_transient(failure)


@pytest.mark.parametrize(
    "failure",
    [
        ValueError("bad amount"),
        KeyError("position_id"),
        wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key value")),
        wrapped(asyncpg.exceptions.CheckViolationError("new row violates check constraint")),
        RuntimeError("the handler's own bug"),
    ],
    ids=repr,
)
def test_a_failure_of_the_message_is_not(failure: BaseException) -> None:
    assert not is_transient(failure)


@pytest.mark.asyncio
async def test_a_consumer_whose_database_refuses_connections_waits_and_records_no_failure(
    database_url: str,
) -> None:
    """Its last attempt, the database down: no batch marked failed, the message told to wait."""
    down = sa.engine.make_url(database_url).set(port=1).render_as_string(hide_password=False)
    db = Database(down, reporting_metadata)
    failures: list[Exception] = []

    async def on_final_failure(uow: UnitOfWork, envelope: Envelope, error: Exception) -> None:
        failures.append(error)

    async def handler(uow: UnitOfWork, envelope: Envelope) -> None:
        raise AssertionError("never reached: the inbox is checked first")

    consumer = Consumer("reporting.test", {"x.y.v1": handler}, on_final_failure=on_final_failure)
    envelope = Envelope("x.y", 1, uuid.uuid4(), {})
    message = IncomingMessage(
        "x.y.v1", envelope.encode(), str(envelope.message_id), attempt=3, final_attempt=True
    )
    try:
        with pytest.raises(TransientFailure):
            await inbox_handler(db, consumer)(message)
    finally:
        await db.dispose()
    assert failures == []
    assert settle_verdict(TransientFailure(ConnectionRefusedError()), 3, 3) == "wait"
