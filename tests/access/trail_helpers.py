"""Building a trail through ``record``, and tampering with it as an attacker with database
rights would: append-only triggers switched off, then events and seals edited by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, text, update
from sqlalchemy.orm import Session

from hygie.access.audit import CHAINED_FIELDS, Entry, event_hash, record
from hygie.db import Database
from hygie.models import AuditEvent, AuditHead
from hygie.models.access import AuditSeal

START = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
TABLES = ("audit_events", "audit_patients", "audit_checkpoints", "audit_seals")

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


@dataclass
class Sealed:
    """An event with its seal, as the chain holds it."""

    event: AuditEvent
    seal: AuditSeal

    @property
    def id(self) -> int:
        return self.event.id

    @property
    def seq(self) -> int:
        return self.seal.seq

    @property
    def hash(self) -> str:
        return self.seal.hash

    @property
    def prev_hash(self) -> str:
        return self.seal.prev_hash


def event_at(conn: Connection, seq: int) -> Sealed:
    session = Session(bind=conn)
    seal = session.scalars(select(AuditSeal).where(AuditSeal.seq == seq)).one()
    return Sealed(event=session.get_one(AuditEvent, seal.event_id), seal=seal)


def values_of(sealed: Sealed) -> dict[str, Any]:
    """The chained fields of a sealed event."""
    values = {n: getattr(sealed.event, n) for n in CHAINED_FIELDS if n not in ("seq", "prev_hash")}
    return {**values, "seq": sealed.seal.seq, "prev_hash": sealed.seal.prev_hash}


def set_seq(conn: Connection, old: int, new: int) -> None:
    conn.execute(update(AuditSeal).where(AuditSeal.seq == old).values(seq=new))


def rehash_from(conn: Connection, seq: int, **changes: Any) -> None:
    """Change event ``seq`` and recompute every hash from there on: a consistent rewrite."""
    session = Session(bind=conn)
    seals = session.scalars(select(AuditSeal).where(AuditSeal.seq >= seq).order_by(AuditSeal.seq))
    prev: str | None = None
    for seal in seals:
        sealed = Sealed(event=session.get_one(AuditEvent, seal.event_id), seal=seal)
        if prev is None:
            for name, value in changes.items():
                setattr(sealed.event, name, value)
        else:
            seal.prev_hash = prev
        seal.hash = prev = event_hash(values_of(sealed))
    session.flush()
    if prev is not None:
        conn.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=prev))


def forged(sealed: Sealed, **changes: Any) -> dict[str, Any]:
    """The chained fields of ``sealed`` with ``changes``, and the hash they give."""
    values = {**values_of(sealed), **changes}
    values["hash"] = event_hash(values)
    return values


def insert_forged(conn: Connection, values: dict[str, Any]) -> int:
    """Put in an event with these chained fields and a seal with its seq and hashes."""
    content = {k: v for k, v in values.items() if k not in ("seq", "prev_hash", "hash")}
    event_id = int(conn.execute(insert(AuditEvent).values(**content)).inserted_primary_key[0])  # type: ignore[index]
    conn.execute(
        insert(AuditSeal).values(
            event_id=event_id,
            seq=values["seq"],
            prev_hash=values["prev_hash"],
            hash=values["hash"],
            sealed_at=datetime.now(UTC),
        )
    )
    return event_id


def entry_with(entry: Entry, **changes: Any) -> Entry:
    return replace(entry, **changes)
