"""The fast path of ``verify`` on PostgreSQL: the intact prefix of the chain, found quickly.

``clean_prefix`` reads the seals, each joined with its event, with raw psycopg (no SQLAlchemy row processing), the next
batch fetched in a thread while the current one is hashed, and checks each event exactly
as the walk in ``trail`` does: its ``seq`` is the next one, its ``prev_hash`` is the hash
before it, and SHA-256 over ``orjson.dumps`` of the very dict the walk builds (same values,
same options: the canonical bytes of ``audit.canonical``) is its stored hash. On a long
range, the upper half is checked at the same time in a forked process, starting from the
stored hash of the event at the boundary; the two halves join if the lower one ends on that
very event and hash.

It never decides that something is wrong: it stops before the first event that does not fit
(or anything unexpected) and returns what it checked. The walk in ``trail`` carries on from
there, event by event, and locates and names the fault as it always did.
"""

from __future__ import annotations

import hashlib
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

PARALLEL_MIN = 100_000  # events from which the upper half is checked in a second process
BATCH = 20_000
CACHE_MAX = 50_000  # parsed categories/details kept: few distinct values, many events

_AT = """to_char(timezone('UTC', e.at), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""
_JSON = ("patient_ids", "categories", "details")
_SEAL = ("seq", "prev_hash")
KEYS = tuple(sorted(CHAINED_FIELDS))
# The chained fields in key order (as ``_Walker`` selects them: ``at`` as ISO text, the JSON
# columns as text; seq and prev_hash from the seal), then the event id and the seal's hash.
_SELECT = (
    "SELECT "  # noqa: S608 - fixed column names only
    + ", ".join(
        _AT if n == "at" else f"e.{n}::text" if n in _JSON else f"s.{n}" if n in _SEAL else f"e.{n}"
        for n in KEYS
    )
    + ", e.id, s.hash FROM audit_seals s JOIN audit_events e ON e.id = s.event_id"
    " WHERE s.seq > %s AND s.seq <= %s ORDER BY s.seq LIMIT %s"
)
_CATS, _DETAILS, _PATIENTS = (KEYS.index(n) for n in ("categories", "details", "patient_ids"))
_SEQ, _PREV = KEYS.index("seq"), KEYS.index("prev_hash")
_ID, _HASH = len(KEYS), len(KEYS) + 1


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


def _scan(
    conn: psycopg.Connection[Any], after: int, prev_hash: str, until: int, marks: frozenset[int]
) -> Prefix:
    """Check events after ``after`` up to ``until``; stop before the first that does not fit."""
    result = Prefix(after=after, prev_hash=prev_hash)
    loads, dumps, sha256, keys = orjson.loads, orjson.dumps, hashlib.sha256, KEYS
    cache: dict[str, Any] = {}
    get = cache.get
    expected, prev = after + 1, prev_hash
    if after < 0:  # from the start: seq 1 comes first, anything below it is a fault
        expected = 1
    last: tuple[Any, ...] | None = None
    cur = conn.cursor()

    def fetch(start: int) -> list[tuple[Any, ...]]:
        cur.execute(_SELECT, (start, until, BATCH))
        return cur.fetchall()

    with ThreadPoolExecutor(max_workers=1) as pool:
        rows = fetch(after)
        while rows:
            following = pool.submit(fetch, rows[-1][_SEQ]) if len(rows) == BATCH else None
            for row in rows:
                if row[_SEQ] != expected or row[_PREV] != prev:
                    return _stopped(result, last, following)
                try:
                    doc = dict(zip(keys, row, strict=False))
                    text = row[_CATS]
                    value = get(text)
                    if value is None:
                        value = cache[text] = loads(text)
                    doc["categories"] = value
                    text = row[_DETAILS]
                    value = get(text)
                    if value is None:
                        value = cache[text] = loads(text)
                    doc["details"] = value
                    doc["patient_ids"] = loads(row[_PATIENTS])
                    digest = sha256(dumps(doc, option=JSON_OPTIONS)).hexdigest()
                except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
                    return _stopped(result, last, following)
                if digest != row[_HASH]:
                    return _stopped(result, last, following)
                if expected in marks:
                    result.marked[expected] = digest
                prev, last = digest, row
                expected += 1
                result.count += 1
            if len(cache) > CACHE_MAX:
                cache.clear()
            rows = following.result() if following is not None else []
    result.complete = True
    return _stopped(result, last, None)


def _stopped(result: Prefix, last: tuple[Any, ...] | None, pending: Any) -> Prefix:
    if pending is not None:
        pending.result()  # let the fetch finish before the cursor goes
    if last is not None:
        result.last_seq, result.last_id, result.last_hash = last[_SEQ], last[_ID], last[_HASH]
    else:
        result.last_seq = max(result.after, 0)
    return result


def _upper_half(dsn: str, after: int, until: int, marks: frozenset[int], pipe: Pipe) -> None:
    """In the forked process: check (after, until] from the stored hash at ``after``."""
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
    if until - start < PARALLEL_MIN or (os.cpu_count() or 1) < 2:
        return _scan(conn, after, prev_hash, until, marks)
    middle = start + (until - start) // 2
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    worker = context.Process(
        target=_upper_half, args=(_dsn(conn), middle, until, marks, sender), daemon=True
    )
    worker.start()
    sender.close()
    try:
        lower = _scan(conn, after, prev_hash, middle, marks)
        upper: Prefix | None = receiver.recv()
    except EOFError:
        upper = None
    finally:
        receiver.close()
        worker.join()
    if upper is None or not lower.complete or lower.last_seq != middle:
        return lower
    if lower.end_hash != upper.prev_hash:
        return lower
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
