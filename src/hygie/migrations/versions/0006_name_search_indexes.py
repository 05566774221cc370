"""name search indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

A patient search by name counts its matches (FHIR's Bundle.total) and orders them by
birth name, first name and id. With the name keys, the first name, the id and (on
PostgreSQL, as INCLUDE) the state in one index, PostgreSQL counts and orders the matches
from the index alone instead of visiting a heap page per match (a common name at 750,000
patients: about 2,000 pages).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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


def downgrade() -> None:
    op.drop_index("ix_patients_first_name_search", "patients")
    op.drop_index("ix_patients_used_name_search", "patients")
    op.drop_index("ix_patients_birth_name_search", "patients")
