"""Sealing: giving committed audit events their place in the chain.

``audit.record`` writes an event in the access's own transaction and locks nothing shared,
so accesses commit side by side and PostgreSQL flushes their commits together. A sealing
pass then chains what has committed: under the ``audit_head`` row lock it takes the unsealed
events it can see in id order, gives each the next ``seq``, the previous hash and its own
hash (over its content as the database returns it, read as verification reads it), inserts
the seals into ``audit_seals`` (append-only, like the events) and advances the head. The
head lock and the unique ``seq`` make two passes never give the same position; the seal's
primary key (the event id) makes an event sealed at most once.

Who seals. ``record`` tries right after writing its event, without waiting (``FOR UPDATE
SKIP LOCKED``): if the head is free it seals everything it can see, its own event included,
and holds the head until its transaction ends; if not, someone is sealing and it goes on. So
only the holder's commit is serialised, never the others', and under load each pass chains
the events that committed while the previous holder was committing. What nobody follows
(the last events before a quiet spell) is sealed by the next access, by ``seal_pending``
(``hygie audit seal``, ``hygie audit checkpoint``), or by a server's ``BackgroundSealer``.
``hygie audit verify`` reports events left unsealed too long: sealing has stopped.

Which events a pass looks at (PostgreSQL). Ids come from a sequence, so an event can commit
after events with higher ids have been sealed: passes never assume that what lies below the
last sealed id is sealed. Each event carries its transaction id (``txid``) and the head
keeps the snapshot of the last pass (its ``xmax`` and the transactions then in progress,
``xip``, to which the pass adds its own). Every transaction outside that list and below
``xmax`` had ended when that pass looked, so its events were visible to it and are sealed;
the next pass therefore looks only at events whose transaction was in the list or started
since (an index on ``txid``), and still skips any that already has a seal. A pass that stops
at its limit keeps the previous snapshot. SQLite has one writer at a time: ``record`` always
gets the head and seals its own event before committing, so the unsealed events are those
after the last sealed one.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Executable,
    bindparam,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from hygie.access import trail_pg
from hygie.access.audit import JSON_OPTIONS
from hygie.access.trail_rows import doc_of, events, heads, row_columns, seals, sqlite_iso
from hygie.db import Database
from hygie.models import AuditEvent, Base
from hygie.models.access import AuditSeal

SEALS = Base.metadata.tables["audit_seals"]
HEAD = Base.metadata.tables["audit_head"]

log = logging.getLogger(__name__)

RECORD_LIMIT = 500  # events sealed by one access on its way (a backlog is left to others)
PASS_LIMIT = 10_000  # events per transaction of seal_pending


@dataclass(frozen=True)
class SealPass:
    sealed: int  # events sealed by this pass
    seq: int  # the head after it
    hash: str
    skipped: bool = False  # the head was busy (another pass holds it): nothing done
    more: bool = False  # stopped at its limit: unsealed events remain


@dataclass(frozen=True)
class _Head:
    seq: int
    hash: str
    stored: str | None = None  # the snapshot the head keeps (PostgreSQL)
    xmax: int | None = None  # None: look at every event (first pass, or no usable snapshot)
    xip: tuple[int, ...] = ()
    snapshot_now: str | None = None  # this pass's own snapshot and transaction
    own_xid: int | None = None


def seal(session: Session, *, wait: bool = False, limit: int = RECORD_LIMIT) -> SealPass:
    """Seal, in the session's transaction, the unsealed events it can see (at most
    ``limit``). Without ``wait``, give up at once if another pass holds the head; with it,
    wait for the head. The head stays locked until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        return seal_locked(session, trail_pg.lock_head(session, wait=wait), limit=limit)
    return _seal(session, _sqlite_head(session), limit=limit, postgresql=False)


