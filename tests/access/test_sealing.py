"""Sealing: events are written without locking the head and chained once committed — each
exactly once, in one chain, whatever the order in which concurrent writers commit; events
left unsealed are counted, reported when sealing has stopped, and still show in a patient's
access history and in the export."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import Connection, delete, func, select, text, update
from sqlalchemy.orm import Session

from hygie.access import trail_pg
from hygie.access.audit import Entry, _write, content, record
from hygie.access.sealing import BackgroundSealer, seal, seal_pending
from hygie.access.trail import verify
from hygie.access.trail_export import iter_events
from hygie.db import Database
from hygie.models import AuditEvent
from hygie.models.access import AuditSeal
from hygie.storage.access import events_for_patient
from tests.access.trail_helpers import as_attacker, event_at, fill

ENTRY = Entry(action="chart.read", outcome="allowed", how="api", user_id=1, patient_ids=[42])


def seqs_by_id(db: Database) -> dict[int, int | None]:
    """Every event id and its seal's seq (None: not sealed)."""
    with db.sessions() as session:
        rows = session.execute(
            select(AuditEvent.id, AuditSeal.seq).outerjoin(
                AuditSeal, AuditSeal.event_id == AuditEvent.id
            )
        )
        return {int(i): s for i, s in rows}


def write_unsealed(db: Database, entry: Entry = ENTRY, *, at: datetime | None = None) -> int:
    """An event written as ``record`` writes it, but without the sealing pass after it."""
    with db.transaction() as session:
        values = content(entry, at or datetime.now(UTC))
        if db.dialect == "postgresql":
            return trail_pg.write_event(session, values)[0]
        return _write(session, values)


@contextmanager
def head_held(db: Database) -> Iterator[Connection]:
    """The head locked by another connection, as while a sealer commits (PostgreSQL)."""
    with db.engine.connect() as conn:
        conn.execute(text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE"))
        yield conn
        conn.rollback()


def test_record_seals_its_own_event_when_the_head_is_free(db: Database) -> None:
    with db.transaction() as session:
        first = record(session, ENTRY)
        second = record(session, ENTRY)  # a second event in the same transaction
        sealed = session.scalars(select(AuditSeal.seq).order_by(AuditSeal.seq)).all()
    assert sealed == [1, 2]
    with db.transaction() as session:
        third = record(session, ENTRY)
    assert seqs_by_id(db) == {first.id: 1, second.id: 2, third.id: 3}
    assert verify(db).ok


def test_a_rolled_back_access_leaves_no_event_and_no_seal(db: Database) -> None:
    fill(db, 2)
    with pytest.raises(RuntimeError), db.transaction() as session:
        record(session, ENTRY)
        raise RuntimeError("the access failed after its event was written")
    fill(db, 1, start=2)
    assert sorted(s for s in seqs_by_id(db).values() if s is not None) == [1, 2, 3]
    assert len(seqs_by_id(db)) == 3
    assert verify(db).ok


def test_an_event_left_unsealed_is_sealed_by_the_next_access(db: Database) -> None:
    fill(db, 2)
    waiting = write_unsealed(db)
    report = verify(db)
    assert report.ok and report.events == 2
    assert (report.unsealed.count, report.unsealed.oldest_id) == (1, waiting)
    fill(db, 1, start=2)
    assert seqs_by_id(db)[waiting] == 3
    report = verify(db)
    assert report.ok and report.events == 4 and report.unsealed.count == 0


def test_verify_fails_when_an_event_waits_too_long_for_its_seal(db: Database) -> None:
    fill(db, 3)
    now = datetime.now(UTC)
    stale = write_unsealed(db, at=now - timedelta(seconds=90))
    write_unsealed(db, at=now)
    report = verify(db, now=now)
    assert report.finding is not None
    assert (report.finding.kind, report.finding.event_id) == ("unsealed", stale)
    assert "sealing has stopped" in report.finding.message
    assert "2 events unsealed" in report.finding.message
    assert verify(db, now=now, grace=timedelta(seconds=120)).ok
    assert seal_pending(db).sealed == 2
    assert verify(db, now=now).ok


def test_a_chain_fault_comes_before_a_stall(db: Database) -> None:
    fill(db, 3)
    write_unsealed(db, at=datetime.now(UTC) - timedelta(hours=1))
    with as_attacker(db) as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.id == 2).values(role="admin"))
    finding = verify(db).finding
    assert finding is not None and (finding.kind, finding.seq) == ("modified", 2)


def test_a_deleted_seal_is_located_and_its_event_named(db: Database) -> None:
    fill(db, 6)
    with as_attacker(db) as conn:
        orphan = event_at(conn, 4).id
        conn.execute(delete(AuditSeal).where(AuditSeal.seq == 4))
    finding = verify(db).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.event_id) == ("deleted", 4, orphan)
    assert "seal of event id" in finding.message


def test_a_seal_moved_to_another_event_is_located(db: Database) -> None:
    fill(db, 6)
    decoy = write_unsealed(db, Entry(action="chart.read", outcome="allowed", how="web"))
    with as_attacker(db) as conn:
        conn.execute(update(AuditSeal).where(AuditSeal.seq == 3).values(event_id=decoy))
    finding = verify(db).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.event_id) == ("modified", 3, decoy)


def test_a_forged_seal_is_located(db: Database) -> None:
    fill(db, 6)
    with as_attacker(db) as conn:
        target = event_at(conn, 5).id
        conn.execute(update(AuditSeal).where(AuditSeal.seq == 5).values(prev_hash="0" * 64))
    finding = verify(db).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.event_id) == ("modified", 5, target)


