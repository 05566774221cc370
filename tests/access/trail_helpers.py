"""Building a trail through ``record``, and tampering with it as an attacker with database
rights would: append-only triggers switched off, then rows edited by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, text, update
from sqlalchemy.orm import Session

from hygie.access.audit import CHAINED_FIELDS, Entry, event_hash, record
from hygie.db import Database
from hygie.models import AuditEvent, AuditHead

START = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
TABLES = ("audit_events", "audit_patients", "audit_checkpoints")

ENTRIES = [
    Entry(
        action="chart.read",
        outcome="allowed",
        how="web",
        user_id=7,
        username="dr.lefèvre",
        role="physician",
        establishment_id=1,
        session_id=12,
        ip="10.0.0.7",
        user_agent='Mozilla/5.0 "quoted" ]bracket\\ é',
        level="record",
        patient_ids=[42, 3, 42],
        categories=["notes", "allergies"],
        purpose="care:attending",
        record_count=1,
        details={"screen": "chart", "nested": {"b": 1, "a": [1.5, None, True]}, 3: "int key"},
    ),
    Entry(
        action="patient.search",
        outcome="allowed",
        how="api",
        user_id=8,
        username="secretariat",
        role="secretary",
        token_id=5,
        level="summary",
        patient_ids=[1, 2, 3],
        categories=["identity"],
        record_count=3,
        details={"query": "MART*", "ratio": 1e-05},
    ),
    Entry(
        action="chart.read",
        outcome="denied",
        how="web",
        user_id=9,
        username="curious",
        role="nurse",
        patient_ids=[42],
        categories=["notes"],
        reason="no care relationship",
    ),
    Entry(action="login", outcome="failed", how="web", username="ghost", ip="203.0.113.9"),
]


def fill(db: Database, count: int, *, start: int = 0) -> None:
    """Append ``count`` events, one transaction each, as the gate would."""
    for i in range(start, start + count):
        entry = ENTRIES[i % len(ENTRIES)]
        with db.transaction() as session:
            record(session, entry, now=START + timedelta(seconds=i, microseconds=i % 3))


@contextmanager
def as_attacker(db: Database) -> Iterator[Connection]:
    """A connection on which the trail's append-only triggers are off, as for someone with
    rights on the database. On PostgreSQL they are switched back on in the same transaction
    (the test database is shared by the tests of one process)."""
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            for table in TABLES:
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
            yield conn
            for table in TABLES:
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"))
        else:
            for table in TABLES:
                for verb in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))
            yield conn


def event_at(conn: Connection, seq: int) -> AuditEvent:
    return Session(bind=conn).scalars(select(AuditEvent).where(AuditEvent.seq == seq)).one()


def values_of(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in CHAINED_FIELDS}


def set_seq(conn: Connection, old: int, new: int) -> None:
    conn.execute(update(AuditEvent).where(AuditEvent.seq == old).values(seq=new))


def rehash_from(conn: Connection, seq: int, **changes: Any) -> None:
    """Change event ``seq`` and recompute every hash from there on: a consistent rewrite."""
    session = Session(bind=conn)
    rows = session.scalars(select(AuditEvent).where(AuditEvent.seq >= seq).order_by(AuditEvent.seq))
    prev: str | None = None
    for event in rows:
        if prev is None:
            for name, value in changes.items():
                setattr(event, name, value)
        else:
            event.prev_hash = prev
        event.hash = prev = event_hash(values_of(event))
    session.flush()
    if prev is not None:
        conn.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=prev))


def forged(event: AuditEvent, **changes: Any) -> dict[str, Any]:
    values = {**values_of(event), **changes}
    values["hash"] = event_hash(values)
    return values


def entry_with(entry: Entry, **changes: Any) -> Entry:
    return replace(entry, **changes)
