"""The trail's verification: intact chains pass; every kind of tampering by someone with
database rights is detected and located; signed checkpoints expose a truncated tail or a
rewritten chain; concurrent writers keep one chain."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from hygie.access.audit import CHAINED_FIELDS, GENESIS
from hygie.access.trail import (
    AuditKey,
    TrailBrokenError,
    _Walker,
    checkpoint,
    checkpoint_message,
    init_audit_key,
    load_audit_key,
    verify,
)
from hygie.db import Database
from hygie.errors import ConfigurationError
from hygie.models import AuditCheckpoint, AuditEvent, AuditHead, AuditPatient
from hygie.models.access import AuditSeal
from tests.access.trail_helpers import (
    as_attacker,
    event_at,
    fill,
    forged,
    insert_forged,
    rehash_from,
    set_seq,
    values_of,
)


@pytest.fixture
def key(tmp_path: Path) -> AuditKey:
    return init_audit_key(tmp_path / "audit.key")


def test_an_intact_trail_verifies(db: Database, key: AuditKey) -> None:
    fill(db, 12)
    report = verify(db, public_key=key.public)
    assert report.ok, report.finding
    assert (report.events, report.last_seq, report.checkpoints) == (12, 12, 0)
    with db.sessions() as session:
        assert report.last_hash == session.scalar(select(AuditHead.hash))


def test_an_empty_trail_verifies_and_can_be_checkpointed(db: Database, key: AuditKey) -> None:
    assert verify(db).ok
    signed = checkpoint(db, key)
    assert (signed.seq, signed.head_hash) == (0, GENESIS)
    report = verify(db, public_key=key.public)
    assert report.ok and report.checkpoints == 1 and report.events == 1


def test_the_walk_hashes_the_same_fields_as_record(db: Database) -> None:
    with db.engine.connect() as conn:
        walker = _Walker(conn, batch_size=10)
        walker.iso = None
        row = (1, 1, "at", *([None] * 11), "[]", "[]", *([None] * 4), "{}", GENESIS, "h")
        assert set(walker._doc(row)) == set(CHAINED_FIELDS)


@pytest.mark.parametrize("verb", ["UPDATE", "DELETE"])
def test_triggers_refuse_update_and_delete(db: Database, verb: str) -> None:
    fill(db, 2)
    statement = update(AuditEvent).values(username="x") if verb == "UPDATE" else delete(AuditEvent)
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(statement.where(AuditEvent.id == 1))
    seal = update(AuditSeal).values(seq=9) if verb == "UPDATE" else delete(AuditSeal)
    with pytest.raises(DBAPIError, match="audit_seals is append-only"), db.engine.begin() as conn:
        conn.execute(seal.where(AuditSeal.seq == 2))
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(
            update(AuditCheckpoint).values(seq=1) if verb == "UPDATE" else delete(AuditCheckpoint)
        )
        conn.execute(update(AuditEvent).values(ip=AuditEvent.ip))  # reached if no checkpoint
    assert verify(db).ok


@pytest.mark.postgres
def test_triggers_refuse_truncate_on_postgresql(pg_db: Database) -> None:
    db = pg_db  # SQLite has no TRUNCATE
    fill(db, 2)
    for table in ("audit_events", "audit_patients", "audit_checkpoints", "audit_seals"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {table} CASCADE"))
    assert verify(db).events == 2


def test_a_modified_event_is_located(db: Database) -> None:
    fill(db, 10)
    with as_attacker(db) as conn:
        target = event_at(conn, 5).id
        conn.execute(update(AuditEvent).where(AuditEvent.id == target).values(username="someone"))
    finding = verify(db).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.event_id) == ("modified", 5, target)
    assert "seq 5" in finding.message


def test_a_modified_event_with_its_hash_recomputed_is_located(db: Database) -> None:
    fill(db, 10)
    with as_attacker(db) as conn:
        event = event_at(conn, 4)
        target = event.id
        values = forged(event, outcome="denied")
        conn.execute(update(AuditEvent).where(AuditEvent.id == target).values(outcome="denied"))
        conn.execute(update(AuditSeal).where(AuditSeal.seq == 4).values(hash=values["hash"]))
    finding = verify(db).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.event_id) == ("modified", 4, target)


def _delete_event(conn: Connection, event_id: int) -> None:
    conn.execute(delete(AuditPatient).where(AuditPatient.event_id == event_id))
    conn.execute(delete(AuditSeal).where(AuditSeal.event_id == event_id))
    conn.execute(delete(AuditEvent).where(AuditEvent.id == event_id))


def test_a_deleted_event_is_located(db: Database) -> None:
    fill(db, 10)
    with as_attacker(db) as conn:
        _delete_event(conn, event_at(conn, 6).id)
    finding = verify(db).finding
    assert finding is not None
    assert (finding.kind, finding.seq) == ("deleted", 6)
    assert "seq 6 is missing" in finding.message


def test_a_deleted_event_with_the_chain_renumbered_is_located(db: Database) -> None:
    fill(db, 10)
    with as_attacker(db) as conn:
        _delete_event(conn, event_at(conn, 6).id)
        for seq in range(7, 11):
            set_seq(conn, seq, seq - 1)
        conn.execute(update(AuditHead).values(seq=9))
    finding = verify(db).finding
    assert finding is not None
    assert (finding.kind, finding.seq) == ("deleted", 6)


def test_an_inserted_event_is_located(db: Database) -> None:
    fill(db, 10)
    with as_attacker(db) as conn:
        # Make room at seq 4 and put in an event chained and hashed as record would.
        for seq in range(10, 3, -1):
            set_seq(conn, seq, seq + 1)
        before = event_at(conn, 3)
        fake = forged(
            event_at(conn, 5), seq=4, prev_hash=before.hash, username="scapegoat", user_id=99
        )
        forged_id = insert_forged(conn, fake)
        conn.execute(update(AuditHead).values(seq=11))
    finding = verify(db).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.event_id) == ("inserted", 4, forged_id)


def test_an_inserted_event_with_a_wrong_hash_is_located(db: Database) -> None:
    fill(db, 6)
    with as_attacker(db) as conn:
        for seq in range(6, 2, -1):
            set_seq(conn, seq, seq + 1)
        fake = {**values_of(event_at(conn, 4)), "seq": 3, "hash": "f" * 64}
        forged_id = insert_forged(conn, fake)
        conn.execute(update(AuditHead).values(seq=7))
    finding = verify(db).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.event_id) == ("inserted", 3, forged_id)


def test_an_event_appended_beyond_the_head_is_located(db: Database) -> None:
    fill(db, 5)
    with as_attacker(db) as conn:
        last = event_at(conn, 5)
        fake = forged(last, seq=6, prev_hash=last.hash)
        forged_id = insert_forged(conn, fake)
    finding = verify(db).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.event_id) == ("inserted", 6, forged_id)


def test_reordered_events_are_located(db: Database) -> None:
    fill(db, 10)
    with as_attacker(db) as conn:
        moved = event_at(conn, 8).id
        set_seq(conn, 7, -7)
        set_seq(conn, 8, 7)
        set_seq(conn, -7, 8)
    finding = verify(db).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.event_id) == ("reordered", 7, moved)


def test_a_truncated_tail_after_a_checkpoint_is_detected(db: Database, key: AuditKey) -> None:
    fill(db, 10)
    signed = checkpoint(db, key)  # signs seq 10, then records itself at seq 11
    assert signed.seq == 10
    assert verify(db, public_key=key.public).ok
    with as_attacker(db) as conn:
        kept = event_at(conn, 7)
        for doomed in conn.scalars(select(AuditSeal.event_id).where(AuditSeal.seq > 7)).all():
            _delete_event(conn, doomed)
        conn.execute(update(AuditHead).values(seq=7, hash=kept.hash))  # covering tracks
    finding = verify(db, public_key=key.public).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.checkpoint_id) == (
        "deleted",
        8,
        signed.checkpoint_id,
    )
    assert "truncated" in finding.message


def test_a_truncated_tail_is_detected_by_the_head_too(db: Database) -> None:
    fill(db, 8)
    with as_attacker(db) as conn:
        for doomed in conn.scalars(select(AuditSeal.event_id).where(AuditSeal.seq > 5)).all():
            _delete_event(conn, doomed)
    finding = verify(db).finding
    assert finding is not None
    assert (finding.kind, finding.seq) == ("deleted", 6)


def test_a_rewritten_chain_is_detected_by_the_checkpoint(db: Database, key: AuditKey) -> None:
    fill(db, 10)
    signed = checkpoint(db, key)
    with as_attacker(db) as conn:
        rehash_from(conn, 3, username="nobody")  # consistent: every hash recomputed
    finding = verify(db, public_key=key.public).finding
    assert finding is not None
    assert (finding.kind, finding.seq, finding.checkpoint_id) == (
        "checkpoint",
        10,
        signed.checkpoint_id,
    )


def test_verify_refuses_checkpoints_it_cannot_check(db: Database, key: AuditKey) -> None:
    fill(db, 2)
    checkpoint(db, key)
    with pytest.raises(ConfigurationError, match="cannot be checked"):
        verify(db)


def test_a_forged_or_foreign_checkpoint_is_detected(
    db: Database, key: AuditKey, tmp_path: Path
) -> None:
    fill(db, 3)
    checkpoint(db, key)
    other = init_audit_key(tmp_path / "other.key")  # the attacker's own key
    signed_at = datetime.now(UTC)
    with db.transaction() as session:
        session.add(
            AuditCheckpoint(
                seq=3,
                head_hash="a" * 64,
                signed_at=signed_at,
                key_id=other.key_id,
                signature=base64.b64encode(
                    other.private.sign(checkpoint_message(3, "a" * 64, signed_at, other.key_id))
                ).decode(),
                active=True,
            )
        )
    finding = verify(db, public_key=key.public).finding
    assert finding is not None and finding.kind == "checkpoint"
    assert "unknown key" in finding.message
    with as_attacker(db) as conn:
        conn.execute(delete(AuditCheckpoint).where(AuditCheckpoint.key_id == other.key_id))
        conn.execute(update(AuditCheckpoint).values(seq=2))
    finding = verify(db, public_key=key.public).finding
    assert finding is not None and finding.kind == "checkpoint"
    assert "bad signature" in finding.message


def test_checkpoint_refuses_to_sign_a_broken_chain(db: Database, key: AuditKey) -> None:
    fill(db, 4)
    with as_attacker(db) as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.id == 2).values(ip="1.2.3.4"))
    with pytest.raises(TrailBrokenError, match="seq 2"):
        checkpoint(db, key)
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 0


def test_checkpoints_chain_on(db: Database, key: AuditKey) -> None:
    fill(db, 3)
    first = checkpoint(db, key)
    fill(db, 3, start=3)
    second = checkpoint(db, key)
    assert (first.seq, second.seq) == (3, 7)
    assert second.verified.events == 4  # only what came after the first checkpoint
    report = verify(db, public_key=key.public)
    assert report.ok and report.checkpoints == 2 and report.events == 8
    with db.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.seq == 8)).one()
    assert event.action == "audit.checkpoint"
    assert event.details["seq"] == 7 and event.details["key_id"] == key.key_id


def test_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    key = init_audit_key(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    before = path.read_bytes()
    with pytest.raises(ConfigurationError, match="already exists"):
        init_audit_key(path)
    assert path.read_bytes() == before
    assert load_audit_key(path).key_id == key.key_id
    (tmp_path / "bad.key").write_text("not a key")
    with pytest.raises(ConfigurationError, match="not a PEM"):
        load_audit_key(tmp_path / "bad.key")
    with pytest.raises(ConfigurationError, match="not found"):
        load_audit_key(tmp_path / "missing.key")
