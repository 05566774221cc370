"""Raw access to encrypted columns, for key rotation: values are read and written as the
stored ciphertext, bypassing the automatic encryption of the ORM columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, TableClause, column, func, select, table, update

from hygie.models import Base
from hygie.models.types import EncryptedText


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str
    context: str
    key: str  # the table's (single-column) primary key


def encrypted_columns() -> list[EncryptedColumn]:
    found = []
    for t in Base.metadata.sorted_tables:
        for c in t.columns:
            if isinstance(c.type, EncryptedText):
                (pk,) = t.primary_key.columns
                found.append(EncryptedColumn(t.name, c.name, c.type.context, pk.name))
    return found


def _raw(col: EncryptedColumn) -> TableClause:
    """The table with untyped columns: values come and go as stored, never decrypted."""
    return table(col.table, column(col.key), column(col.column))


def count_not_under(conn: Connection, col: EncryptedColumn, key_id: str) -> int:
    t = _raw(col)
    value = t.c[col.column]
    return (
        conn.scalar(select(func.count()).where(value.is_not(None), ~value.startswith(f"{key_id}:")))
        or 0
    )


def count_by_key(conn: Connection, col: EncryptedColumn) -> dict[str, int]:
    """How many values of the column each key encrypts (key id = text before ':')."""
    t = _raw(col)
    value = t.c[col.column]
    counts: dict[str, int] = {}
    for (stored,) in conn.execute(select(value).where(value.is_not(None))):
        kid = str(stored).partition(":")[0]
        counts[kid] = counts.get(kid, 0) + 1
    return counts


def batch_not_under(
    conn: Connection, col: EncryptedColumn, key_id: str, *, after_id: int, limit: int
) -> Sequence[tuple[int, str]]:
    t = _raw(col)
    value = t.c[col.column]
    rows = conn.execute(
        select(t.c[col.key], value)
        .where(t.c[col.key] > after_id, value.is_not(None), ~value.startswith(f"{key_id}:"))
        .order_by(t.c[col.key])
        .limit(limit)
    ).all()
    return [(int(i), str(v)) for i, v in rows]


def write_values(conn: Connection, col: EncryptedColumn, values: Sequence[tuple[int, str]]) -> None:
    t = _raw(col)
    for ident, stored in values:
        conn.execute(update(t).where(t.c[col.key] == ident).values({col.column: stored}))
