"""The trail's per-access statements on PostgreSQL, as SQL run on the raw driver connection
of the caller's transaction.

Every audited access runs them, so they are as cheap as they can be: written out once,
prepared by psycopg after a few uses, without SQLAlchemy's per-execution work (which cost
more than running them). They read and write exactly the columns the SQLAlchemy versions in
``audit`` and ``sealing`` do (used on SQLite); events are read back as ``trail_rows`` reads
them (``at`` as ISO text, JSON columns as text), so that a seal hashes what ``verify``
recomputes.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import orjson
import psycopg
from sqlalchemy.orm import Session

from hygie.access.trail_rows import CONTENT_COLUMNS, JSON_COLUMNS

_AT = """to_char(timezone('UTC', at), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""

# The event, its patients and, if nobody holds it, the chain head (locked) with this
# statement's snapshot and transaction: one round trip for an access that does not seal.
_INSERT_EVENT = (
    "WITH event AS (INSERT INTO audit_events ("  # noqa: S608 - fixed column names only
    + ", ".join(CONTENT_COLUMNS)
    + ", txid) VALUES ("
    + ", ".join(f"%({n})s::json" if n in JSON_COLUMNS else f"%({n})s" for n in CONTENT_COLUMNS)
    + ", pg_current_xact_id()::text::bigint) RETURNING id), "
    "patients AS (INSERT INTO audit_patients (event_id, patient_id) "
    "SELECT event.id, unnest(%(patients)s::integer[]) FROM event)"
)
WRITE = (
    _INSERT_EVENT  # noqa: S608 - fixed text only
    + ", head AS (SELECT seq, hash, snapshot FROM audit_head WHERE id = 1 FOR UPDATE SKIP LOCKED) "
    "SELECT event.id, head.seq, head.hash, head.snapshot, pg_current_snapshot()::text, "
    "pg_current_xact_id()::text FROM event LEFT JOIN head ON true"
)
# The same without the head, for a process whose background sealer chains the events.
WRITE_ONLY = _INSERT_EVENT + " SELECT event.id FROM event"  # noqa: S608 - fixed text only
# Several events in one statement (``write_events_async``), given as one JSON array of
# their columns (one parameter: cheaper to send than an array per column); ids handed out
# first so that each patient row finds its event's. Returns the ids in the order given.
_RECORD_TYPES = {
    "at": "timestamptz", "user_id": "integer", "establishment_id": "integer",
    "session_id": "integer", "token_id": "integer", "record_count": "integer",
    **dict.fromkeys(JSON_COLUMNS, "json"),
}  # fmt: skip
WRITE_MANY = (
    "WITH rows AS MATERIALIZED (SELECT nextval('audit_events_id_seq') AS id, r.* "  # noqa: S608 - fixed column names only
    "FROM json_to_recordset(%(rows)s::json) AS r(n integer, "
    + ", ".join(f"{n} {_RECORD_TYPES.get(n, 'text')}" for n in CONTENT_COLUMNS)
    + ")), events AS (INSERT INTO audit_events (id, "
    + ", ".join(CONTENT_COLUMNS)
    + ", txid) SELECT id, "
    + ", ".join(CONTENT_COLUMNS)
    + ", pg_current_xact_id()::text::bigint FROM rows), "
    "patients AS (INSERT INTO audit_patients (event_id, patient_id) "
    "SELECT rows.id, p.value::integer FROM rows, json_array_elements_text(rows.patient_ids) p) "
    "SELECT id FROM rows ORDER BY n"
)
LOCK = (
    "SELECT seq, hash, snapshot, pg_current_snapshot()::text, pg_current_xact_id()::text "
    "FROM audit_head WHERE id = 1 FOR UPDATE"
)
# Rows laid out as trail_rows.row_columns(sealed=False): id, seq, content..., prev, hash.
_UNSEALED = (
    "SELECT id, NULL, "  # noqa: S608 - fixed column names only
    + ", ".join(
        _AT if n == "at" else f"{n}::text" if n in JSON_COLUMNS else n for n in CONTENT_COLUMNS
    )
    + ", NULL, NULL FROM audit_events e "
    "WHERE NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.event_id = e.id) AND "
)
UNSEALED_ANYWHERE = _UNSEALED + "true ORDER BY id LIMIT %(limit)s"
UNSEALED_SINCE = (
    _UNSEALED + "(txid >= %(xmax)s OR txid = ANY(%(xip)s::bigint[])) ORDER BY id LIMIT %(limit)s"
)
SEAL_AND_ADVANCE = (
    "WITH sealed AS (INSERT INTO audit_seals (event_id, seq, prev_hash, hash, sealed_at) "
    "SELECT s.*, %(sealed_at)s FROM unnest(%(ids)s::bigint[], %(seqs)s::bigint[], "
    "%(prevs)s::text[], %(hashes)s::text[]) AS s) "
    "UPDATE audit_head SET seq = %(new_seq)s, hash = %(new_hash)s, snapshot = %(new_snap)s "
    "WHERE id = 1"
)


def cursor(session: Session) -> psycopg.Cursor[Any]:
    """A cursor on the connection of the session's transaction."""
    driver = session.connection().connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError("the trail's PostgreSQL statements need a psycopg connection")
    return driver.cursor()


def write_event(session: Session, values: dict[str, Any]) -> tuple[int, HeadRow | None]:
    """Insert an event (``audit.content``) and its patients; its id, and the head row
    locked as ``lock_head`` gives it, or None if another transaction holds it."""
    with cursor(session) as cur:
        row = cur.execute(WRITE, _event_params(values)).fetchone()
    if row is None:
        raise RuntimeError("the audit event was not written")
    return int(row[0]), (None if row[1] is None else tuple(row[1:]))


def write_event_only(session: Session, values: dict[str, Any]) -> int:
    """Insert an event and its patients, leaving the head alone; its id."""
    with cursor(session) as cur:
        row = cur.execute(WRITE_ONLY, _event_params(values)).fetchone()
    if row is None:
        raise RuntimeError("the audit event was not written")
    return int(row[0])


async def write_events_async(
    conn: psycopg.AsyncConnection[Any], batch: list[dict[str, Any]]
) -> list[int]:
    """Insert several events (``audit.content``) and their patients in one statement on an
    asyncio connection in autocommit: all committed together, or none; their ids, in order."""
    rows_json = orjson.dumps([{**values, "n": n} for n, values in enumerate(batch)]).decode()
    params = {"rows": rows_json}
    rows = await (await conn.execute(WRITE_MANY, params)).fetchall()
    if len(rows) != len(batch):
        raise RuntimeError("the audit events were not written")
    return [int(r[0]) for r in rows]


def _event_params(values: dict[str, Any]) -> dict[str, Any]:
    params = {n: json.dumps(v) if n in JSON_COLUMNS else v for n, v in values.items()}
    params["patients"] = values["patient_ids"]
    return params


HeadRow = tuple[Any, ...]  # seq, hash, stored snapshot, current snapshot, transaction id


def lock_head(session: Session, *, wait: bool) -> HeadRow | None:
    """The head row, locked, with this statement's snapshot and transaction id; None if
    another transaction holds it and ``wait`` is false."""
    with cursor(session) as cur:
        return cur.execute(LOCK if wait else LOCK + " SKIP LOCKED").fetchone()


def unsealed(
    session: Session, *, xmax: int | None, xip: tuple[int, ...], limit: int
) -> list[tuple[Any, ...]]:
    """Events without a seal, in id order: of the transactions a snapshot leaves (``xip``
    or from ``xmax`` on), or anywhere if ``xmax`` is None."""
    with cursor(session) as cur:
        if xmax is None:
            return cur.execute(UNSEALED_ANYWHERE, {"limit": limit}).fetchall()
        return cur.execute(
            UNSEALED_SINCE, {"xmax": xmax, "xip": list(xip), "limit": limit}
        ).fetchall()


def seal_and_advance(
    session: Session,
    made: list[tuple[int, int, str, str]],
    head: dict[str, Any],
    sealed_at: datetime,
) -> None:
    """Insert the seals ``(event id, seq, prev_hash, hash)`` and set the head."""
    columns = {
        name: [row[i] for row in made] for i, name in enumerate(("ids", "seqs", "prevs", "hashes"))
    }
    with cursor(session) as cur:
        cur.execute(SEAL_AND_ADVANCE, {**columns, "sealed_at": sealed_at, **head})
