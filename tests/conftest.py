"""Test fixtures: real databases (SQLite and PostgreSQL), keys, and a small group.

Every test that takes ``db`` runs twice: on a fresh SQLite file and on a fresh PostgreSQL
database created on the local server for this run (and dropped at the end). Without a
reachable PostgreSQL the PostgreSQL half is skipped and the run says so loudly; with
``CI=true`` it fails instead, since CI must run everything.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from hygie.db import Database, check_and_register_keys
from hygie.kit.crypto import Keyring, install_keyring
from hygie.models import Base

PG_ADMIN_URL = os.environ.get("HYGIE_TEST_PG", "postgresql://root@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
_skipped_pg: list[str] = []


REDIS_URL = os.environ.get("HYGIE_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis to count in (tests use keys of their own, under a random prefix)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"CI=true but Redis is not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc}): its tests did not run")
    return REDIS_URL


def _pg_available() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    ring = Keyring.generate()
    install_keyring(ring)
    return ring


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory, keyring: Keyring) -> Path:
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database.open(f"sqlite:///{path}")
    db.upgrade()
    check_and_register_keys(db, keyring)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url(keyring: Keyring) -> Iterator[str]:
    """A fresh PostgreSQL database for this test process, migrated, dropped at the end."""
    problem = _pg_available()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL is not reachable at {PG_ADMIN_URL}: {problem}")
        _skipped_pg.append(problem)
        pytest.skip(f"PostgreSQL not reachable ({problem})")
    name = f"hygie_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{base}/{name}"
    db = Database.open(url)
    db.upgrade()
    check_and_register_keys(db, keyring)
    db.dispose()
    try:
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


KEPT = {"key_canaries", "audit_head"}  # the keys' check, and the chain head reset below


def _truncate_pg(db: Database) -> None:
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in KEPT]
    with db.engine.begin() as conn:
        # The trail's append-only triggers refuse TRUNCATE; between tests (only) the
        # superuser running them switches user triggers off for this transaction.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        conn.execute(text("UPDATE audit_head SET seq = 0, hash = :genesis"), {"genesis": "0" * 64})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path, keyring: Keyring) -> Iterator[Database]:
    """An empty, migrated database whose keys match ``keyring``."""
    install_keyring(keyring)
    if request.param == "sqlite":
        path = tmp_path / "hygie.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database.open(f"sqlite:///{path}")
    else:
        database = Database.open(request.getfixturevalue("pg_url"))
        _truncate_pg(database)
    try:
        yield database
    finally:
        database.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    redis_skips = [r for r in skipped if "Redis not reachable" in str(getattr(r, "longrepr", ""))]
    if redis_skips:
        terminalreporter.write_sep("!", "REDIS TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(
            f"{len(redis_skips)} tests did not run: no Redis at {REDIS_URL}.", red=True
        )
    pg_skips = [r for r in skipped if "PostgreSQL" in str(getattr(r, "longrepr", ""))]
    if pg_skips:
        terminalreporter.write_sep("!", "POSTGRESQL TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(
            f"{len(pg_skips)} tests did not run on PostgreSQL: no server at {PG_ADMIN_URL}. "
            "Only the SQLite half of the suite ran.",
            red=True,
        )


@pytest.fixture
def pg_db(request: pytest.FixtureRequest, keyring: Keyring) -> Iterator[Database]:
    """An empty, migrated PostgreSQL database, for behaviour SQLite does not have."""
    install_keyring(keyring)
    database = Database.open(request.getfixturevalue("pg_url"))
    _truncate_pg(database)
    try:
        yield database
    finally:
        database.dispose()
