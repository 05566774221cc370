"""The database: engine creation, sessions, schema migration and the key check.

One ``Database`` per process. Callers open a unit of work with :meth:`Database.transaction`,
which commits once at the end or rolls everything back on any error, so a refused input
never leaves a partial write behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hygie.config import Settings
from hygie.errors import ConfigurationError, ConflictError
from hygie.kit.crypto import Keyring, install_keyring

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_CANARY_CONTEXT = "key_canaries.canary"
_CANARY_TEXT = "hygie key canary"
_INDEX_KEY_ID = "index"


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


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def open(cls, url: str) -> Database:
        engine = make_engine(url)
        return cls(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls.open(settings.database_url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work: committed once if the block succeeds, rolled back otherwise.

        A uniqueness race lost to a concurrent writer (the same NIR, username or invoice
        number written at the same moment) is reported as a conflict, not a crash."""
        try:
            with self.sessions() as session, session.begin():
                yield session
        except IntegrityError as exc:
            raise ConflictError(
                "a concurrent change conflicts with this one; check and try again"
            ) from exc

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
