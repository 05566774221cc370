"""interface role

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

A role for the system accounts of interfaces (the HL7 v2 ADT feed): habilitations.role
is a VARCHAR with a CHECK constraint listing the roles, so the constraint is recreated
with the new value (the column's length, 16, already fits it). On SQLite the table is
rebuilt by Alembic's batch mode; on PostgreSQL the constraint is dropped and re-added.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = (
    "physician", "nurse", "secretary", "billing_officer", "pharmacist", "it_admin",
    "security_officer",
)  # fmt: skip
AFTER = (*BEFORE, "interface")


def _check(roles: Sequence[str]) -> str:
    return "role IN (" + ", ".join(f"'{r}'" for r in roles) + ")"


def _replace(roles: Sequence[str]) -> None:
    with op.batch_alter_table("habilitations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_habilitations_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_habilitations_role"), _check(roles))


def upgrade() -> None:
    _replace(AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM habilitations WHERE role = 'interface'")
    _replace(BEFORE)
