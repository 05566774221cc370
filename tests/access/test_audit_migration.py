"""Revision 0003 moves each event's place in the chain (seq, prev_hash, hash) into its seal:
a trail written before it verifies after it, carries on, and goes back on downgrade."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError

from hygie.access.audit import GENESIS, content, event_hash
from hygie.access.trail import verify
from hygie.db import Database, alembic_config
from hygie.models import AuditEvent
from hygie.models.access import AuditSeal
from tests.access.trail_helpers import ENTRIES, START, fill
from tests.conftest import PG_ADMIN_URL, _pg_available


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no schema at all."""
    if request.param == "sqlite":
        database = Database.open(f"sqlite:///{tmp_path / 'old.db'}")
        yield database
        database.dispose()
        return
    problem = _pg_available()
    if problem is not None:
        pytest.skip(f"PostgreSQL not reachable ({problem})")
    name = f"hygie_test_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    database = Database.open(f"{base}/{name}")
    try:
        yield database
    finally:
        database.dispose()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _old_trail(db: Database, count: int) -> list[tuple[int, int, str, str]]:
    """Events written as revision 0002 wrote them (the chain in the event rows)."""
    old = []
    prev = GENESIS
    with db.engine.begin() as conn:
        for i in range(count):
            values = content(ENTRIES[i % len(ENTRIES)], START + timedelta(seconds=i))
            values.update(seq=i + 1, prev_hash=prev)
            digest = event_hash(values)
            columns = ", ".join([*values, "hash"])
            marks = ", ".join(f":{name}" for name in [*values, "hash"])
            patients = values["patient_ids"]
            for name in ("patient_ids", "categories", "details"):
                values[name] = json.dumps(values[name])  # as SQLAlchemy stores JSON
            event_id = conn.execute(
                text(f"INSERT INTO audit_events ({columns}) VALUES ({marks}) RETURNING id"),
                {**values, "hash": digest},
            ).scalar_one()
            for patient in patients:
                conn.execute(
                    text("INSERT INTO audit_patients (event_id, patient_id) VALUES (:e, :p)"),
                    {"e": event_id, "p": patient},
                )
            old.append((event_id, i + 1, prev, digest))
            prev = digest
        conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": count, "h": prev})
    return old


def test_a_trail_written_before_sealing_verifies_after_it_and_back(empty: Database) -> None:
    db = empty
    cfg = alembic_config(db.engine)
    command.upgrade(cfg, "0002")
    old = _old_trail(db, 9)
    command.upgrade(cfg, "0003")
    with db.sessions() as session:
        seals = session.execute(
            select(AuditSeal.event_id, AuditSeal.seq, AuditSeal.prev_hash, AuditSeal.hash)
            .order_by(AuditSeal.seq)
        ).all()  # fmt: skip
    assert [tuple(s) for s in seals] == old
    report = verify(db, grace=timedelta(days=3650))
    assert report.ok, report.finding
    assert report.events == 9
    fill(db, 3, start=9)  # carries on: sealed after the migrated chain
    report = verify(db)
    assert report.ok and report.events == report.last_seq == 12
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(update(AuditSeal).where(AuditSeal.seq == 1).values(hash="0" * 64))
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_patients"))

    command.downgrade(cfg, "0002")
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, seq, prev_hash, hash FROM audit_events ORDER BY seq"))
        assert [tuple(r) for r in rows][:9] == old
        assert conn.execute(text("SELECT count(*) FROM audit_patients")).scalar_one() > 0
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET ip = 'x'"))
    command.upgrade(cfg, "0003")
    assert verify(db).events == 12


def test_downgrade_refuses_while_events_wait_for_their_seal(empty: Database) -> None:
    db = empty
    cfg = alembic_config(db.engine)
    command.upgrade(cfg, "0003")
    with db.engine.begin() as conn:
        conn.execute(insert(AuditEvent).values(**content(ENTRIES[0], START)))
    with pytest.raises(RuntimeError, match="not sealed yet"):
        command.downgrade(cfg, "0002")
