"""Group commit for the events of the direct paths (``hygie.db_direct``): the events that the
requests of one event loop record while a write is on its way are written together, in one
statement and one commit, when it returns.

Each request still waits for its own event to be committed before it answers (fail
closed): batching changes who sends the statement, not that promise. A failed write fails
every request of its batch. With few requests at once a batch is one event, written at
once; under load, one statement carries the events of all the requests then waiting, which
costs the database and the worker several times less per event than a statement each
(docs/BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from hygie.access import trail_pg
from hygie.db_direct import DirectPool

# The largest batch: one statement's arrays stay small, and a burst is written in a few.
MAX_BATCH = 64


class AuditBatcher:
    """The event writer of one pool (one event loop)."""

    def __init__(self, pool: DirectPool) -> None:
        self._pool = pool
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[int]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, values: dict[str, Any]) -> int:
        """Write an event (``audit.content``); its id, once it is committed."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((values, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        return await done

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                try:
                    async with self._pool.connection(None) as conn:  # audit tables only
                        ids = await trail_pg.write_events_async(conn, [v for v, _ in batch])
                except BaseException as exc:
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(_failure(exc))
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for (_, done), event_id in zip(batch, ids, strict=True):
                    if not done.done():
                        done.set_result(event_id)
        finally:
            self._writer = None


def _failure(exc: BaseException) -> Exception:
    if isinstance(exc, Exception):
        return exc
    return RuntimeError("the audit events were not written")


_batchers: weakref.WeakKeyDictionary[DirectPool, AuditBatcher] = weakref.WeakKeyDictionary()


def batcher(pool: DirectPool) -> AuditBatcher:
    """The batcher of ``pool`` (created at first use, in the pool's event loop)."""
    found = _batchers.get(pool)
    if found is None:
        found = _batchers[pool] = AuditBatcher(pool)
    return found
