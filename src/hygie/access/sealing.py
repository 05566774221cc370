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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    String,
    Text,
    any_,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from hygie.access.audit import JSON_OPTIONS
from hygie.access.trail_rows import doc_of, events, heads, iso_of, row_columns, seals
from hygie.db import Database
from hygie.models import AuditEvent, AuditHead
from hygie.models.access import AuditSeal
from hygie.models.types import UTCDateTime

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
    xmax: int | None = None  # None: look at every event (first pass, or no snapshot kept)
    xip: tuple[int, ...] = ()
    snapshot_now: str | None = None  # this pass's own snapshot and transaction
    own_xid: int | None = None


def seal(session: Session, *, wait: bool = False, limit: int = RECORD_LIMIT) -> SealPass:
    """Seal, in the session's transaction, the unsealed events it can see (at most
    ``limit``). Without ``wait``, give up at once if another pass holds the head; with it,
    wait for the head. The head stays locked until the transaction ends."""
    dialect = session.get_bind().dialect.name
    head = _lock_head(session, wait=wait) if dialect == "postgresql" else _sqlite_head(session)
    if head is None:
        return SealPass(sealed=0, seq=0, hash="", skipped=True)
    rows = session.execute(
        select(*row_columns(dialect, sealed=False))
        .where(_candidates(head, dialect), ~exists().where(seals.c.event_id == events.c.id))
        .order_by(events.c.id)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    seq, prev = head.seq, head.hash
    sealed_at = datetime.now(UTC)
    made: list[dict[str, Any]] = []
    iso = iso_of(dialect)
    for row in rows[:limit]:
        seq += 1
        doc = doc_of(tuple(row), iso)
        doc["seq"], doc["prev_hash"] = seq, prev
        digest = hashlib.sha256(orjson.dumps(doc, option=JSON_OPTIONS)).hexdigest()
        made.append(
            {"event_id": row[0], "seq": seq, "prev_hash": prev, "hash": digest,
             "sealed_at": sealed_at}
        )  # fmt: skip
        prev = digest
    snapshot = _next_snapshot(head) if not more else None
    if made or snapshot is not None:
        values: dict[str, Any] = {"seq": seq, "hash": prev}
        if snapshot is not None:
            values["snapshot"] = snapshot
        _write_seals(session, made, values, sealed_at, dialect)
    return SealPass(sealed=len(made), seq=seq, hash=prev, more=more)


def _write_seals(
    session: Session,
    made: list[dict[str, Any]],
    head: dict[str, Any],
    sealed_at: datetime,
    dialect: str,
) -> None:
    """Insert the seals and advance the head (PostgreSQL: in one statement)."""
    advance = update(AuditHead).where(AuditHead.id == 1).values(**head)
    if dialect == "postgresql" and made:
        rows = (
            func.unnest(
                literal([m["event_id"] for m in made], ARRAY(BigInteger)),
                literal([m["seq"] for m in made], ARRAY(BigInteger)),
                literal([m["prev_hash"] for m in made], ARRAY(String)),
                literal([m["hash"] for m in made], ARRAY(String)),
            )
            .table_valued("event_id", "seq", "prev_hash", "hash")
            .render_derived()
        )
        sealed = (
            insert(AuditSeal)
            .from_select(
                ["event_id", "seq", "prev_hash", "hash", "sealed_at"],
                select(*rows.c, literal(sealed_at, UTCDateTime())),
            )
            .cte("sealed")
        )
        session.execute(advance.add_cte(sealed))
        return
    if made:
        session.execute(insert(AuditSeal), made)
    session.execute(advance)


def _lock_head(session: Session, *, wait: bool) -> _Head | None:
    """The head, locked (PostgreSQL), with this statement's snapshot and transaction id."""
    row = session.execute(
        select(
            heads.c.seq,
            heads.c.hash,
            heads.c.snapshot,
            cast(func.pg_current_snapshot(), Text),
            cast(func.pg_current_xact_id(), Text),
        )
        .where(heads.c.id == 1)
        .with_for_update(skip_locked=not wait)
    ).one_or_none()
    if row is None:
        return None
    xmax, xip = _parse_snapshot(row[2])
    return _Head(
        seq=int(row[0]), hash=str(row[1]), xmax=xmax, xip=xip,
        snapshot_now=str(row[3]), own_xid=int(row[4]),
    )  # fmt: skip


def _sqlite_head(session: Session) -> _Head | None:
    row = session.execute(select(heads.c.seq, heads.c.hash).where(heads.c.id == 1)).one_or_none()
    return None if row is None else _Head(seq=int(row[0]), hash=str(row[1]))


def _candidates(head: _Head, dialect: str) -> ColumnElement[bool]:
    """Where the unsealed events can be (module docstring)."""
    if dialect != "postgresql":
        last = select(func.coalesce(func.max(seals.c.event_id), 0)).scalar_subquery()
        return events.c.id > last
    if head.xmax is None:
        return true()
    txid = events.c.txid
    # One array parameter, whatever the number of transactions: one prepared statement.
    in_progress = literal(list(head.xip), ARRAY(BigInteger))
    return or_(txid >= head.xmax, txid == any_(in_progress))


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


class BackgroundSealer:
    """Seals every ``interval`` seconds in a daemon thread: for a server process, so that
    the events whose writers found the head busy are chained even if no access follows.
    Several processes may each run one; a pass that finds the head busy does nothing."""

    def __init__(self, db: Database, *, interval: float = 0.5) -> None:
        self.db = db
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                seal_pending(self.db, wait=False)
            except Exception:  # keep sealing after a failed pass; verify reports a stall
                log.exception("audit sealing pass failed")
