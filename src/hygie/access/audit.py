"""The audit trail: append-only, hash-chained.

Each event's ``hash`` is SHA-256 over its canonical content, which includes the previous
event's hash (``prev_hash``) and its position (``seq``). The canonical content is the
chained fields as compact JSON with sorted keys, UTF-8, ``at`` as an ISO 8601 UTC string
with microseconds, encoded by orjson (byte-identical to ``json.dumps(sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` for everything but the spelling of some floats;
ten times faster, which matters to ``hygie audit verify``). ``details`` is normalised
through that same encoding before it is stored, so what is hashed is what is read back.

Recording and chaining are two steps. ``record`` writes the event (and the patients it
concerns) in the caller's transaction and takes no lock on a shared row, so concurrent
accesses commit together and share the WAL flush; if the event cannot be written, the access
it records is rolled back with it (fail closed). Its place in the chain (``seq``,
``prev_hash``, ``hash``) is given once it has committed, by ``sealing.seal``, in a separate
append-only table: ``record`` seals right away whenever nobody else is sealing, so a quiet
system's events are chained in the transaction that wrote them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, partial
from typing import TYPE_CHECKING, Any

import orjson
from anyio import to_thread
from sqlalchemy import Engine, Executable, bindparam, insert
from sqlalchemy.orm import Session

from hygie.kit import clock
from hygie.models import AuditEvent, Base

if TYPE_CHECKING:
    from hygie.db import Database
    from hygie.db_direct import DirectPool

GENESIS = "0" * 64
CHAINED_FIELDS = (
    "seq", "at", "user_id", "username", "role", "establishment_id", "session_id", "token_id",
    "ip", "user_agent", "how", "action", "level", "patient_ids", "categories", "purpose",
    "outcome", "reason", "record_count", "details", "prev_hash",
)  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """What one access leaves behind (THREAT-MODEL.md: who, when, from where, what, how,
    why, outcome)."""

    action: str
    outcome: str
    how: str
    user_id: int | None = None
    username: str | None = None
    role: str | None = None
    establishment_id: int | None = None
    session_id: int | None = None
    token_id: int | None = None
    ip: str | None = None
    user_agent: str | None = None
    level: str | None = None
    patient_ids: Sequence[int] = ()
    categories: Sequence[str] = ()
    purpose: str | None = None
    reason: str | None = None
    record_count: int = 0
    details: dict[str, Any] = field(default_factory=dict)


JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def canonical(values: dict[str, Any]) -> bytes:
    """The bytes an event's hash covers: its chained fields as sorted, compact JSON."""
    doc = {name: values[name] for name in CHAINED_FIELDS}
    at = doc["at"]
    if isinstance(at, datetime):
        doc["at"] = iso_utc(at)
    return orjson.dumps(doc, option=JSON_OPTIONS)


def iso_utc(at: datetime) -> str:
    """``at`` as the trail writes it: ISO 8601 in UTC, always with microseconds."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def normalised_details(details: dict[str, Any]) -> dict[str, Any]:
    """``details`` as it will read back from the database (keys as strings, tuples as lists,
    non-finite floats as null), so that the hash of the stored event can be recomputed.
    Values JSON cannot hold (objects, integers past 64 bits) raise TypeError: the event, and
    so the access it records, is refused rather than stored unverifiable."""
    value = orjson.loads(orjson.dumps(details, option=JSON_OPTIONS))
    if not isinstance(value, dict):
        raise TypeError("audit details must be a JSON object")
    return value


def event_hash(values: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(values)).hexdigest()


def record(
    session: Session, entry: Entry, *, now: datetime | None = None, guarded: bool = True
) -> AuditEvent:
    """Write ``entry`` to the trail in the session's transaction, then seal what can be
    sealed without waiting (``sealing``). Returns a copy of the event written (not attached
    to the session).

    First, containment decides on the access (``containment``): it may refuse it by raising
    ``Contained``, which rolls the transaction back before any data has left. ``guarded``
    is False only for containment's own records."""
    from hygie.access import containment, request_trace, sealing

    at = now or clock.now()
    verdict = None
    if guarded:
        guard = containment.guard_for(_engine(session))
        verdict = guard.check(entry, at, session)
    values = content(entry, at)
    if session.get_bind().dialect.name == "postgresql":
        from hygie.access import trail_pg

        if sealing.deferred():  # this process's background sealer chains it
            event_id = trail_pg.write_event_only(session, values)
        else:
            # One statement writes the event and takes the head if it is free.
            event_id, head = trail_pg.write_event(session, values)
            sealing.seal_locked(session, head)
    else:
        event_id = _write(session, values)
        sealing.seal(session)
    request_trace.note(event_id)
    if verdict is not None and verdict.response and verdict.access is not None:
        from hygie.access import containment_actions

        containment_actions.alert_on_allowed(session, guard, verdict, verdict.access, event_id)
    return AuditEvent(id=event_id, **values)


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


