"""Database access: one engine per service role, and the unit of work that owns each transaction.

The tenant is set per transaction with `set_config('app.tenant_id', …, true)`, never per session, so
a pooled connection cannot carry one tenant's setting into the next request.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from services.kernel.envelope import Envelope
from services.kernel.errors import MandateClosed

T = TypeVar("T")
log = logging.getLogger(__name__)
CODE = re.compile(r"[a-z0-9_]+")
SET_TENANT = sa.text("SELECT set_config('app.tenant_id', :t, true)")


def constant(value: str | int) -> Any:
    """A fixed value of our own (a status, an outcome, a zero) written into the statement's text
    instead of sent as a parameter: PostgreSQL's plan of a prepared statement kept for every
    execution (its generic plan) then knows it, and can match a partial index on it (else each
    execution is planned again, or the kept plan reads the wrong index); no per-execution expansion
    of an IN list in SQLAlchemy either. Only a whole number or a lowercase code (letters, digits,
    underscores); never what a user or a file gave."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not a constant of ours: {value!r}")
    if isinstance(value, int):
        return sa.literal_column(str(value), sa.BigInteger)
    if not CODE.fullmatch(value):
        raise ValueError(f"not a constant of ours: {value!r}")
    return sa.literal_column(f"'{value}'", sa.Text)


def constants(values: Iterable[str]) -> list[Any]:
    """`constant` of each value, in a stable order (an IN list)."""
    return [constant(v) for v in sorted(values)]


