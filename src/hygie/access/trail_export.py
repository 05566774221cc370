"""Exporting the audit trail for a SIEM: the events as plain dicts, and as RFC 5424 syslog
lines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, exists, func, literal, select

from hygie.access.audit import JSON_OPTIONS
from hygie.access.trail_rows import (
    HASH,
    ID,
    SEQ,
    chain,
    doc_of,
    events,
    iso_of,
    row_columns,
    seals,
)
from hygie.db import Database
from hygie.kit.syslog import SYSLOG_SD_ID, no_controls, sd_escape, syslog_token
from hygie.models.types import UTCDateTime


# --- export -------------------------------------------------------------------------------
def iter_events(
    db: Database,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    batch_size: int = 5000,
) -> Iterator[dict[str, Any]]:
    """The trail's events between ``since`` (inclusive) and ``until`` (exclusive), as plain
    dicts (``at`` as ISO 8601 UTC): the sealed ones in seq order, then those not sealed yet
    in id order, with ``seq``, ``prev_hash`` and ``hash`` None (``hygie audit export`` seals
    first, so these are only the ones written meanwhile)."""
    with db.engine.connect() as conn:
        window: list[ColumnElement[bool]] = []
        # Bound as the model's column type, so that both databases compare timestamps.
        if since is not None:
            window.append(events.c.at >= literal(since, UTCDateTime()))
        if until is not None:
            window.append(events.c.at < literal(until, UTCDateTime()))
        yield from _sealed(conn, window, batch_size)
        yield from _unsealed(conn, window, batch_size)


def _sealed(
    conn: Connection, window: list[ColumnElement[bool]], batch_size: int
) -> Iterator[dict[str, Any]]:
    dialect = conn.dialect.name
    iso = iso_of(dialect)
    stmt = select(*row_columns(dialect)).select_from(chain).where(*window).order_by(seals.c.seq)
    top = conn.execute(select(func.max(seals.c.seq))).scalar() or 0
    after = -(2**62)
    while True:
        rows = conn.execute(
            stmt.where(seals.c.seq > after, seals.c.seq <= top).limit(batch_size)
        ).all()
        if not rows:
            return
        for row in rows:
            yield {"id": row[ID], **doc_of(tuple(row), iso), "hash": row[HASH]}
        after = rows[-1][SEQ]


def _unsealed(
    conn: Connection, window: list[ColumnElement[bool]], batch_size: int
) -> Iterator[dict[str, Any]]:
    dialect = conn.dialect.name
    iso = iso_of(dialect)
    stmt = (
        select(*row_columns(dialect, sealed=False))
        .where(*window, ~exists().where(seals.c.event_id == events.c.id))
        .order_by(events.c.id)
    )
    after = -(2**62)
    while True:
        rows = conn.execute(stmt.where(events.c.id > after).limit(batch_size)).all()
        if not rows:
            return
        for row in rows:
            yield {"id": row[ID], **doc_of(tuple(row), iso), "hash": None}
        after = rows[-1][ID]


SYSLOG_FACILITY = 13  # log audit
_SEVERITY = {"allowed": 6, "denied": 4, "failed": 3, "contained": 2}  # info .. critical
_SD_FIELDS = (
    "seq", "id", "user_id", "username", "role", "establishment_id", "session_id", "token_id",
    "ip", "user_agent", "how", "action", "level", "purpose", "outcome", "reason",
    "record_count", "hash", "prev_hash",
)  # fmt: skip


def syslog_line(event: dict[str, Any], *, hostname: str | None = None) -> str:
    """One event as an RFC 5424 message: the event's fields as structured data, with the
    patients, categories and details; severity from the outcome."""
    import socket

    pri = SYSLOG_FACILITY * 8 + _SEVERITY.get(str(event["outcome"]), 5)
    host = syslog_token(hostname or socket.gethostname(), 255)
    params = [(name, event[name]) for name in _SD_FIELDS if event.get(name) is not None]
    params.append(("patients", ",".join(str(p) for p in event["patient_ids"])))
    params.append(("categories", ",".join(event["categories"])))
    if event["details"]:
        params.append(("details", orjson.dumps(event["details"], option=JSON_OPTIONS).decode()))
    data = " ".join(f'{name}="{sd_escape(str(value))}"' for name, value in params)
    who = event.get("username") or "system"
    message = f"{who} {event['action']} {event['outcome']} ({len(event['patient_ids'])} patients)"
    return (
        f"<{pri}>1 {event['at']} {host} hygie - {syslog_token(str(event['action']), 32)} "
        f"[{SYSLOG_SD_ID} {data}] {no_controls(message)}"
    )
