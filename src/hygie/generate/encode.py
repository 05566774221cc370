"""Turning generated rows into what each database loads fastest: COPY text for PostgreSQL,
tuples of plain values for SQLite (stored the way SQLAlchemy stores them)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)


def copy_text(rows: list[tuple[Any, ...]]) -> bytes:
    """Rows in PostgreSQL COPY text format."""
    lines = ["\t".join(map(_copy_value, row)) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def sqlite_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(map(_sqlite_value, row)) for row in rows]
