"""containment

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Containment (issue 5): an account's lock (two columns on ``users``, which every session and
token check reads already), the security alerts with their evidence, the decoy patients
("honey records") and the norms the detector measures accounts against.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("locked_at", TIME, nullable=True))
        batch.add_column(sa.Column("locked_reason", sa.String(length=500), nullable=True))
    op.create_table(
        "security_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("establishment_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("response", sa.String(length=10), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reviewed_at", TIME, nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("review_comment", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_alerts")),
    )
    op.create_index(
        "ix_security_alerts_status_at", "security_alerts", ["status", "at"], unique=False
    )
    op.create_index(
        op.f("ix_security_alerts_user_id"), "security_alerts", ["user_id"], unique=False
    )
    op.create_table(
        "honey_records",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("establishment_id", sa.Integer(), nullable=False),
        sa.Column("planted_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["establishment_id"], ["establishments.id"],
            name=op.f("fk_honey_records_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_honey_records_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_honey_records")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_honey_records_establishment_id"), "honey_records", ["establishment_id"]
    )
    op.create_table(
        "detection_norms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=True),
        sa.Column("establishment_id", sa.Integer(), nullable=True),
        sa.Column("signal", sa.String(length=40), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["establishment_id"], ["establishments.id"],
            name=op.f("fk_detection_norms_establishment_id_establishments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detection_norms")),
        sa.UniqueConstraint(
            "role", "establishment_id", "signal",
            name=op.f("uq_detection_norms_role_establishment_id_signal"),
        ),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("detection_norms")
    op.drop_index(op.f("ix_honey_records_establishment_id"), table_name="honey_records")
    op.drop_table("honey_records")
    op.drop_index(op.f("ix_security_alerts_user_id"), table_name="security_alerts")
    op.drop_index("ix_security_alerts_status_at", table_name="security_alerts")
    op.drop_table("security_alerts")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("locked_reason")
        batch.drop_column("locked_at")
