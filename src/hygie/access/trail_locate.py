"""Locating what is wrong with the audit trail, once verification has found that something
is (the failure path only): which event or seal was modified, deleted, inserted or moved.

``Locator`` works on the rows ``trail_rows`` reads (an event joined with its seal) and is
the base of the verification walk in ``trail``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, exists, select
from sqlalchemy.sql.elements import ColumnElement

from hygie.access.audit import GENESIS, JSON_OPTIONS
from hygie.access.trail_rows import (
    HASH,
    PREV_HASH,
    Row,
    chain,
    doc_of,
    events,
    row_columns,
    seals,
)

SEARCH_WINDOW = 1000  # how far a moved event is looked for
UNSEALED_LOOKED_AT = 10_000  # unsealed events tried against a deleted seal


@dataclass(frozen=True)
class Finding:
    """The first thing wrong with the trail, located."""

    kind: str  # modified | deleted | inserted | reordered | checkpoint | unsealed
    message: str
    seq: int | None = None
    event_id: int | None = None
    checkpoint_id: int | None = None


@dataclass(frozen=True)
class StoredCheckpoint:
    id: int
    seq: int
    head_hash: str
    signed_at: datetime
    key_id: str
    signature: str


@dataclass
class WalkState:
    expected: int
    prev_hash: str
    prev_id: int | None = None
    prev_seq: int = 0


def rewritten(cp: StoredCheckpoint, seq: int | None, event_id: Any, last_good: int) -> Finding:
    where = f"event seq {seq} (id {event_id})" if seq else "the empty chain"
    return Finding(
        "checkpoint",
        f"signed checkpoint #{cp.id} (seq {cp.seq}) no longer matches {where}: the chain was "
        f"rewritten between seq {last_good + 1} and seq {cp.seq}",
        seq=cp.seq,
        event_id=int(event_id) if event_id is not None else None,
        checkpoint_id=cp.id,
    )


class Locator:
    """Reads and hashes single rows of the chain; names the fault at a row."""

    conn: Connection
    columns: list[ColumnElement[Any]]
    iso: Callable[[str], str] | None

    def _doc(self, row: Row) -> dict[str, Any]:
        return doc_of(row, self.iso)

    def _hash(self, row: Row, seq: int | None = None, prev_hash: str | None = None) -> str | None:
        """The hash of the row's content at ``seq`` after ``prev_hash`` (default: its
        seal's); None if the stored content cannot be read back."""
        try:
            doc = self._doc(row)
            if seq is not None:
                doc["seq"] = seq
            if prev_hash is not None:
                doc["prev_hash"] = prev_hash
            return hashlib.sha256(orjson.dumps(doc, option=JSON_OPTIONS)).hexdigest()
        except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
            return None

    def _matches(self, row: Row, seq: int | None = None) -> bool:
        """Does the row's content, at ``seq`` (default its own), hash to its stored hash?"""
        return bool(self._hash(row, seq) == row[HASH])

    def _row_at(self, seq: int) -> Row | None:
        row = self.conn.execute(
            select(*self.columns).select_from(chain).where(seals.c.seq == seq)
        ).first()
        return tuple(row) if row is not None else None

    def _row_after(self, seq: int) -> Row | None:
        row = self.conn.execute(
            select(*self.columns)
            .select_from(chain)
            .where(seals.c.seq > seq)
            .order_by(seals.c.seq)
            .limit(1)
        ).first()
        return tuple(row) if row is not None else None

    def _where(self, **equal: Any) -> list[Row]:
        """(event id, seq) of the seals with these values (``hash``, ``prev_hash``)."""
        stmt = select(seals.c.event_id, seals.c.seq)
        for name, value in equal.items():
            stmt = stmt.where(seals.c[name] == value)
        return [tuple(r) for r in self.conn.execute(stmt.order_by(seals.c.seq))]

    def _unsealed_at(self, seq: int, prev_hash: str, hash_: str) -> int | None:
        """The id of an unsealed event that, sealed at ``seq`` after ``prev_hash``, hashes
        to ``hash_``: an event whose seal was deleted."""
        dialect = self.conn.dialect.name
        rows = self.conn.execute(
            select(*row_columns(dialect, sealed=False))
            .where(~exists().where(seals.c.event_id == events.c.id))
            .order_by(events.c.id)
            .limit(UNSEALED_LOOKED_AT)
        )
        for row in rows:
            if self._hash(tuple(row), seq, prev_hash) == hash_:
                return int(row[0])
        return None

    def _original_seq(self, row: Row) -> int | None:
        """The seq this event was written at, if it hashes right at another one."""
        seq = int(row[1])
        candidates: list[int] = []
        if row[PREV_HASH] == GENESIS:
            candidates.append(1)
        candidates += [int(s) + 1 for _, s in self._where(hash=row[PREV_HASH])]
        for delta in range(1, SEARCH_WINDOW + 1):
            candidates += [seq - delta, seq + delta]
        for candidate in candidates:
            if candidate != seq and candidate > 0 and self._matches(row, candidate):
                return candidate
        return None

    def _bad_numbering(self, row: Row, state: WalkState) -> Finding:
        seq, event_id = int(row[1]), int(row[0])
        if seq == state.expected + 1:
            orphan = self._unsealed_at(state.expected, state.prev_hash, row[PREV_HASH])
            if orphan is not None:
                return Finding(
                    "deleted",
                    f"the seal of event id {orphan} (seq {state.expected}) was deleted: the "
                    "event is still there, out of the chain",
                    seq=state.expected,
                    event_id=orphan,
                )
        if seq > state.expected:
            span = (
                f"{state.expected}" if seq == state.expected + 1 else f"{state.expected}..{seq - 1}"
            )
            return Finding(
                "deleted",
                f"event seq {span} is missing (deleted); the chain resumes at seq {seq} "
                f"(id {event_id})",
                seq=state.expected,
            )
        return Finding(
            "inserted",
            f"event id {event_id} repeats seq {seq}, already taken: inserted",
            seq=seq,
            event_id=event_id,
        )

    def _bad_content(self, row: Row, state: WalkState) -> Finding:
        seq, event_id = int(row[1]), int(row[0])
        original = self._original_seq(row)
        if original is not None and original < seq:
            # Written earlier in the chain, pushed down: events were put in before it.
            first = self._row_at(original)
            first_id = int(first[0]) if first else None
            return Finding(
                "inserted",
                f"event seq {original} (id {first_id}) was inserted: event id {event_id}, "
                f"written at seq {original}, now stands at seq {seq}",
                seq=original,
                event_id=first_id,
            )
        if original is not None:
            # Written later, pulled up: either its predecessors were deleted and the chain
            # renumbered, or events were swapped (the one written here is elsewhere).
            displaced = [r for r in self._where(prev_hash=state.prev_hash) if r[0] != event_id]
            if displaced:
                other_id, other_seq = displaced[0]
                return Finding(
                    "reordered",
                    f"event seq {seq} (id {event_id}) was written at seq {original}; the event "
                    f"written at seq {seq} (id {other_id}) now stands at seq {other_seq}: "
                    "events reordered",
                    seq=seq,
                    event_id=event_id,
                )
            return Finding(
                "deleted",
                f"event seq {seq}{'' if original == seq + 1 else f'..{original - 1}'} was "
                f"deleted and the later events renumbered (event id {event_id}, written at "
                f"seq {original}, now stands at seq {seq})",
                seq=seq,
            )
        following = self._row_after(seq)
        if following is not None and following[PREV_HASH] == state.prev_hash:
            return Finding(
                "inserted",
                f"event seq {seq} (id {event_id}) was inserted: the event after it is chained "
                "to the one before it",
                seq=seq,
                event_id=event_id,
            )
        return Finding(
            "modified",
            f"event seq {seq} (id {event_id}) was modified: its content no longer matches the "
            "hash its seal records (the event or its seal was altered)",
            seq=seq,
            event_id=event_id,
        )

    def _bad_link(self, row: Row, state: WalkState) -> Finding:
        seq, event_id = int(row[1]), int(row[0])
        if state.prev_id is None:
            return Finding(
                "deleted",
                f"event seq {seq} (id {event_id}) does not follow the start of the chain: "
                "what came before it was removed or replaced",
                seq=seq,
                event_id=event_id,
            )
        elsewhere = [r for r in self._where(hash=row[PREV_HASH]) if r[1] != state.prev_seq]
        if elsewhere:
            other_id, other_seq = elsewhere[0]
            return Finding(
                "reordered",
                f"event seq {seq} (id {event_id}) is chained to event id {other_id}, which "
                f"now stands at seq {other_seq}: events reordered",
                seq=seq,
                event_id=event_id,
            )
        return Finding(
            "modified",
            f"event seq {state.prev_seq} (id {state.prev_id}) was rewritten (content and hash "
            f"changed): event seq {seq} was chained to a different event",
            seq=state.prev_seq,
            event_id=state.prev_id,
        )
