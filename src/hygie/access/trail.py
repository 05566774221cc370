"""Checking the audit trail: chain verification and signed checkpoints.

``verify`` walks the chain in ``seq`` order (the seals, each joined with its event) with
plain Core selects in batches, recomputes each event's hash from its stored fields and its
seal's position and previous hash, and checks the links (``prev_hash``) and the numbering
(1, 2, 3...). The first event that does not fit is located and named: modified, deleted,
inserted or reordered — the event or its seal. An attacker with write access to the database
can rewrite the whole chain consistently (the hash is not keyed), so the chain head is also
signed from time to time (``checkpoint``) with an Ed25519 key kept outside the database
(``trail_keys``): every signed checkpoint must still match the chain, which exposes a
truncated tail or a rewritten chain up to the last checkpoint. Events written after the last
checkpoint are protected by the chain only: checkpoint often, and ship the trail to a SIEM
(``trail_export``). Events not sealed yet are not in the chain: ``verify`` counts them and
fails if one has waited longer than a grace period (sealing has stopped; ``sealing``).
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, bindparam, column, func, select, table

from hygie.access.audit import GENESIS, JSON_OPTIONS, Entry, iso_utc, record
from hygie.access.sealing import NONE_UNSEALED, Unsealed, seal_pending, unsealed
from hygie.access.trail_fast import Prefix, clean_prefix
from hygie.access.trail_keys import (
    AUDIT_KEY_ENV,
    AuditKey,
    audit_key_path,
    checkpoint_message,
    init_audit_key,
    key_id_of,
    load_audit_key,
)
from hygie.access.trail_locate import (
    Finding,
    Locator,
    StoredCheckpoint,
    WalkState,
    rewritten,
)
from hygie.access.trail_rows import (
    chain,
    heads,
    iso_of,
    row_columns,
    seals,
)
from hygie.db import Database
from hygie.errors import ConfigurationError, HygieError
from hygie.models import AuditCheckpoint

__all__ = [
    "AuditKey",
    "CheckpointResult",
    "Finding",
    "TrailBrokenError",
    "VerifyReport",
    "audit_key_path",
    "checkpoint",
    "checkpoint_message",
    "init_audit_key",
    "load_audit_key",
    "verify",
]

DEFAULT_SEAL_GRACE = timedelta(seconds=60)  # an event unsealed for longer: sealing stopped
checkpoints = table(
    "audit_checkpoints",
    *(column(n) for n in ("id", "seq", "head_hash", "signed_at", "key_id", "signature")),
)


# --- the report ---------------------------------------------------------------------------
@dataclass(frozen=True)
class VerifyReport:
    events: int  # events checked
    first_seq: int  # the walk started after this seq (0: from the start)
    last_seq: int
    last_hash: str
    checkpoints: int  # signed checkpoints checked against the chain
    seconds: float
    finding: Finding | None = None
    unsealed: Unsealed = NONE_UNSEALED  # events written, not chained yet

    @property
    def ok(self) -> bool:
        return self.finding is None

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


# --- verification -------------------------------------------------------------------------
def verify(
    db: Database,
    *,
    public_key: Ed25519PublicKey | None = None,
    from_last_checkpoint: bool = False,
    batch_size: int = 20_000,
    grace: timedelta | None = DEFAULT_SEAL_GRACE,
    now: datetime | None = None,
) -> VerifyReport:
    """Check the whole trail (or, with ``from_last_checkpoint``, the part after the newest
    signed checkpoint) and every signed checkpoint. Without ``public_key`` the checkpoints
    cannot be checked, which is refused when there are any. Then count the events not
    sealed yet: an intact chain with one unsealed for longer than ``grace`` fails (sealing
    has stopped); ``grace=None`` skips that count."""
    started = time.perf_counter()
    with db.engine.connect() as conn:
        walker = _Walker(conn, batch_size=batch_size)
        report = walker.run(public_key=public_key, from_last_checkpoint=from_last_checkpoint)
        intact = report["finding"] is None
        sealed = report["last_seq"] if intact else None
        waiting = unsealed(conn, sealed=sealed) if grace is not None else NONE_UNSEALED
    if grace is not None and report["finding"] is None:
        report["finding"] = _sealing_stopped(waiting, grace, now or datetime.now(UTC))
    return VerifyReport(**report, seconds=time.perf_counter() - started, unsealed=waiting)


def _sealing_stopped(waiting: Unsealed, grace: timedelta, now: datetime) -> Finding | None:
    age = waiting.age(now)
    if waiting.oldest_at is None or age <= grace.total_seconds():
        return None
    return Finding(
        "unsealed",
        f"event id {waiting.oldest_id} (written {iso_utc(waiting.oldest_at)}) has waited "
        f"{age:,.0f} s for its seal, more than the {grace.total_seconds():,.0f} s allowed: "
        f"sealing has stopped ({waiting.count:,} events unsealed); run `hygie audit seal` "
        "and find out why",
        event_id=waiting.oldest_id,
    )


class _Walker(Locator):
    def __init__(self, conn: Connection, *, batch_size: int) -> None:
        self.conn = conn
        self.batch_size = batch_size
        dialect = conn.dialect.name
        self.iso = iso_of(dialect)
        self.columns = row_columns(dialect)
        self.batch = (
            select(*self.columns)
            .select_from(chain)
            .where(seals.c.seq > bindparam("after"), seals.c.seq <= bindparam("until"))
            .order_by(seals.c.seq)
            .limit(bindparam("limit"))
        )

    def run(
        self, *, public_key: Ed25519PublicKey | None, from_last_checkpoint: bool
    ) -> dict[str, Any]:
        conn = self.conn
        max_seq = select(func.max(seals.c.seq)).scalar_subquery()
        head = conn.execute(
            select(heads.c.seq, heads.c.hash, max_seq).where(heads.c.id == 1)
        ).one_or_none()
        if head is None:
            return self._result(0, 0, 0, GENESIS, 0, Finding("deleted", "the chain head is gone"))
        head_seq, head_hash, top_seq = int(head[0]), str(head[1]), head[2]
        stored = [
            StoredCheckpoint(*row)
            for row in conn.execute(
                select(*checkpoints.c).order_by(checkpoints.c.seq, checkpoints.c.id)
            )
        ]
        finding = self._check_signatures(stored, public_key)
        if finding is not None:
            return self._result(0, 0, 0, GENESIS, 0, finding)
        start_seq, start_hash = 0, GENESIS
        if from_last_checkpoint and stored:
            newest = stored[-1]
            start_seq, start_hash = newest.seq, newest.head_hash
            stored = [newest]
        by_seq: dict[int, list[StoredCheckpoint]] = {}
        for cp in stored:
            by_seq.setdefault(cp.seq, []).append(cp)
        state = WalkState(expected=start_seq + 1, prev_hash=start_hash)
        matched = 0
        if start_seq == 0:
            for cp in by_seq.pop(0, []):
                if cp.head_hash != GENESIS:
                    return self._result(start_seq, 0, 0, GENESIS, 0, rewritten(cp, None, None, 0))
                matched += 1
        else:
            anchor = self._row_at(start_seq)
            cp = by_seq.pop(start_seq)[0]
            if anchor is None or anchor[22] != cp.head_hash:
                # The newest checkpoint no longer matches: look at the whole trail instead.
                return self.run(public_key=public_key, from_last_checkpoint=False)
            matched += 1
            state.prev_id, state.prev_seq = int(anchor[0]), start_seq
        last_good_cp = start_seq
        after = start_seq if start_seq else -(2**62)
        count = 0
        if self.conn.dialect.name == "postgresql":
            prefix = self._fast_prefix(after, state.prev_hash, head_seq, by_seq)
            if prefix is not None and prefix.count:
                for seq in sorted(s for s in by_seq if max(after, 0) < s <= prefix.last_seq):
                    matched += len(by_seq.pop(seq))
                    last_good_cp = seq
                count = prefix.count
                state.prev_hash, state.prev_id = prefix.last_hash, prefix.last_id
                state.prev_seq = after = prefix.last_seq
                state.expected = prefix.last_seq + 1
        loads, dumps, sha256, iso = orjson.loads, orjson.dumps, hashlib.sha256, self.iso
        while True:
            rows = conn.execute(
                self.batch, {"after": after, "until": head_seq, "limit": self.batch_size}
            ).all()
            if not rows:
                break
            for row in rows:
                seq = row[1]
                if seq != state.expected:
                    return self._result(
                        start_seq, count, state.prev_seq, state.prev_hash, matched,
                        self._bad_numbering(row, state),
                    )  # fmt: skip
                try:  # inlined _doc + _matches: this loop is the verification's speed
                    intact = sha256(dumps({
                        "seq": seq,
                        "at": row[2] if iso is None else iso(row[2]),
                        "user_id": row[3], "username": row[4], "role": row[5],
                        "establishment_id": row[6], "session_id": row[7], "token_id": row[8],
                        "ip": row[9], "user_agent": row[10], "how": row[11],
                        "action": row[12], "level": row[13], "patient_ids": loads(row[14]),
                        "categories": loads(row[15]), "purpose": row[16],
                        "outcome": row[17], "reason": row[18], "record_count": row[19],
                        "details": loads(row[20]), "prev_hash": row[21],
                    }, option=JSON_OPTIONS)).hexdigest() == row[22]  # fmt: skip
                except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
                    intact = False
                if not intact:
                    return self._result(
                        start_seq, count, state.prev_seq, state.prev_hash, matched,
                        self._bad_content(row, state),
                    )  # fmt: skip
                if row[21] != state.prev_hash:
                    return self._result(
                        start_seq, count, state.prev_seq, state.prev_hash, matched,
                        self._bad_link(row, state),
                    )  # fmt: skip
                signed = by_seq.pop(seq, None)
                if signed is not None:
                    for cp in signed:
                        if cp.head_hash != row[22]:
                            return self._result(
                                start_seq, count, state.prev_seq, state.prev_hash, matched,
                                rewritten(cp, seq, row[0], last_good_cp),
                            )  # fmt: skip
                        matched += 1
                    last_good_cp = seq
                state.prev_hash, state.prev_id, state.prev_seq = row[22], row[0], seq
                state.expected = seq + 1
                count += 1
            after = rows[-1][1]
        last_seq = state.prev_seq
        finding = self._check_head(state, head_seq, head_hash, top_seq)
        if finding is None and by_seq:
            cp = min((c for cps in by_seq.values() for c in cps), key=lambda c: c.seq)
            finding = Finding(
                "deleted",
                f"event seq {last_seq + 1} and after are missing: signed checkpoint #{cp.id} "
                f"vouches for seq {cp.seq} but the chain ends at seq {last_seq} "
                "(truncated tail)",
                seq=last_seq + 1,
                checkpoint_id=cp.id,
            )
        return self._result(start_seq, count, last_seq, state.prev_hash, matched, finding)

    def _fast_prefix(
        self, after: int, prev_hash: str, until: int, by_seq: dict[int, list[StoredCheckpoint]]
    ) -> Prefix | None:
        """The intact run of events after ``after``, checked by the fast path (PostgreSQL);
        None if a signed checkpoint in it does not match (the walk locates that itself)."""
        driver = self.conn.connection.driver_connection
        if not isinstance(driver, psycopg.Connection):
            return None
        prefix = clean_prefix(driver, after, prev_hash, until, frozenset(by_seq))
        for seq, cps in by_seq.items():
            inside = max(after, 0) < seq <= prefix.last_seq
            if inside and any(cp.head_hash != prefix.marked.get(seq) for cp in cps):
                return None
        return prefix

    @staticmethod
    def _result(
        first: int, count: int, last: int, last_hash: str, matched: int, finding: Finding | None
    ) -> dict[str, Any]:
        return {
            "events": count,
            "first_seq": first,
            "last_seq": last,
            "last_hash": last_hash,
            "checkpoints": matched,
            "finding": finding,
        }

    def _check_signatures(
        self, stored: list[StoredCheckpoint], public_key: Ed25519PublicKey | None
    ) -> Finding | None:
        if not stored:
            return None
        if public_key is None:
            raise ConfigurationError(
                f"{len(stored)} signed checkpoints cannot be checked without the audit key "
                f"file ({AUDIT_KEY_ENV})"
            )
        key_id = key_id_of(public_key)
        for cp in stored:
            if cp.key_id != key_id:
                return Finding(
                    "checkpoint",
                    f"checkpoint #{cp.id} (seq {cp.seq}) is signed by unknown key {cp.key_id[:16]}",
                    seq=cp.seq,
                    checkpoint_id=cp.id,
                )
            signed_at = cp.signed_at
            if isinstance(signed_at, str):
                signed_at = datetime.fromisoformat(signed_at)
            if signed_at.tzinfo is None:
                signed_at = signed_at.replace(tzinfo=UTC)
            try:
                public_key.verify(
                    base64.b64decode(cp.signature),
                    checkpoint_message(cp.seq, cp.head_hash, signed_at, cp.key_id),
                )
            except (InvalidSignature, ValueError):
                return Finding(
                    "checkpoint",
                    f"checkpoint #{cp.id} (seq {cp.seq}) has a bad signature: forged or altered",
                    seq=cp.seq,
                    checkpoint_id=cp.id,
                )
        return None

    def _check_head(
        self, state: WalkState, head_seq: int, head_hash: str, top_seq: int | None
    ) -> Finding | None:
        last = state.prev_seq
        if last < head_seq:
            return Finding(
                "deleted",
                f"events seq {last + 1}..{head_seq} are missing: the chain head says "
                f"{head_seq} events but the chain ends at seq {last} (truncated tail)",
                seq=last + 1,
            )
        if head_hash != state.prev_hash:
            return Finding(
                "modified",
                f"event seq {last} (id {state.prev_id}) is not the one the chain head "
                "records: replaced, or the head was altered",
                seq=last,
                event_id=state.prev_id,
            )
        if top_seq is not None and top_seq > head_seq:
            row = self._row_after(head_seq)
            return Finding(
                "inserted",
                f"event seq {head_seq + 1} (id {row[0] if row else '?'}) lies beyond the chain "
                f"head (seq {head_seq}): inserted",
                seq=head_seq + 1,
                event_id=int(row[0]) if row else None,
            )
        return None

    # --- locating what went wrong (failure path only) --------------------------------


# --- checkpoints --------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckpointResult:
    checkpoint_id: int
    seq: int
    head_hash: str
    key_id: str
    verified: VerifyReport


def checkpoint(
    db: Database, key: AuditKey, *, entry: Entry | None = None, now: datetime | None = None
) -> CheckpointResult:
    """Seal what has committed, then sign the chain head, after checking the chain since
    the newest checkpoint (a broken chain is never signed), and record that in the trail
    (``entry``, default a system event)."""
    seal_pending(db, wait=True)
    report = verify(db, public_key=key.public, from_last_checkpoint=True, grace=None)
    if report.finding is not None:
        raise TrailBrokenError(report.finding)
    signed_at = (now or datetime.now(UTC)).astimezone(UTC)
    message = checkpoint_message(report.last_seq, report.last_hash, signed_at, key.key_id)
    signature = base64.b64encode(key.private.sign(message)).decode()
    with db.transaction() as session:
        row = AuditCheckpoint(
            seq=report.last_seq,
            head_hash=report.last_hash,
            signed_at=signed_at,
            key_id=key.key_id,
            signature=signature,
            active=True,
        )
        session.add(row)
        session.flush()
        base = entry or Entry(action="audit.checkpoint", outcome="allowed", how="system")
        details = {
            **base.details,
            "checkpoint_id": row.id,
            "seq": report.last_seq,
            "head_hash": report.last_hash,
            "key_id": key.key_id,
        }
        record(session, _with_details(base, details), now=signed_at)
        checkpoint_id = row.id
    return CheckpointResult(
        checkpoint_id=checkpoint_id,
        seq=report.last_seq,
        head_hash=report.last_hash,
        key_id=key.key_id,
        verified=report,
    )


def _with_details(entry: Entry, details: dict[str, Any]) -> Entry:
    return replace(entry, details=details)


class TrailBrokenError(HygieError):
    """The trail failed verification."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"the audit trail is not intact: {finding.message}")
        self.finding = finding
