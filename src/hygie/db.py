"""The database: engine creation, sessions, schema migration and the key check.

One ``Database`` per process. Callers open a unit of work with :meth:`Database.transaction`,
which commits once at the end or rolls everything back on any error, so a refused input
never leaves a partial write behind.

On PostgreSQL, row-level security hides the rows of patient tables outside the
establishments a transaction declares (migration 0004). A transaction declares them with
``set_config('hygie.establishments', ..., true)`` as its first statement: the ids
comma-separated, ``*`` for the whole group, nothing (the default) for no patient row at all.
The access gate declares its actor's (``hygie.access.scope``); whole-database operations
run on :meth:`Database.scoped` with every establishment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hygie.config import Settings
from hygie.db_direct import DirectPool
from hygie.errors import ConfigurationError, ConflictError
from hygie.kit.crypto import Keyring, install_keyring

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_CANARY_CONTEXT = "key_canaries.canary"
_CANARY_TEXT = "hygie key canary"
_INDEX_KEY_ID = "index"
# Where a session keeps the scope it declares at the start of each of its transactions.
_SCOPE_INFO = "hygie.establishments"
_DECLARE_SCOPE = text("SELECT set_config('hygie.establishments', :scope, true)")
EVERY_ESTABLISHMENT_SCOPE = "*"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"HYGIE_DATABASE_URL is not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ConfigurationError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql"
        )
    return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)


def scope_setting(establishments: frozenset[int] | None) -> str:
    """The value of ``hygie.establishments`` for ``establishments`` (None: the group)."""
    if establishments is None:
        return EVERY_ESTABLISHMENT_SCOPE
    if any(isinstance(e, bool) or not isinstance(e, int) or e < 1 for e in establishments):
        raise ValueError(f"not establishment ids: {sorted(establishments, key=str)!r}")
    return ",".join(str(e) for e in sorted(establishments))


def declare_scope(connection: Connection, scope: str | None) -> None:
    """Declare ``scope`` for the rest of the connection's current transaction (PostgreSQL;
    SQLite has no row-level security). A failure fails the transaction: no scope, no rows."""
    if scope is not None and connection.dialect.name == "postgresql":
        connection.execute(_DECLARE_SCOPE, {"scope": scope})


def _declare_session_scope(session: Session, _transaction: Any, connection: Connection) -> None:
    declare_scope(connection, session.info.get(_SCOPE_INFO))


def _sessionmaker(engine: Engine, scope: str | None) -> sessionmaker[Session]:
    maker = sessionmaker(
        engine, expire_on_commit=False, info={} if scope is None else {_SCOPE_INFO: scope}
    )
    # Runs when a session's transaction takes its connection, before its first statement.
    event.listen(maker, "after_begin", _declare_session_scope)
    return maker


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    # The row-level-security scope every transaction of this object declares (None: none).
    scope: str | None = None
    # PostgreSQL: asyncio driver connections for the statements every API request runs,
    # opened by a server's lifespan in its event loop (``open_direct``, ``db_direct``).
    direct: DirectPool | None = None

    @classmethod
    def open(cls, url: str) -> Database:
        engine = make_engine(url)
        return cls(engine=engine, sessions=_sessionmaker(engine, None))

    async def open_direct(self) -> None:
        """Open the direct connections (PostgreSQL; nothing on SQLite) in the running loop."""
        if self.dialect == "postgresql" and self.direct is None:
            direct = DirectPool(self.engine.url)
            await direct.open()
            self.direct = direct

    def direct_here(self) -> DirectPool | None:
        """The direct connections, if they are open and belong to the running event loop."""
        direct = self.direct
        return direct if direct is not None and direct.usable_here() else None

    async def close_direct(self) -> None:
        direct, self.direct = self.direct, None
        if direct is not None:
            await direct.close()

    def scoped(self, establishments: frozenset[int] | None) -> Database:
        """This database (same engine and pool) with every session, transaction and
        connection it opens declaring ``establishments`` (None: every establishment)."""
        scope = scope_setting(establishments)
        return Database(engine=self.engine, sessions=_sessionmaker(self.engine, scope), scope=scope)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls.open(settings.database_url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, scope: str | None = None) -> Iterator[Session]:
        """A unit of work: committed once if the block succeeds, rolled back otherwise.

        ``scope`` (see :func:`scope_setting`) replaces this object's own for this unit of
        work. A uniqueness race lost to a concurrent writer (the same NIR, username or
        invoice number written at the same moment) is reported as a conflict, not a crash."""
        info = {} if scope is None else {_SCOPE_INFO: scope}
        try:
            with self.sessions(info=info) as session, session.begin():
                yield session
        except IntegrityError as exc:
            raise ConflictError(
                "a concurrent change conflicts with this one; check and try again"
            ) from exc

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A core connection in a transaction committed at the end (bulk work), declaring
        this object's scope."""
        with self.engine.begin() as connection:
            declare_scope(connection, self.scope)
            yield connection

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A core connection for reads (rolled back at the end), declaring this object's
        scope."""
        with self.engine.connect() as connection:
            declare_scope(connection, self.scope)
            yield connection

    def upgrade(self) -> None:
        """Create or migrate the schema to the newest revision."""
        from alembic import command

        try:
            command.upgrade(alembic_config(self.engine), "head")
        except OperationalError as exc:
            raise ConfigurationError(f"cannot reach the database: {exc.orig}") from exc

    def schema_is_current(self) -> bool:
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(alembic_config(self.engine))
        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
        return set(current) == set(script.get_heads())

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.engine.connect() as conn:
            conn.execute(text("select 1"))

    def has_table(self, name: str) -> bool:
        return inspect(self.engine).has_table(name)

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def has_key_canaries(db: Database) -> bool:
    """Whether some key file has already been used with this database."""
    from hygie.models import KeyCanary

    if not db.has_table("key_canaries"):
        return False
    with db.sessions() as session:
        return session.scalars(select(KeyCanary.key_id).limit(1)).first() is not None


def check_and_register_keys(db: Database, ring: Keyring) -> None:
    """Check that ``ring`` is the key file of this database, then use it in this process.

    Every key the database has used must be present and decrypt its canary, and the
    blind-index key must be the same; keys new to the database are registered. Raises a
    ConfigurationError that names the problem otherwise."""
    from hygie.models import KeyCanary

    with db.transaction() as session:
        known = {c.key_id: c.canary for c in session.scalars(select(KeyCanary))}
        index_check = ring.blind_index(_CANARY_TEXT, _CANARY_CONTEXT)
        stored_index = known.pop(_INDEX_KEY_ID, None)
        if stored_index is not None and stored_index != index_check:
            raise ConfigurationError(
                f"key file {ring.path}: its look-up (index) key is not this database's; "
                "wrong key file?"
            )
        for kid, canary in known.items():
            if kid not in ring.keys:
                raise ConfigurationError(
                    f"key file {ring.path} lacks key {kid}, which encrypts data in this database"
                )
            if ring.decrypt(canary, _CANARY_CONTEXT) != _CANARY_TEXT:
                raise ConfigurationError(f"key file {ring.path}: key {kid} is not this database's")
        if stored_index is None:
            session.add(KeyCanary(key_id=_INDEX_KEY_ID, canary=index_check))
        for kid in ring.keys:
            if kid not in known:
                session.add(KeyCanary(key_id=kid, canary=_encrypt_with(ring, kid)))
    install_keyring(ring)


def _encrypt_with(ring: Keyring, kid: str) -> str:
    active = ring.active_id
    ring.active_id = kid
    try:
        return ring.encrypt(_CANARY_TEXT, _CANARY_CONTEXT)
    finally:
        ring.active_id = active
