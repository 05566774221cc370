"""Bulk loading for the synthetic data generator: COPY on PostgreSQL, batched inserts on
SQLite, and the secondary indexes and foreign keys set aside during a load."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, ForeignKeyConstraint, Index, text
from sqlalchemy.schema import AddConstraint, DropConstraint

from hygie.models import Base


def copy_block(conn: Connection, table: str, columns: Sequence[str], data: bytes) -> None:
    """Load ``data`` (PostgreSQL COPY text format) into ``table``."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(data)
    finally:
        cursor.close()


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert plain-value rows in one executemany (SQLite)."""
    marks = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 - names from the generator's column lists
    conn.connection.driver_connection.executemany(sql, list(rows))  # type: ignore[union-attr]


@dataclass
class SetAside:
    """Indexes and foreign keys dropped for a load, to be rebuilt once after it, and the
    tables whose row-level security stops binding their owner meanwhile."""

    indexes: list[Index] = field(default_factory=list)
    foreign_keys: list[ForeignKeyConstraint] = field(default_factory=list)
    forced_security: list[str] = field(default_factory=list)


def set_aside(conn: Connection, tables: Iterable[str]) -> SetAside:
    """Drop the secondary indexes and foreign keys of ``tables``: each is then checked or
    built once, in bulk, instead of once per row."""
    names = set(tables)
    aside = SetAside(
        indexes=[i for t in Base.metadata.sorted_tables if t.name in names for i in t.indexes],
        foreign_keys=[
            fk
            for t in Base.metadata.sorted_tables
            if t.name in names
            for fk in t.foreign_key_constraints
        ],
    )
    for fk in aside.foreign_keys:
        conn.execute(DropConstraint(fk))
    for index in aside.indexes:
        index.drop(conn)
    # PostgreSQL refuses COPY FROM into a table whose row-level security binds the user;
    # FORCE binds the owner running the load. Lifted for the load's transaction only.
    aside.forced_security = list(
        conn.scalars(
            text(
                "SELECT relname FROM pg_class WHERE relname = ANY(:names) "
                "AND relnamespace = current_schema()::regnamespace AND relforcerowsecurity"
            ),
            {"names": sorted(names)},
        )
    )
    for table in aside.forced_security:
        conn.execute(text(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY"))
    return aside


def restore(conn: Connection, aside: SetAside) -> None:
    for index in aside.indexes:
        index.create(conn)
    for fk in aside.foreign_keys:
        conn.execute(AddConstraint(fk))
    for table in aside.forced_security:
        conn.execute(text(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY"))


def reset_sequences(conn: Connection) -> None:
    """Move PostgreSQL id sequences past the ids a bulk load wrote itself."""
    for table in Base.metadata.sorted_tables:
        if "id" in table.c and table.c.id.primary_key and table.c.id.autoincrement:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                    f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"  # names from metadata
                )
            )


def analyze(engine: Engine) -> None:
    """Refresh PostgreSQL's planner statistics after a load."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
