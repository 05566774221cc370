"""The trail's rows as the database holds them, read the one way that sealing, verification
and export all use, so that what a seal hashes is exactly what verification recomputes.

A row is a tuple ``(id, seq, at, user_id, ..., details, prev_hash, hash)``: the event's
columns with ``at`` as the ISO 8601 UTC text the hash covers and the JSON columns as text,
then its seal's ``seq``, ``prev_hash`` and ``hash`` (None for an event not yet sealed).
Tables are untyped (``table()``/``column()``): rows come back as the driver gives them,
without ORM or type processing, which is what makes verification fast.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, Text, cast, column, func, null, table
from sqlalchemy.sql.elements import ColumnElement

from hygie.access.audit import iso_utc

CONTENT_COLUMNS = (
    "at", "user_id", "username", "role", "establishment_id", "session_id", "token_id", "ip",
    "user_agent", "how", "action", "level", "patient_ids", "categories", "purpose", "outcome",
    "reason", "record_count", "details",
)  # fmt: skip
JSON_COLUMNS = ("patient_ids", "categories", "details")
ID, SEQ, PREV_HASH, HASH = 0, 1, 21, 22  # positions in a row

events = table(
    "audit_events", column("id"), column("txid", BigInteger()), *map(column, CONTENT_COLUMNS)
)
seals = table(
    "audit_seals",
    *(column(n) for n in ("event_id", "seq", "prev_hash", "hash", "sealed_at")),
)
heads = table("audit_head", column("id"), column("seq"), column("hash"), column("snapshot"))
chain = events.join(seals, seals.c.event_id == events.c.id)
Row = tuple[Any, ...]


def at_column(dialect: str) -> ColumnElement[Any]:
    """``at`` as the ISO text the hash covers. PostgreSQL formats it (cheaper than parsing
    a timestamp per row in Python); SQLite stores it as naive UTC text already."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", events.c.at), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
    return events.c.at


def sqlite_iso(at: str) -> str:
    if len(at) == 26:  # YYYY-MM-DD HH:MM:SS.ffffff, as SQLAlchemy writes it
        return at.replace(" ", "T") + "+00:00"
    return iso_utc(datetime.fromisoformat(at).replace(tzinfo=UTC))


def iso_of(dialect: str) -> Callable[[str], str] | None:
    """What turns the selected ``at`` into ISO text (None: it already is)."""
    return sqlite_iso if dialect == "sqlite" else None


def row_columns(dialect: str, *, sealed: bool = True) -> list[ColumnElement[Any]]:
    """The columns of a row, in row order; ``sealed=False`` for events read on their own."""
    content: list[ColumnElement[Any]] = [
        at_column(dialect)
        if name == "at"
        else cast(events.c[name], Text)
        if name in JSON_COLUMNS
        else events.c[name]
        for name in CONTENT_COLUMNS
    ]
    if sealed:
        return [events.c.id, seals.c.seq, *content, seals.c.prev_hash, seals.c.hash]
    return [events.c.id, null(), *content, null(), null()]


def doc_of(row: Row, iso: Callable[[str], str] | None) -> dict[str, Any]:
    """The chained fields of a row (``audit.CHAINED_FIELDS``) as the hash covers them.
    Keep in step with the inlined copies in ``trail`` and ``trail_fast`` (tests hold it)."""
    loads = orjson.loads
    return {
        "seq": row[1],
        "at": row[2] if iso is None else iso(row[2]),
        "user_id": row[3],
        "username": row[4],
        "role": row[5],
        "establishment_id": row[6],
        "session_id": row[7],
        "token_id": row[8],
        "ip": row[9],
        "user_agent": row[10],
        "how": row[11],
        "action": row[12],
        "level": row[13],
        "patient_ids": loads(row[14]),
        "categories": loads(row[15]),
        "purpose": row[16],
        "outcome": row[17],
        "reason": row[18],
        "record_count": row[19],
        "details": loads(row[20]),
        "prev_hash": row[21],
    }
