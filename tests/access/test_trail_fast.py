"""The PostgreSQL fast path of ``verify`` (``trail_fast``): it hashes exactly what
``event_hash`` hashes, and with the chain split between two processes every fault is still
found and located as the event-by-event walk locates it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text, update

from hygie.access import trail_fast
from hygie.access.audit import GENESIS, Entry, event_hash, record
from hygie.access.trail import checkpoint, init_audit_key, verify
from hygie.db import Database
from hygie.models import AuditEvent
from tests.access.trail_helpers import as_attacker, event_at, fill, set_seq, values_of

pytestmark = pytest.mark.postgres

ODD = [
    Entry(
        action="chart.read",
        outcome="allowed",
        how="web",
        username="dr.lefèvre 医生 \U0001f600",
        user_agent='Mozilla "quoted" \\ back\tslash\nnew line \x01 \u2028',
        patient_ids=[2**30, 7],
        details={
            "nested": {"z": [1.5, None, True, {"é": "\x7f"}], "a": -0.0, "big": 2**63},
            "none": None,
            "text": "\u00e9\u0000",
            3: "int key",
        },
    ),
    Entry(action="login", outcome="failed", how="api"),  # every optional field None
    Entry(action="x", outcome="denied", how="cli", reason="", purpose="null", ip="\\N"),
]


def _record_odd(db: Database) -> None:
    for i, entry in enumerate(ODD):
        with db.transaction() as session:
            record(session, entry, now=datetime(2026, 11, 2, 8, 30, i, 5, tzinfo=UTC))


def test_the_fast_path_hashes_what_event_hash_hashes(pg_db: Database) -> None:
    _record_odd(pg_db)
    with pg_db.engine.connect() as conn:
        driver = conn.connection.driver_connection
        prefix = trail_fast.clean_prefix(driver, -(2**62), GENESIS, 3, frozenset({1, 2, 3}))  # type: ignore[arg-type]
        stored = {e.seq: e for e in [event_at(conn, s) for s in (1, 2, 3)]}
    assert prefix.complete and prefix.count == 3
    for seq, event in stored.items():
        assert prefix.marked[seq] == event.hash == event_hash(values_of(event))
    assert verify(pg_db).ok


@pytest.fixture
def split(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check the upper parts of even short chains in other processes."""
    monkeypatch.setattr(trail_fast, "PARALLEL_MIN", 2)
    monkeypatch.setattr(trail_fast, "BATCH", 3)


@pytest.mark.usefixtures("split")
def test_a_split_intact_chain_verifies_with_its_checkpoints(
    pg_db: Database, tmp_path: Path
) -> None:
    fill(pg_db, 9)
    _record_odd(pg_db)
    key = init_audit_key(tmp_path / "audit.key")
    checkpoint(pg_db, key)
    fill(pg_db, 7, start=20)
    report = verify(pg_db, public_key=key.public)
    assert report.ok, report.finding
    assert (report.events, report.last_seq, report.checkpoints) == (20, 20, 1)


@pytest.mark.usefixtures("split")
@pytest.mark.parametrize("seq", [2, 9, 10, 11, 19, 20])
def test_a_split_chain_locates_a_modified_event(pg_db: Database, seq: int) -> None:
    fill(pg_db, 20)
    with as_attacker(pg_db) as conn:
        target = event_at(conn, seq).id
        conn.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(role="admin"))
    finding = verify(pg_db).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.event_id) == ("modified", seq, target)


@pytest.mark.usefixtures("split")
def test_a_split_chain_locates_reordered_events(pg_db: Database) -> None:
    fill(pg_db, 20)
    with as_attacker(pg_db) as conn:
        set_seq(conn, 14, -14)
        set_seq(conn, 15, 14)
        set_seq(conn, -14, 15)
    finding = verify(pg_db).finding
    assert finding is not None
    assert (finding.kind, finding.seq) == ("reordered", 14)


@pytest.mark.usefixtures("split")
def test_a_split_chain_checks_a_rewritten_checkpointed_event(
    pg_db: Database, tmp_path: Path
) -> None:
    from tests.access.trail_helpers import rehash_from

    fill(pg_db, 16)
    key = init_audit_key(tmp_path / "audit.key")
    signed = checkpoint(pg_db, key)
    with as_attacker(pg_db) as conn:
        rehash_from(conn, 12, username="nobody")
    finding = verify(pg_db, public_key=key.public).finding
    assert finding is not None
    assert (finding.kind, finding.checkpoint_id) == ("checkpoint", signed.checkpoint_id)


def test_details_stored_out_of_key_order_still_check_out_fast(pg_db: Database) -> None:
    """The fast path hashes without sorting keys (record stores them sorted) and hashes
    again with sorting before doubting an event: details written otherwise still pass."""
    fill(pg_db, 2)
    with pg_db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_events (at, how, action, patient_ids, categories, outcome, "
                "record_count, details, txid) VALUES (now(), 'api', 'x', '[]', '[]', 'allowed', "
                """0, '{"b": {"z": 1, "a": 2}, "a": 1}', pg_current_xact_id()::text::bigint)"""
            )
        )
    fill(pg_db, 2, start=2)  # seals it (hashing sorted, as always) and two more
    with pg_db.engine.connect() as conn:
        driver = conn.connection.driver_connection
        prefix = trail_fast.clean_prefix(driver, -(2**62), GENESIS, 5, frozenset())  # type: ignore[arg-type]
    assert prefix.complete and prefix.count == 5
    assert verify(pg_db).ok