async def record_direct(
    pool: DirectPool, entry: Entry, *, db: Database, now: datetime | None = None
) -> int:
    """``record`` for a coroutine on the direct connections (``hygie.db_direct``): the event
    is committed when this returns, written together with those of the other requests
    waiting at the same time (``audit_batch``). Its sealing is left to the process's
    background sealer; without one (an application whose lifespan started none), a pass
    runs right after, in the thread pool, as ``record`` would have sealed in its
    transaction."""
    from hygie.access import audit_batch, containment, request_trace, sealing

    at = now or clock.now()
    guard = containment.guard_for(db.engine)
    try:
        verdict = guard.check(entry, at)
    except containment.Contained as refused:
        await to_thread.run_sync(partial(containment.enforce, db, refused))
        raise
    values = content(entry, at)
    event_id = await audit_batch.batcher(pool).write(values)
    request_trace.note(event_id)
    if verdict.response and verdict.access is not None:
        await to_thread.run_sync(partial(_alert_direct, db, guard, verdict, event_id))
    if not sealing.deferred():
        await to_thread.run_sync(partial(sealing.seal_pending, db, wait=False))
    return event_id


def _alert_direct(db: Database, guard: Any, verdict: Any, event_id: int) -> None:
    """The alert an access on the direct connections raised, in a transaction of its own
    (the access has committed already)."""
    from hygie.access import containment_actions
    from hygie.db import scope_setting

    with db.transaction(scope=scope_setting(frozenset())) as session:
        containment_actions.alert_on_allowed(session, guard, verdict, verdict.access, event_id)


def _write(session: Session, values: dict[str, Any]) -> int:
    """Insert the event and its patients (SQLite); its id."""
    conn = session.connection()  # audit tables only: nothing of the session's to flush
    params = {f"v_{name}": value for name, value in values.items()}
    event_id = int(conn.execute(_writes().event, params).scalar_one())
    if values["patient_ids"]:
        conn.execute(
            _writes().patient,
            [{"v_event_id": event_id, "v_patient_id": p} for p in values["patient_ids"]],
        )
    return event_id


@dataclass(frozen=True)
class _Writes:
    event: Executable
    patient: Executable


@cache
def _writes() -> _Writes:
    """The statements that write an event (SQLite), built once (building them at each call
    costs more than running them)."""
    events, patients = Base.metadata.tables["audit_events"], Base.metadata.tables["audit_patients"]
    # v_ prefix: a column's own name is reserved for the statement's automatic parameters.
    columns = {
        name: bindparam(f"v_{name}", type_=events.c[name].type)
        for name in CHAINED_FIELDS
        if name not in ("seq", "prev_hash")
    }
    return _Writes(
        event=insert(events).values(columns).returning(events.c.id),
        patient=insert(patients).values(
            event_id=bindparam("v_event_id"), patient_id=bindparam("v_patient_id")
        ),
    )


def content(entry: Entry, at: datetime) -> dict[str, Any]:
    """The columns of the event that records ``entry`` at ``at``: the chained fields but
    ``seq`` and ``prev_hash``, which its seal brings."""
    return {
        "at": at,
        "user_id": entry.user_id,
        "username": entry.username,
        "role": entry.role,
        "establishment_id": entry.establishment_id,
        "session_id": entry.session_id,
        "token_id": entry.token_id,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "how": entry.how,
        "action": entry.action,
        "level": entry.level,
        "patient_ids": sorted({int(p) for p in entry.patient_ids}),
        "categories": sorted(set(entry.categories)),
        "purpose": entry.purpose,
        "outcome": entry.outcome,
        "reason": entry.reason,
        "record_count": entry.record_count,
        "details": normalised_details(entry.details),
    }
