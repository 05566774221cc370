"""A server's background sealer with deferral (PostgreSQL): accesses write their events
without touching the chain head; the sealer chains them in batches, and a last pass at
stop leaves nothing unsealed."""

from __future__ import annotations

import threading
import time

import pytest

from hygie.access import sealing
from hygie.access.audit import Entry, record
from hygie.access.sealing import BackgroundSealer
from hygie.access.trail import verify
from hygie.db import Database
from tests.access.test_sealing import head_held, seqs_by_id

ENTRY = Entry(action="chart.read", outcome="allowed", how="api", user_id=1, patient_ids=[7])


@pytest.mark.postgres
def test_deferred_accesses_are_chained_by_the_sealer(pg_db: Database) -> None:
    sealer = BackgroundSealer(pg_db, interval=3600, defer=True)  # passes only when told
    sealer.start()
    try:
        assert sealing.deferred()
        # The head held elsewhere does not slow a deferred access: it never asks for it.
        with head_held(pg_db), pg_db.transaction() as session:
            ids = [record(session, ENTRY).id for _ in range(5)]
        assert all(seqs_by_id(pg_db)[i] is None for i in ids)
        sealing.seal_pending(pg_db)
        assert sorted(seqs_by_id(pg_db)[i] or 0 for i in ids) == [1, 2, 3, 4, 5]
        with pg_db.transaction() as session:
            last = record(session, ENTRY).id
    finally:
        sealer.stop()
    assert not sealing.deferred()
    assert seqs_by_id(pg_db)[last] == 6  # the last pass at stop
    assert verify(pg_db).ok


@pytest.mark.postgres
def test_concurrent_deferred_accesses_make_one_chain(pg_db: Database) -> None:
    sealer = BackgroundSealer(pg_db, interval=0.01, defer=True)
    sealer.start()

    def access() -> None:
        for _ in range(25):
            with pg_db.transaction() as session:
                record(session, ENTRY)

    try:
        workers = [threading.Thread(target=access) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        time.sleep(0.05)
    finally:
        sealer.stop()
    assert sorted(s or 0 for s in seqs_by_id(pg_db).values()) == list(range(1, 101))
    assert verify(pg_db).ok


def test_no_deferral_on_sqlite(db: Database) -> None:
    sealer = BackgroundSealer(db, interval=3600, defer=True)
    sealer.start()
    try:
        assert sealing.deferred() == (db.dialect == "postgresql")
    finally:
        sealer.stop()
