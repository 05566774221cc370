"""Group commit for the events of the direct paths (``hygie.db_direct``): the events that the
requests of one event loop record while a write is on its way are written together, in one
statement and one commit, when it returns.

Each request still waits for its own event to be committed before it answers (fail
closed): batching changes who sends the statement, not that promise. A failed write fails
its request: the batch's events are then written one by one, so that one refused event
fails its own request only. With few requests at once a batch is one event, written at
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
        self._pool = weakref.ref(pool)  # the pool owns the batcher (``batcher``), not the reverse
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
        batch: list[tuple[dict[str, Any], asyncio.Future[int]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                try:
                    ids = await self._write([v for v, _ in batch])
                except Exception:
                    # One event the database refuses fails its own request, not its batch's.
                    for values, done in batch:
                        await self._write_alone(values, done)
                    continue
                for (_, done), event_id in zip(batch, ids, strict=True):
                    _settle(done, event_id)
        except BaseException:  # cancelled (shut-down): nothing waiting may wait forever
            failure = RuntimeError("the audit events were not written")
            for _, done in (*batch, *self._waiting):
                _settle(done, failure)
            self._waiting = []
            raise
        finally:
            self._writer = None

    async def _write(self, batch: list[dict[str, Any]]) -> list[int]:
        pool = self._pool()
        if pool is None:
            raise RuntimeError("the direct connections are closed")
        async with pool.connection_without_patient_rows() as conn:  # audit tables only
            return await trail_pg.write_events_async(conn, batch)

    async def _write_alone(self, values: dict[str, Any], done: asyncio.Future[int]) -> None:
        try:
            [event_id] = await self._write([values])
        except Exception as exc:
            _settle(done, exc)
        else:
            _settle(done, event_id)


def _settle(done: asyncio.Future[int], outcome: int | BaseException) -> None:
    if done.done():
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)


_batchers: weakref.WeakKeyDictionary[DirectPool, AuditBatcher] = weakref.WeakKeyDictionary()


def batcher(pool: DirectPool) -> AuditBatcher:
    """The batcher of ``pool`` (created at first use, in the pool's event loop)."""
    found = _batchers.get(pool)
    if found is None:
        found = _batchers[pool] = AuditBatcher(pool)
    return found
