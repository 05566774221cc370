"""The fast path of ``verify`` on PostgreSQL: the intact prefix of the chain, found quickly.

``clean_prefix`` reads the seals and their events with raw psycopg (no SQLAlchemy row
processing), the next batch fetched in a thread while the current one is hashed, and checks
each event exactly as the walk in ``trail`` does: its seal's ``seq`` is the next one, its
``prev_hash`` is the hash before it, and SHA-256 over ``orjson.dumps`` of the very dict the
walk builds (same values, same options: the canonical bytes of ``audit.canonical``) is the
seal's hash. On a long
range, the upper parts (one more part than cores) are checked at the same time in forked
processes, each starting from the stored hash of the event at its boundary; the parts join
if each one ends on that very event and hash.

It never decides that something is wrong: it stops before the first event that does not fit
(or anything unexpected) and returns what it checked. The walk in ``trail`` carries on from
there, event by event, and locates and names the fault as it always did.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from typing import Any

import orjson
import psycopg
from psycopg.conninfo import make_conninfo

from hygie.access.audit import CHAINED_FIELDS, JSON_OPTIONS

PARALLEL_MIN = 100_000  # events from which the upper parts are checked in other processes
MAX_PARTS = 8
BATCH = 20_000
CACHE_MAX = 50_000  # parsed categories/details kept: few distinct values, many events

_AT = """to_char(timezone('UTC', at), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""
_JSON = ("patient_ids", "categories", "details")
# The event's chained fields in key order (as ``_Walker`` selects them: ``at`` as ISO text,
# the JSON columns as text), then its id; seq and prev_hash come from the seal.
CONTENT_KEYS = tuple(n for n in sorted(CHAINED_FIELDS) if n not in ("seq", "prev_hash"))
_EVENTS = (
    "SELECT "  # noqa: S608 - fixed column names only
    + ", ".join(_AT if n == "at" else f"{n}::text" if n in _JSON else n for n in CONTENT_KEYS)
    + ", id FROM audit_events WHERE "
)
# A batch of seals, then their events: by id range when the batch's ids are close together
# (they nearly always are: events are sealed in id order), else by list. Two index range
# scans cost the server half what a nested-loop join of the same rows does.
_SEALS = (
    "SELECT seq, event_id, prev_hash, hash FROM audit_seals"
    " WHERE seq > %s AND seq <= %s ORDER BY seq LIMIT %s"
)
_EVENTS_BETWEEN = _EVENTS + "id >= %s AND id <= %s"
_EVENTS_AMONG = _EVENTS + "id = ANY(%s)"
_CATS, _DETAILS, _PATIENTS = (
    CONTENT_KEYS.index(n) for n in ("categories", "details", "patient_ids")
)
_ID = len(CONTENT_KEYS)
Seal = tuple[int, int, str, str]  # seq, event id, prev_hash, hash
Batch = tuple[list[Seal], dict[int, tuple[Any, ...]]]  # seals, and their events by id


@dataclass
class Prefix:
    """Events ``after + 1`` .. ``last_seq`` checked and chained from ``prev_hash``."""

    after: int
    prev_hash: str
    count: int = 0
    last_seq: int = 0
    last_id: int | None = None
    last_hash: str = ""
    complete: bool = False  # reached ``until`` without a fault
    marked: dict[int, str] = field(default_factory=dict)  # stored hash at the marked seqs

    @property
    def end_hash(self) -> str:
        return self.last_hash if self.count else self.prev_hash


def _fetch(cur: psycopg.Cursor[Any], after: int, until: int) -> Batch:
    """The next seals after seq ``after``, and their events' rows by event id."""
    cur.execute(_SEALS, (after, until, BATCH))
    seals: list[Seal] = cur.fetchall()
    if not seals:
        return seals, {}
    ids = [seal[1] for seal in seals]
    low, high = min(ids), max(ids)
    if high - low < 2 * len(ids):
        cur.execute(_EVENTS_BETWEEN, (low, high))
    else:
        cur.execute(_EVENTS_AMONG, (ids,))
    return seals, {row[_ID]: row for row in cur.fetchall()}


def _scan(
    conn: psycopg.Connection[Any], after: int, prev_hash: str, until: int, marks: frozenset[int]
) -> Prefix:
    """Check events after ``after`` up to ``until``; stop before the first that does not fit."""
    result = Prefix(after=after, prev_hash=prev_hash)
    loads, dumps, sha256, keys = orjson.loads, orjson.dumps, hashlib.sha256, CONTENT_KEYS
    cache: dict[str, Any] = {}
    get = cache.get
    expected, prev = after + 1, prev_hash
    if after < 0:  # from the start: seq 1 comes first, anything below it is a fault
        expected = 1
    last: Seal | None = None
    # One dict, refilled for each event (every key is set again): cheaper than a new one.
    # Its keys are in canonical (sorted) order, and so are those of ``details`` as ``record``
    # stores them, so orjson needs not sort them: the bytes are the canonical ones. An event
    # whose details are stored otherwise is hashed again with sorting before being doubted.
    doc: dict[str, Any] = dict.fromkeys(sorted(CHAINED_FIELDS))
    update = doc.update
    cur = conn.cursor()
    with ThreadPoolExecutor(max_workers=1) as pool:
        seals, by_id = _fetch(cur, after, until)
        while seals:
            following = (
                pool.submit(_fetch, cur, seals[-1][0], until) if len(seals) == BATCH else None
            )
            event_of = by_id.get
            for seal in seals:
                seq, event_id, stored_prev, stored_hash = seal
                event = event_of(event_id)
                if seq != expected or stored_prev != prev or event is None:
                    return _stopped(result, last, following)
                try:
                    update(zip(keys, event, strict=False))
                    doc["seq"], doc["prev_hash"] = seq, stored_prev
                    text = event[_CATS]
                    value = get(text)
                    if value is None:
                        value = cache[text] = loads(text)
                    doc["categories"] = value
                    text = event[_DETAILS]
                    value = get(text)
                    if value is None:
                        value = cache[text] = loads(text)
                    doc["details"] = value
                    doc["patient_ids"] = loads(event[_PATIENTS])
                    digest = sha256(dumps(doc)).hexdigest()
                    if digest != stored_hash:
                        digest = sha256(dumps(doc, option=JSON_OPTIONS)).hexdigest()
                except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
                    return _stopped(result, last, following)
                if digest != stored_hash:
                    return _stopped(result, last, following)
                if expected in marks:
                    result.marked[expected] = digest
                prev, last = digest, seal
                expected += 1
                result.count += 1
            if len(cache) > CACHE_MAX:
                cache.clear()
            seals, by_id = following.result() if following is not None else ([], {})
    result.complete = True
    return _stopped(result, last, None)


def _stopped(result: Prefix, last: Seal | None, pending: Any) -> Prefix:
    if pending is not None:
        pending.result()  # let the fetch finish before the cursor goes
    if last is not None:
        result.last_seq, result.last_id, result.last_hash = last[0], last[1], last[3]
    else:
        result.last_seq = max(result.after, 0)
    return result


def _upper_half(dsn: str, after: int, until: int, marks: frozenset[int], pipe: Pipe) -> None:
    """In a forked process: check (after, until] from the stored hash at ``after``."""
    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT hash FROM audit_seals WHERE seq = %s", (after,)).fetchone()
            if row is None:
                pipe.send(None)
                return
            pipe.send(_scan(conn, after, str(row[0]), until, marks))
    except Exception:  # the walk checks that half itself
        pipe.send(None)
    finally:
        pipe.close()


def _dsn(conn: psycopg.Connection[Any]) -> str:
    info = conn.info
    password = info.password
    return make_conninfo(info.dsn, password=password) if password else info.dsn


def clean_prefix(
    conn: psycopg.Connection[Any], after: int, prev_hash: str, until: int, marks: frozenset[int]
) -> Prefix:
    """The longest run of events after ``after`` (up to ``until``) that checks out."""
    start = max(after, 0)
    parts = min((os.cpu_count() or 1) + 1, MAX_PARTS)
    if until - start < PARALLEL_MIN:
        return _scan(conn, after, prev_hash, until, marks)
    # One more part than cores: each process waits on PostgreSQL part of the time.
    bounds = [start + (until - start) * i // parts for i in range(parts + 1)]
    context = multiprocessing.get_context("fork")
    workers, receivers = [], []
    for low, high in itertools.pairwise(bounds[1:]):
        receiver, sender = context.Pipe(duplex=False)
        worker = context.Process(
            target=_upper_half, args=(_dsn(conn), low, high, marks, sender), daemon=True
        )
        worker.start()
        sender.close()
        workers.append(worker)
        receivers.append(receiver)
    uppers: list[Prefix | None] = []
    try:
        result = _scan(conn, after, prev_hash, bounds[1], marks)
        for receiver in receivers:
            try:
                uppers.append(receiver.recv())
            except EOFError:
                uppers.append(None)
    finally:
        for receiver in receivers:
            receiver.close()
        for worker in workers:
            worker.join()
    for boundary, upper in zip(bounds[1:], uppers, strict=False):
        if upper is None or not result.complete or result.last_seq != boundary:
            return result
        if result.end_hash != upper.prev_hash:
            return result
        result = _joined(result, upper)
    return result


def _joined(lower: Prefix, upper: Prefix) -> Prefix:
    """Two checked runs, the upper one starting where the lower one ends."""
    return Prefix(
        after=lower.after,
        prev_hash=lower.prev_hash,
        count=lower.count + upper.count,
        last_seq=upper.last_seq if upper.count else lower.last_seq,
        last_id=upper.last_id if upper.count else lower.last_id,
        last_hash=upper.end_hash,
        complete=upper.complete,
        marked={**lower.marked, **upper.marked},
    )
