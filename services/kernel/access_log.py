"""Who saw personal data, per service (`access_log` of each schema): written on every view of
personal data, read back by the Comune's register of accesses (`services.kernel.web_access`).

Each entry keeps the name the person had when they looked (`user_name`, taken from the request's
identity by `services.kernel.identity`), so the register reads without the gateway's users.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from services.kernel.db import UnitOfWork
from services.kernel.logs import user_name_var


def access_log_table(metadata: sa.MetaData) -> sa.Table:
    """Who saw personal data: `action` says what, `subject_id` which record (`migrate.create_access_log`)."""
    return sa.Table(
        "access_log",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject_id", sa.Uuid),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("user_name", sa.Text, nullable=False, server_default=""),
    )


class AccessLog:
    """Writes and reads one service's `access_log_table`: who saw which personal data."""

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self._insert = sa.insert(table)  # built once: pages of personal data write it on every view

    async def record(
        self,
        uow: UnitOfWork,
        tenant_id: uuid.UUID,
        user_id: str,
        action: str,
        subject_id: uuid.UUID | None = None,
        detail: str = "",
    ) -> None:
        """`user_id` saw personal data: `action` says what, `subject_id` which record."""
        values = {"tenant_id": tenant_id, "user_id": user_id, "action": action, "subject_id": subject_id}
        await uow.execute(self._insert, {**values, "detail": detail[:500], "user_name": user_name_var.get()})

    def logged(self, subjects: sa.Select[Any]) -> Any:
        """`record` as a data-modifying WITH, for a read of personal data that logs itself in its own
        statement (a round trip less on the pages viewed most): one entry for each row of `subjects`
        (columns `tenant_id` and `subject_id`: the record seen, none when it is not there); who,
        what and the detail are `log_params`'s."""
        seen = subjects.add_columns(
            sa.bindparam("log_user", type_=sa.Text),
            sa.bindparam("log_action", type_=sa.Text),
            sa.bindparam("log_detail", type_=sa.Text),
            sa.bindparam("log_user_name", type_=sa.Text),
        )
        columns = ["tenant_id", "subject_id", "user_id", "action", "detail", "user_name"]
        return sa.insert(self.table).from_select(columns, seen).cte(f"logged_{self.table.name}")

    @staticmethod
    def log_params(user_id: str, action: str, detail: str = "") -> dict[str, str]:
        """The parameters of a `logged` read: `user_id` saw personal data, `action` says what."""
        return {
            "log_user": user_id,
            "log_action": action,
            "log_detail": detail[:500],
            "log_user_name": user_name_var.get(),
        }

    async def entries(
        self, uow: UnitOfWork, tenant_id: uuid.UUID, subject_id: uuid.UUID | None = None
    ) -> list[sa.Row[Any]]:
        t = self.table
        stmt = sa.select(t).where(t.c.tenant_id == tenant_id)
        if subject_id is not None:
            stmt = stmt.where(t.c.subject_id == subject_id)
        return list((await uow.execute(stmt.order_by(t.c.id))).all())

    async def recent(
        self, uow: UnitOfWork, tenant_id: uuid.UUID, limit: int, before_id: int | None = None
    ) -> list[sa.Row[Any]]:
        """The Comune's latest entries, newest first (those before `before_id`: the next page)."""
        t = self.table
        stmt = sa.select(t).where(t.c.tenant_id == tenant_id)
        if before_id is not None:
            stmt = stmt.where(t.c.id < before_id)
        return list((await uow.execute(stmt.order_by(t.c.id.desc()).limit(limit))).all())
