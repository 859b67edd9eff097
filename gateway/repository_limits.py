"""The login and API rate limits' counters (`gateway.ratelimit`): one row per bucket, shared by
every gateway process. Not tenant data: no row-level security."""

from __future__ import annotations

import sqlalchemy as sa

from services.kernel.db import UnitOfWork

UNSCOPED = {
    "hit_rate_limit": "rate-limit counters belong to a client address, account or key, not to a Comune",
    "purge_rate_limits": "rate-limit counters belong to a client address, account or key, not to a Comune",
}


async def hit_rate_limit(uow: UnitOfWork, bucket: str, window_seconds: float) -> tuple[int, float]:
    """Count one hit in the bucket's fixed window: (hits so far, seconds until the window ends).

    One atomic upsert, so concurrent gateway processes never lose a hit. The wall clock, not the
    transaction's start, because a hit may wait on the bucket's row lock.
    """
    row = (
        await uow.execute(
            sa.text(
                """
                INSERT INTO gateway.rate_limits AS r (bucket, window_start, hits) VALUES (:b, clock_timestamp(), 1)
                ON CONFLICT (bucket) DO UPDATE SET
                    window_start = CASE WHEN r.window_start + :w * interval '1 second' <= clock_timestamp()
                                        THEN clock_timestamp() ELSE r.window_start END,
                    hits = CASE WHEN r.window_start + :w * interval '1 second' <= clock_timestamp()
                                THEN 1 ELSE r.hits + 1 END
                RETURNING hits,
                    greatest(0, extract(epoch FROM r.window_start + :w * interval '1 second' - clock_timestamp()))
                        AS remaining
                """
            ),
            {"b": bucket, "w": float(window_seconds)},
        )
    ).one()
    return int(row.hits), float(row.remaining)


async def purge_rate_limits(uow: UnitOfWork, older_than_seconds: float) -> None:
    await uow.execute(
        sa.text("DELETE FROM gateway.rate_limits WHERE window_start < now() - :s * interval '1 second'"),
        {"s": float(older_than_seconds)},
    )