def seal_locked(
    session: Session, head: trail_pg.HeadRow | None, *, limit: int = RECORD_LIMIT
) -> SealPass:
    """PostgreSQL: seal under a head row this transaction has locked (``trail_pg``); None:
    another transaction holds the head, nothing to do."""
    if head is None:
        return _seal(session, None, limit=limit, postgresql=True)
    xmax, xip = _parse_snapshot(head[2])
    locked = _Head(
        seq=int(head[0]), hash=str(head[1]), stored=head[2], xmax=xmax, xip=xip,
        snapshot_now=str(head[3]), own_xid=int(head[4]),
    )  # fmt: skip
    return _seal(session, locked, limit=limit, postgresql=True)


def _seal(session: Session, head: _Head | None, *, limit: int, postgresql: bool) -> SealPass:
    if head is None:
        return SealPass(sealed=0, seq=0, hash="", skipped=True)
    rows: Sequence[Sequence[Any]]
    if postgresql:
        rows = trail_pg.unsealed(session, xmax=head.xmax, xip=head.xip, limit=limit + 1)
    else:
        rows = session.connection().execute(_sqlite().unsealed, {"limit": limit + 1}).all()
    more = len(rows) > limit
    seq, prev = head.seq, head.hash
    made: list[tuple[int, int, str, str]] = []
    iso = None if postgresql else sqlite_iso
    for row in rows[:limit]:
        seq += 1
        doc = doc_of(tuple(row), iso)
        doc["seq"], doc["prev_hash"] = seq, prev
        digest = hashlib.sha256(orjson.dumps(doc, option=JSON_OPTIONS)).hexdigest()
        made.append((row[0], seq, prev, digest))
        prev = digest
    snapshot = head.stored if more else _next_snapshot(head)
    if made or snapshot != head.stored:
        advance = {"new_seq": seq, "new_hash": prev, "new_snap": snapshot}
        if postgresql:
            trail_pg.seal_and_advance(session, made, advance, datetime.now(UTC))
        else:
            _sqlite_seal(session, made, advance)
    return SealPass(sealed=len(made), seq=seq, hash=prev, more=more)


# --- SQLite -------------------------------------------------------------------------------
def _sqlite_head(session: Session) -> _Head | None:
    row = session.connection().execute(_sqlite().read_head).one_or_none()
    return None if row is None else _Head(seq=int(row[0]), hash=str(row[1]))


def _sqlite_seal(
    session: Session, made: list[tuple[int, int, str, str]], advance: dict[str, Any]
) -> None:
    conn, sealed_at = session.connection(), datetime.now(UTC)
    if made:
        conn.execute(
            insert(SEALS),
            [{"event_id": e, "seq": q, "prev_hash": p, "hash": h, "sealed_at": sealed_at}
             for e, q, p, h in made],
        )  # fmt: skip
    conn.execute(_sqlite().advance, advance)


@dataclass(frozen=True)
class _SqliteStatements:
    read_head: Executable
    unsealed: Executable  # the events after the last sealed one, without a seal
    advance: Executable


@cache
def _sqlite() -> _SqliteStatements:
    """Built once (building and keying them at each call costs more than running them)."""
    last_sealed = select(func.coalesce(func.max(seals.c.event_id), 0)).scalar_subquery()
    return _SqliteStatements(
        read_head=select(heads.c.seq, heads.c.hash).where(heads.c.id == 1),
        unsealed=select(*row_columns("sqlite", sealed=False))
        .where(events.c.id > last_sealed, ~exists().where(seals.c.event_id == events.c.id))
        .order_by(events.c.id)
        .limit(bindparam("limit")),
        advance=update(HEAD)
        .where(HEAD.c.id == 1)
        .values(
            seq=bindparam("new_seq"), hash=bindparam("new_hash"), snapshot=bindparam("new_snap")
        ),
    )


# --- the head's snapshot (PostgreSQL) -------------------------------------------------------
def _parse_snapshot(text: str | None) -> tuple[int | None, tuple[int, ...]]:
    """``xmax`` and ``xip`` of a snapshot as PostgreSQL writes it (``xmin:xmax:xip,...``);
    (None, ()) if there is none or it does not parse (then every event is looked at)."""
    parts = (text or "").split(":")
    if len(parts) != 3:
        return None, ()
    try:
        return int(parts[1]), tuple(int(x) for x in parts[2].split(",") if x)
    except ValueError:
        return None, ()