def credit_columns() -> list[sa.Column[Any]]:
    """A credit's columns as `contracts.PositionFact` carries it (revenue type, year, act number,
    amount in cents): ingest registers positions, the other services keep their own copy."""
    return [
        sa.Column("revenue_type", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("act_number", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
    ]


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("message_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("routing_key", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )


def closures_table(metadata: sa.MetaData) -> sa.Table:
    """A Comune whose mandate ended (`services.mandate`): closed (read-only), then erased (its
    personal data gone; later events for it are dropped). Never erased itself: it holds no personal
    data, only dates and what the erasure found (`migrate_erasure.create_closures`)."""
    return sa.Table(
        "tenant_closures",
        metadata,
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("erased_at", sa.DateTime(timezone=True)),
        # The stored objects found before they were deleted: keys, sizes, SHA-256 (a retried erasure
        # deletes what is left of them and still reports all of them).
        sa.Column("objects", JSONB),
    )


def inbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "inbox",
        metadata,
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("message_id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


class Database:
    """A service's connection pool, logged in as that service's application role."""

    def __init__(self, url: str, metadata: sa.MetaData, pool_size: int = 10) -> None:
        # No pre-ping: a round trip on every checkout. A connection the server dropped (a restart)
        # fails its request once, and SQLAlchemy then replaces every connection of the pool.
        # Up to twice `pool_size` connections, all kept once opened: overflow connections would be
        # closed on return and opened again under load (a PostgreSQL backend forked, every
        # statement prepared anew), which cost more CPU than the work itself.
        self.engine: AsyncEngine = create_async_engine(
            url, pool_size=2 * pool_size, max_overflow=0, pool_pre_ping=False
        )
        # Connections outside the pool, opened and closed per unit of work (`unit_of_work(aside=True)`).
        self.aside_engine: AsyncEngine = create_async_engine(url, poolclass=NullPool)
        self.metadata = metadata
        # A schema that neither publishes nor consumes events (the gateway's) has neither table.
        self.outbox: sa.Table | None = metadata.tables.get(f"{metadata.schema}.outbox")
        self.inbox: sa.Table | None = metadata.tables.get(f"{metadata.schema}.inbox")
        self.closures: sa.Table | None = metadata.tables.get(f"{metadata.schema}.tenant_closures")
        self.outbox_insert = None if self.outbox is None else sa.insert(self.outbox)

    def unit_of_work(
        self, tenant_id: uuid.UUID | None, correlation_id: str = "", aside: bool = False, lazy: bool = False
    ) -> UnitOfWork:
        """A transaction on a pooled connection; `aside=True` opens one of its own outside the pool,
        for a short write (a batch's progress) by a caller that holds locks other transactions wait
        for while they hold pooled connections: waiting for the pool there could stall them all."""
        return UnitOfWork(self, tenant_id, correlation_id, aside, lazy)

    async def run(
        self,
        tenant_id: uuid.UUID | None,
        work: Callable[[UnitOfWork], Awaitable[T]],
        correlation_id: str = "",
        aside: bool = False,
    ) -> T:
        """Run `work` in one unit of work: committed when it returns, rolled back when it raises.

        This is how an entrypoint (a view, a job, a command) owns its transaction; handlers and
        repositories never commit. The connection is taken at the first statement (`lazy`); `aside`
        as for `unit_of_work`."""
        async with self.unit_of_work(tenant_id, correlation_id, aside=aside, lazy=True) as uow:
            result = await work(uow)
            await uow.commit()
        return result

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.aside_engine.dispose()


# From this many rows on, `UnitOfWork.insert_many` writes them.
MANY_ROWS = 200


class UnitOfWork:
    """One transaction, scoped to one tenant; rolls back unless `commit()` was called."""

    def __init__(
        self,
        db: Database,
        tenant_id: uuid.UUID | None,
        correlation_id: str,
        aside: bool = False,
        lazy: bool = False,
    ) -> None:
        self.db = db
        self.tenant_id = tenant_id
        self.correlation_id = correlation_id
        self._engine = db.aside_engine if aside else db.engine
        self._conn: AsyncConnection | None = None
        self._entered = False
        self._lazy = lazy
        self._committed = False
        # Whether a statement has run on this connection (until then, a lost one is replaced).
        self._used = self._replaced = False
        # What a repository read once in this transaction and may read again (a Comune's settings):
        # kept only as long as the transaction; a repository that writes it drops its entry.
        self.memo: dict[Any, Any] = {}
        # A change asked through a view (`kernel.web.endpoint`): refused at the first statement if
        # the Comune's mandate ended (`services.mandate`).
        self.refuse_closed = False

    @property
    def conn(self) -> AsyncConnection:
        """The connection of a unit of work that has run a statement (`connection()` opens it)."""
        if self._conn is None:
            raise RuntimeError("unit of work not started: await uow.connection() first")
        return self._conn

    async def connection(self) -> AsyncConnection:
        """The transaction's connection; a lazy unit of work takes it at the first statement, so an
        entrypoint that reads a large request before it touches the database holds none meanwhile."""
        if self._conn is None:
            if not self._entered:
                raise RuntimeError("unit of work not entered")
            conn = await self._engine.connect()
            await conn.begin()
            self._conn, self._used = conn, False
            if self.tenant_id is not None:
                await self.execute(SET_TENANT, {"t": str(self.tenant_id)})
                if self.refuse_closed and await self.closure() is not None:
                    raise MandateClosed()
        return self._conn

    async def __aenter__(self) -> UnitOfWork:
        self._entered = True
        if not self._lazy:
            await self.connection()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._entered = False
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if not self._committed and conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    async def commit(self) -> None:
        if self._conn is not None:
            await self._conn.commit()
        self._committed = True

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Write events to this service's outbox, in this transaction."""
        await self.publish_encoded([(e, e.encode()) for e in envelopes])

    async def publish_encoded(self, messages: Sequence[tuple[Envelope, bytes]]) -> None:
        """Write events with their encoded bodies (`Envelope.encode_with`) to the outbox, in order."""
        if not messages:
            return
        rows = [
            {"message_id": e.message_id, "tenant_id": e.tenant_id, "routing_key": e.routing_key, "body": body}
            for e, body in messages
        ]
        if self.db.outbox is None or self.db.outbox_insert is None:
            raise RuntimeError(f"schema {self.db.metadata.schema} has no outbox")
        if len(rows) >= MANY_ROWS:
            await self.insert_many(self.db.outbox, rows)
        else:
            await (await self.connection()).execute(self.db.outbox_insert, rows)

    async def insert_many(self, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """Rows (all with the same keys) copied into a temporary table, then inserted in one
        statement: for batches of thousands, which row-by-row statements would slow down. Row-level
        security applies to that INSERT as to any (COPY itself does not take tables under RLS)."""
        if not rows:
            return
        columns = list(rows[0])
        names = ", ".join(f'"{c}"' for c in columns)
        target = f'"{table.schema}"."{table.name}"'
        stage = f"stage_{table.name}"
        raw = (await (await self.connection()).get_raw_connection()).driver_connection
        await raw.execute(  # type: ignore[union-attr]
            f"DROP TABLE IF EXISTS pg_temp.{stage};"
            f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {names} FROM {target} WITH NO DATA"
        )
        records = [tuple(row[c] for c in columns) for row in rows]
        await raw.copy_records_to_table(stage, records=records, columns=columns)  # type: ignore[union-attr]
        await raw.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM {stage}")  # type: ignore[union-attr]

    async def closure(self) -> sa.Row[Any] | None:
        """The unit of work's Comune's closure (`closures_table`), if its mandate ended."""
        table = self.db.closures
        if table is None or self.tenant_id is None:
            return None
        stmt = sa.select(table.c.closed_at, table.c.erased_at).where(table.c.tenant_id == self.tenant_id)
        return (await self.execute(stmt)).first()

    async def claim_message(self, consumer: str, message_id: uuid.UUID, tenant_id: uuid.UUID) -> bool:
        """Record the message in the inbox; False if this consumer already handled it."""
        if self.db.inbox is None:
            raise RuntimeError(f"schema {self.db.metadata.schema} has no inbox")
        stmt = (
            pg_insert(self.db.inbox)
            .values(consumer=consumer, message_id=message_id, tenant_id=tenant_id)
            .on_conflict_do_nothing()
            .returning(self.db.inbox.c.message_id)
        )
        return (await (await self.connection()).execute(stmt)).first() is not None

    async def execute(self, statement: Any, params: Any = None) -> sa.CursorResult[Any]:
        """Run a statement in the transaction. The pools do not ping a connection before lending it
        (a round trip per request): a connection the server dropped (a restart) fails its first
        statement, and then, nothing having happened in the transaction yet, it is replaced and the
        statement run once more; SQLAlchemy replaces the pool's other old connections as they come."""
        conn = await self.connection()
        try:
            result: sa.CursorResult[Any] = await conn.execute(statement, params)
        except sa.exc.DBAPIError as exc:
            if self._used or self._replaced or not exc.connection_invalidated:
                raise
            self._replaced = True
            log.warning("database connection lost before its first statement: reconnecting")
            await conn.close()
            self._conn = None
            conn = await self.connection()
            result = await conn.execute(statement, params)
        self._used = True
        return result
