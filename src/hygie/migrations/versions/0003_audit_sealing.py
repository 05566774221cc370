"""audit sealing: an event's place in the chain moves to its own append-only table

An event is now written without its ``seq``, ``prev_hash`` and ``hash``; a sealing pass
gives them once it has committed, in ``audit_seals`` (see ``hygie.access.sealing``). The
existing events keep their place: their columns are copied into seals, then dropped. Events
get ``txid`` (PostgreSQL: the writing transaction) and the head the last pass's snapshot.

SQLite cannot drop a column under a UNIQUE constraint and, with foreign keys on, cannot drop
a table still referenced, so there the two trail tables are rebuilt: new tables, copy, drop
the old ones (referencing one first), rename (SQLite renames the references with them).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTENT = (
    "id, at, user_id, username, role, establishment_id, session_id, token_id, ip, user_agent, "
    "how, action, level, patient_ids, categories, purpose, outcome, reason, record_count, details"
)
EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _content_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", EVENT_ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=30), nullable=True),
        sa.Column("establishment_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=400), nullable=True),
        sa.Column("how", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=True),
        sa.Column("patient_ids", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
    ]


def _chain_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
    ]


def _create_seals(events_table: str) -> None:
    op.create_table(
        "audit_seals",
        sa.Column("event_id", EVENT_ID, nullable=False),
        *_chain_columns(),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], [f"{events_table}.id"], name="fk_audit_seals_event_id_audit_events"
        ),
        sa.PrimaryKeyConstraint("event_id", name="pk_audit_seals"),
        sa.UniqueConstraint("seq", name="uq_audit_seals_seq"),
    )


def _create_patients(name: str, events_table: str) -> None:
    op.create_table(
        name,
        sa.Column("event_id", EVENT_ID, nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], [f"{events_table}.id"], name="fk_audit_patients_event_id_audit_events"
        ),
        sa.PrimaryKeyConstraint("event_id", "patient_id", name="pk_audit_patients"),
    )


def _event_and_patient_indexes() -> None:
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_user_id_at", "audit_events", ["user_id", "at"])
    op.create_index("ix_audit_patients_patient_id", "audit_patients", ["patient_id"])


def _append_only(*tables: str) -> None:
    """The same triggers as 0002's (its function ``hygie_append_only`` on PostgreSQL)."""
    if op.get_bind().dialect.name == "postgresql":
        for table in tables:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION hygie_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION hygie_append_only()"
            )
        return
    for table in tables:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as batch_op:
        batch_op.add_column(sa.Column("snapshot", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        _create_seals("audit_events")
        op.execute(
            "INSERT INTO audit_seals (event_id, seq, prev_hash, hash, sealed_at) "
            "SELECT id, seq, prev_hash, hash, at FROM audit_events"
        )
        op.drop_constraint("uq_audit_events_seq", "audit_events", type_="unique")
        for name in ("seq", "prev_hash", "hash"):
            op.drop_column("audit_events", name)
        op.add_column("audit_events", sa.Column("txid", sa.BigInteger(), nullable=True))
    else:
        op.create_table(
            "audit_events_new",
            *_content_columns(),
            sa.Column("txid", sa.BigInteger(), nullable=True),
            sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        )
        op.execute(f"INSERT INTO audit_events_new ({CONTENT}) SELECT {CONTENT} FROM audit_events")  # noqa: S608
        _create_seals("audit_events_new")
        op.execute(
            "INSERT INTO audit_seals (event_id, seq, prev_hash, hash, sealed_at) "
            "SELECT id, seq, prev_hash, hash, at FROM audit_events"
        )
        _rebuild_patients_and_swap()
    op.create_index("ix_audit_events_txid", "audit_events", ["txid"])
    _append_only("audit_seals")


def _rebuild_patients_and_swap() -> None:
    """SQLite: ``audit_events_new`` replaces ``audit_events``, with ``audit_patients``."""
    _create_patients("audit_patients_new", "audit_events_new")
    op.execute("INSERT INTO audit_patients_new SELECT event_id, patient_id FROM audit_patients")
    op.drop_table("audit_patients")  # its triggers and index go with it
    op.drop_table("audit_events")
    op.rename_table("audit_events_new", "audit_events")
    op.rename_table("audit_patients_new", "audit_patients")
    _event_and_patient_indexes()
    _append_only("audit_events", "audit_patients")


def downgrade() -> None:
    unsealed = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT count(*) FROM audit_events e WHERE NOT EXISTS "
                "(SELECT 1 FROM audit_seals s WHERE s.event_id = e.id)"
            )
        )
        .scalar_one()
    )
    if unsealed:
        raise RuntimeError(
            f"{unsealed} audit events are not sealed yet: run `hygie audit seal`, then downgrade"
        )
    op.drop_index("ix_audit_events_txid", "audit_events")
    if op.get_bind().dialect.name == "postgresql":
        for name, kind in (("seq", sa.BigInteger()), ("prev_hash", sa.String(64)),
                           ("hash", sa.String(64))):  # fmt: skip
            op.add_column("audit_events", sa.Column(name, kind, nullable=True))
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
        op.execute(
            "UPDATE audit_events e SET seq = s.seq, prev_hash = s.prev_hash, hash = s.hash "
            "FROM audit_seals s WHERE s.event_id = e.id"
        )
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
        for name in ("seq", "prev_hash", "hash"):
            op.alter_column("audit_events", name, nullable=False)
        op.create_unique_constraint("uq_audit_events_seq", "audit_events", ["seq"])
        op.drop_column("audit_events", "txid")
        op.drop_table("audit_seals")
    else:
        op.create_table(
            "audit_events_new",
            _content_columns()[0],
            sa.Column("seq", sa.BigInteger(), nullable=False),
            *_content_columns()[1:],
            *_chain_columns()[1:],
            sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
            sa.UniqueConstraint("seq", name="uq_audit_events_seq"),
        )
        columns = CONTENT.replace("id, at,", "id, seq, at,")
        values = columns.replace("id, seq,", "e.id, s.seq,")
        op.execute(
            f"INSERT INTO audit_events_new ({columns}, prev_hash, hash) "  # noqa: S608
            f"SELECT {values}, s.prev_hash, s.hash "
            "FROM audit_events e JOIN audit_seals s ON s.event_id = e.id"
        )
        op.drop_table("audit_seals")
        _rebuild_patients_and_swap()
    with op.batch_alter_table("audit_head") as batch_op:
        batch_op.drop_column("snapshot")
