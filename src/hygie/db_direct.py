"""Direct, asynchronous driver connections for the few statements every API request runs
on PostgreSQL.

A FHIR read costs a token check, the gate's read and its audit event: three statements that
run thousands of times a second. Through the ORM each costs more in Python than in the
database (pool pre-ping, session, identity map, result objects), and a synchronous route
pays two trips through the thread pool besides, which cost more than the rest of the request
on this kind of machine (docs/BENCHMARKS.md). So the paths that run at every request
(``auth.callers.from_bearer_async``, ``access.chart_direct``, ``access.search_direct``) are coroutines sending their
SQL on asyncio psycopg connections kept here, in a ``psycopg_pool`` pool: in autocommit, so
that each statement is its own transaction (a read is one statement; its audit event
another, durable when it returns), prepared by psycopg after a few uses. A worker then
serves many requests at once on one thread, computing one while the others wait for
PostgreSQL.

The pool belongs to an event loop: a server's lifespan opens it (``Database.direct``) and
closes it. Without it (SQLite, or an application whose lifespan did not run), the same
paths run the ORM way in the thread pool.

Row-level security: a connection declares the scope it is taken for at session level
(``set_config(..., false)``) and keeps it between uses, so that a connection serving the
same actor again needs no statement for it. ``connection`` takes the scope as a required
argument and declares it when it differs; only ``connection_without_patient_rows`` skips the
declaration, for the token check and the audit writer.

Everything else keeps the ORM. These paths fall back to it whenever a case is not the
plain allowed one (a refused token, a patient not found, a refused read), so refusals are
decided and recorded in one place only.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import URL

# A connection left idle this long is pinged before use: the server may have closed it
# (restart, idle timeout). Under load connections never idle that long, so nothing is paid.
IDLE_PING_SECONDS = 5.0
_DECLARE_SESSION_SCOPE = "SELECT set_config('hygie.establishments', %(scope)s, false)"
Connection = psycopg.AsyncConnection[Any]


class DirectPool:
    """A pool of autocommit asyncio psycopg connections to the database of ``url``; open it
    with ``await pool.open()`` in the event loop that will use it."""

    def __init__(self, url: URL, *, size: int = 4, max_size: int = 16) -> None:
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        # What each connection declared and when it was last returned, kept beside it.
        self._scopes: weakref.WeakKeyDictionary[Connection, str] = weakref.WeakKeyDictionary()
        self._returned: weakref.WeakKeyDictionary[Connection, float] = weakref.WeakKeyDictionary()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            conninfo, kwargs={"autocommit": True}, min_size=size, max_size=max_size,
            open=False, check=self._check, name="hygie-direct",
        )  # fmt: skip

    async def open(self) -> None:
        await self._pool.open(wait=True, timeout=30)
        self._loop = asyncio.get_running_loop()

    def usable_here(self) -> bool:
        """Whether the running event loop is the one the pool was opened in (a test may run
        an application in a loop of its own beside a server's)."""
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    async def close(self) -> None:
        await self._pool.close()

    async def _check(self, conn: Connection) -> None:
        """Called by the pool on each connection it hands out: a ping after a long idle
        (the pool discards the connection and takes another if it fails)."""
        returned = self._returned.get(conn)
        if returned is not None and time.monotonic() - returned >= IDLE_PING_SECONDS:
            await conn.execute("SELECT 1")

    @asynccontextmanager
    async def connection(self, scope: str) -> AsyncIterator[Connection]:
        """A connection whose session declares ``scope`` (``hygie.db.scope_setting``; ''
        for none: no patient row), back to the pool when the block ends."""
        async with self._connection(scope) as conn:
            yield conn

    @asynccontextmanager
    async def connection_without_patient_rows(self) -> AsyncIterator[Connection]:
        """A connection for a block that reads no table under row-level security (the token
        check, the audit writer): it keeps whatever scope an earlier use declared, which is
        why nothing that reads patient data may take one."""
        async with self._connection(None) as conn:
            yield conn

    @asynccontextmanager
    async def _connection(self, scope: str | None) -> AsyncIterator[Connection]:
        async with self._pool.connection() as conn:
            try:
                if scope is not None and self._scopes.get(conn) != scope:
                    self._scopes.pop(conn, None)  # unknown until the declaration succeeds
                    await conn.execute(_DECLARE_SESSION_SCOPE, {"scope": scope})
                    self._scopes[conn] = scope
                yield conn
            except BaseException:
                self._scopes.pop(conn, None)
                raise
            finally:
                self._returned[conn] = time.monotonic()