def test_history_and_export_include_unsealed_events(db: Database) -> None:
    fill(db, 2)
    waiting = write_unsealed(db, Entry(action="chart.read", outcome="allowed", how="web",
                                       username="dr.x", patient_ids=[42]))  # fmt: skip
    with db.sessions() as session:
        history = events_for_patient(session, 42)
    assert history[0].id == waiting  # newest first, not sealed yet
    exported = list(iter_events(db))
    assert [e["seq"] for e in exported] == [1, 2, None]
    assert exported[-1]["id"] == waiting and exported[-1]["hash"] is None
    assert exported[-1]["username"] == "dr.x"


def test_seal_pending_stops_at_its_limit_and_carries_on(db: Database) -> None:
    fill(db, 1)
    waiting = [write_unsealed(db) for _ in range(5)]
    with db.transaction() as session:
        first = seal(session, wait=True, limit=2)
    assert (first.sealed, first.more, first.seq) == (2, True, 3)
    assert seal_pending(db).sealed == 3
    assert [seqs_by_id(db)[i] for i in waiting] == [2, 3, 4, 5, 6]
    assert verify(db).ok


# --- PostgreSQL: writers that do not wait for each other --------------------------------
@pytest.mark.postgres
def test_record_does_not_wait_for_a_busy_head(pg_db: Database) -> None:
    db = pg_db
    fill(db, 1)
    with head_held(db):
        with db.transaction() as session:
            session.execute(text("SET LOCAL lock_timeout = '5s'"))  # waiting would fail
            started = time.perf_counter()
            skipped = record(session, ENTRY).id
        assert time.perf_counter() - started < 2
        assert seqs_by_id(db)[skipped] is None
    with db.transaction() as session:
        after = record(session, ENTRY).id
    assert (seqs_by_id(db)[skipped], seqs_by_id(db)[after]) == (2, 3)
    assert verify(db).ok


@pytest.mark.postgres
def test_an_event_committed_late_is_sealed_later_never_skipped(pg_db: Database) -> None:
    db = pg_db
    with Session(db.engine) as slow:
        with head_held(db):
            late = record(slow, ENTRY).id  # written first; its transaction stays open
        with db.transaction() as session:
            early = record(session, ENTRY).id  # sealed alone: the late event is invisible yet
        assert seqs_by_id(db) == {early: 1}
        slow.commit()
    assert seqs_by_id(db) == {late: None, early: 1}
    with db.transaction() as session:
        last = record(session, ENTRY).id
    assert late < early < last
    assert seqs_by_id(db) == {early: 1, late: 2, last: 3}
    assert verify(db).ok


@pytest.mark.postgres
def test_concurrent_writers_leave_one_chain_with_each_committed_event_sealed_once(
    pg_db: Database,
) -> None:
    """Writers commit side by side, some slowly (holding their transaction open after
    writing), some rolling back; afterwards one chain holds every committed event once and
    no rolled-back one, numbered 1..N."""
    db = pg_db
    threads, each = 8, 30
    committed: list[tuple[int, int]] = []
    rolled_back: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    class Abandon(Exception):
        pass

    def write(worker: int) -> None:
        rng = random.Random(worker)
        try:
            start.wait()
            for i in range(each):
                fate = rng.random()
                try:
                    with db.transaction() as session:
                        record(session, Entry(action="chart.read", outcome="allowed", how="api",
                                              user_id=worker, details={"i": i}))  # fmt: skip
                        if fate < 0.15:
                            raise Abandon
                        if fate < 0.35:
                            time.sleep(rng.uniform(0.005, 0.05))  # others commit meanwhile
                except Abandon:
                    rolled_back.append((worker, i))
                else:
                    committed.append((worker, i))
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert not errors
    assert rolled_back and len(committed) + len(rolled_back) == threads * each
    # One more access after the writers stop seals whatever they left: no daemon needed.
    fill(db, 1)
    with db.sessions() as session:
        rows = session.execute(
            select(AuditEvent.id, AuditEvent.user_id, AuditEvent.details, AuditSeal.seq)
            .outerjoin(AuditSeal, AuditSeal.event_id == AuditEvent.id)
            .where(AuditEvent.how == "api")
        ).all()
        seals_per_event = session.execute(
            select(AuditSeal.event_id, func.count()).group_by(AuditSeal.event_id)
        ).all()
    written = sorted((r.user_id, r.details["i"]) for r in rows)
    assert written == sorted(committed)  # every committed event, no rolled-back one
    assert all(r.seq is not None for r in rows)
    assert all(n == 1 for _, n in seals_per_event)
    by_id = sorted((r.id, r.seq) for r in rows)
    late = [a for a, b in pairwise(by_id) if a[1] > b[1]]
    assert late  # some events committed after later ids were sealed: the case was exercised
    report = verify(db)
    assert report.ok, report.finding
    assert report.events == report.last_seq == len(committed) + 1
    assert report.unsealed.count == 0


@pytest.mark.postgres
def test_a_background_sealer_chains_what_no_access_followed(pg_db: Database) -> None:
    db = pg_db
    fill(db, 1)
    with head_held(db), db.transaction() as session:
        left = record(session, ENTRY).id
    assert seqs_by_id(db)[left] is None
    sealer = BackgroundSealer(db, interval=0.05)
    sealer.start()
    try:
        deadline = time.monotonic() + 10
        while seqs_by_id(db)[left] is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sealer.stop()
    assert seqs_by_id(db)[left] == 2
    assert verify(db).ok


@pytest.mark.postgres
def test_a_garbled_head_snapshot_only_costs_a_full_look(pg_db: Database) -> None:
    db = pg_db
    fill(db, 2)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_head SET snapshot = 'not a snapshot'"))
    fill(db, 1, start=2)
    assert sorted(seqs_by_id(db).values()) == [1, 2, 3]  # type: ignore[type-var]
    assert verify(db).ok
