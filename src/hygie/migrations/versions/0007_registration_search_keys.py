"""registration search keys

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

A patient search runs in the establishments of the one searching: reception looks for a
name among its own files. Until now each name match across the group was checked for a file
in those establishments, one index probe each: a common name at 750,000 patients is some
9,000 probes, most of them for files elsewhere. Each file (``patient_registrations``) now
carries a copy of its patient's search keys and whether the identity is active, so that a
search reads the matches of its establishments alone, from one index, in the order it
returns them. The copies are kept by the model layer (``hygie.models.patient``): a file takes
its patient's keys when written, and the files follow a change of names or state.

The name indexes of migration 0006 on ``patients`` served the former search only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.String(100).with_variant(sa.String(100, collation="C"), "postgresql")
ACTIVE = sa.text("active")


def upgrade() -> None:
    with op.batch_alter_table("patient_registrations") as batch:
        batch.add_column(sa.Column("birth_name_key", KEY, nullable=True))
        batch.add_column(sa.Column("first_name_key", KEY, nullable=True))
        batch.add_column(sa.Column("used_name_key", KEY, nullable=True))
        batch.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    if op.get_bind().dialect.name == "postgresql":
        # Row-level security is forced on both tables: the owner running the migration
        # declares the whole group for this transaction.
        op.execute("SELECT set_config('hygie.establishments', '*', true)")
        op.execute(
            "UPDATE patient_registrations r SET birth_name_key = p.birth_name_key, "
            "first_name_key = p.first_name_key, used_name_key = p.used_name_key, "
            "active = (p.state = 'active') FROM patients p WHERE p.id = r.patient_id"
        )
    else:
        op.execute(
            "UPDATE patient_registrations SET "
            "birth_name_key = (SELECT birth_name_key FROM patients p WHERE p.id = patient_id), "
            "first_name_key = (SELECT first_name_key FROM patients p WHERE p.id = patient_id), "
            "used_name_key = (SELECT used_name_key FROM patients p WHERE p.id = patient_id), "
            "active = (SELECT state = 'active' FROM patients p WHERE p.id = patient_id)"
        )
    with op.batch_alter_table("patient_registrations") as batch:
        batch.alter_column("birth_name_key", existing_type=KEY, nullable=False)
        batch.alter_column("first_name_key", existing_type=KEY, nullable=False)
    for name, columns in (
        ("birth_name", ["establishment_id", "birth_name_key", "first_name_key", "patient_id"]),
        ("used_name", ["establishment_id", "used_name_key", "first_name_key", "patient_id"]),
        ("first_name", ["establishment_id", "first_name_key", "patient_id"]),
    ):
        op.create_index(
            f"ix_patient_registrations_{name}_search", "patient_registrations", columns,
            postgresql_where=ACTIVE, sqlite_where=ACTIVE,
        )  # fmt: skip
    op.drop_index("ix_patients_first_name_search", "patients")
    op.drop_index("ix_patients_used_name_search", "patients")
    op.drop_index("ix_patients_birth_name_search", "patients")


def downgrade() -> None:
    op.create_index(
        "ix_patients_birth_name_search", "patients",
        ["birth_name_key", "first_name_key", "id"], postgresql_include=["state"],
    )  # fmt: skip
    op.create_index(
        "ix_patients_used_name_search", "patients",
        ["used_name_key", "first_name_key", "id"], postgresql_include=["state"],
    )  # fmt: skip
    op.create_index(
        "ix_patients_first_name_search", "patients",
        ["first_name_key", "id"], postgresql_include=["state"],
    )  # fmt: skip
    for name in ("first_name", "used_name", "birth_name"):
        op.drop_index(f"ix_patient_registrations_{name}_search", "patient_registrations")
    with op.batch_alter_table("patient_registrations") as batch:
        for column in ("active", "used_name_key", "first_name_key", "birth_name_key"):
            batch.drop_column(column)