def _next_snapshot(head: _Head) -> str | None:
    """The snapshot the next pass starts from: this one's, with this transaction added to
    the ones in progress (its later events, if any, are not sealed yet)."""
    if head.snapshot_now is None or head.own_xid is None:
        return None
    xmin, xmax, xip = head.snapshot_now.split(":")
    running = sorted({*(int(x) for x in xip.split(",") if x), head.own_xid})
    return f"{xmin}:{xmax}:{','.join(map(str, running))}"


def seal_pending(db: Database, *, wait: bool = True) -> SealPass:
    """Seal every event committed so far, in transactions of at most ``PASS_LIMIT`` events
    (``hygie audit seal``, checkpoints, a server's background sealer). Without ``wait``,
    return at once (``skipped``) if another pass holds the head."""
    sealed = 0
    while True:
        with db.transaction() as session:
            done = seal(session, wait=wait, limit=PASS_LIMIT)
        sealed += done.sealed
        if done.skipped or not done.more:
            return SealPass(
                sealed=sealed, seq=done.seq, hash=done.hash, skipped=done.skipped and not sealed
            )


@dataclass(frozen=True)
class Unsealed:
    """Events written but not chained yet."""

    count: int
    oldest_id: int | None = None
    oldest_at: datetime | None = None

    def age(self, now: datetime) -> float:
        """Seconds the oldest one has waited (0 if there is none)."""
        return (now - self.oldest_at).total_seconds() if self.oldest_at is not None else 0.0


NONE_UNSEALED = Unsealed(count=0)


def unsealed(conn: Connection, *, sealed: int | None = None) -> Unsealed:
    """How many events have no seal, and the oldest of them. ``sealed``: how many events an
    intact chain was just found to hold (seqs 1..sealed, one event each); when every event
    is among them, that is known from a count alone, without the anti-join."""
    if sealed is not None:
        total = conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        if total == sealed:
            return NONE_UNSEALED
    unsealed_events = ~exists().where(AuditSeal.event_id == AuditEvent.id)
    count = conn.execute(
        select(func.count()).select_from(AuditEvent).where(unsealed_events)
    ).scalar_one()
    if not count:
        return NONE_UNSEALED
    oldest = conn.execute(
        select(AuditEvent.id, AuditEvent.at)
        .where(unsealed_events)
        .order_by(AuditEvent.at, AuditEvent.id)
        .limit(1)
    ).one()
    return Unsealed(count=int(count), oldest_id=int(oldest[0]), oldest_at=oldest[1])


_deferred = threading.Event()


def deferred() -> bool:
    """Whether accesses of this process leave sealing to its background sealer."""
    return _deferred.is_set()


class BackgroundSealer:
    """Seals every ``interval`` seconds in a daemon thread: for a server process, so that
    the events whose writers found the head busy are chained even if no access follows.
    Several processes may each run one; a pass that finds the head busy does nothing."""

    def __init__(self, db: Database, *, interval: float = 0.5, defer: bool = False) -> None:
        """``defer``: while it runs, accesses of this process (PostgreSQL) write their
        event without trying to seal: a server under load then seals in batches (two
        statements a pass) instead of once per access, off the request's path."""
        self.db = db
        self.interval = interval
        self.defer = defer and db.dialect == "postgresql"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)
            self._thread.start()
            if self.defer:
                _deferred.set()

    def stop(self) -> None:
        """Stop, after a last pass: what this process recorded is sealed when it ends."""
        _deferred.clear()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            try:
                seal_pending(self.db, wait=True)
            except Exception:
                log.exception("last audit sealing pass failed")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                seal_pending(self.db, wait=False)
            except Exception:  # keep sealing after a failed pass; verify reports a stall
                log.exception("audit sealing pass failed")
