"""exports

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Exports of patient lists with four-eyes approval of the bulk ones (issue 5). On PostgreSQL
the requests follow the row-level security of the tables they are drawn from: a
transaction sees and writes only the requests of the establishments it declared.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)
SCOPE = (
    "CREATE POLICY export_requests_scope ON export_requests USING ("
    "(SELECT hygie_scope_all()) OR establishment_id = ANY ((SELECT hygie_scope())::integer[]))"
)


def upgrade() -> None:
    op.create_table(
        "export_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requested_at", TIME, nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("establishment_id", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=True),
        sa.Column("end_day", sa.Date(), nullable=True),
        sa.Column("practitioner_id", sa.Integer(), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("patient_ids", sa.JSON(), nullable=False),
        sa.Column("patient_count", sa.Integer(), nullable=False),
        sa.Column("bulk", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", TIME, nullable=True),
        sa.Column("decision_comment", sa.String(length=1000), nullable=True),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("downloaded_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_export_requests_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["establishment_id"], ["establishments.id"],
            name=op.f("fk_export_requests_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"],
            name=op.f("fk_export_requests_requested_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_requests")),
    )  # fmt: skip
    op.create_index(
        "ix_export_requests_establishment_status", "export_requests",
        ["establishment_id", "status"], unique=False,
    )  # fmt: skip
    op.create_index(
        op.f("ix_export_requests_requested_by_id"), "export_requests", ["requested_by_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE export_requests ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE export_requests FORCE ROW LEVEL SECURITY")
        op.execute(SCOPE)


def downgrade() -> None:
    op.drop_index(op.f("ix_export_requests_requested_by_id"), table_name="export_requests")
    op.drop_index("ix_export_requests_establishment_status", table_name="export_requests")
    op.drop_table("export_requests")
