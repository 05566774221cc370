"""row level security

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

On PostgreSQL only (SQLite has no row-level security): every table holding patient data
shows and accepts only the rows of the establishments the transaction declared with
``set_config('hygie.establishments', '<ids, comma-separated>' | '*', true)``. Nothing
declared (or an empty value) means no row at all. FORCE makes the tables' owner subject
too; superusers and roles with BYPASSRLS are not (see docs/DECISIONS.md).

- Rows that carry their establishment are filtered on it.
- Rows that belong to the patient (identity, coverage, death, identity history, allergies,
  conditions) are visible where the patient has a file (``patient_registrations``, looked
  up by its primary key). Allergies and conditions follow the patient, not the site that
  recorded them: the allergy check on prescription must see an allergy recorded elsewhere.
- Movements and appointment events follow their stay and appointment.
- A new identity may be written by any transaction that declared a scope: it is written
  before its first file, which the same transaction then writes under the declared scope.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The scope functions are wrapped in scalar sub-selects in the policies, so that they are
# evaluated once per statement (an InitPlan), not once per row.
ALL = "(SELECT hygie_scope_all())"
IN_SCOPE = "= ANY ((SELECT hygie_scope())::integer[])"

BY_ESTABLISHMENT = (
    "patient_registrations",
    "appointments",
    "encounters",
    "clinical_notes",
    "prescriptions",
    "care_team_members",
    "invoices",
    "billable_acts",
)
BY_PATIENT = (
    "amo_coverages",
    "amc_coverages",
    "death_declarations",
    "identity_events",
    "allergies",
    "conditions",
)
BY_PARENT = {  # table: (column, parent table)
    "movements": ("encounter_id", "encounters"),
    "appointment_events": ("appointment_id", "appointments"),
}
TABLES = (
    "patients",
    *BY_ESTABLISHMENT,
    *BY_PATIENT,
    "patient_merges",
    *BY_PARENT,
)

FUNCTIONS = (
    # '*': every establishment (system work). Anything else than a list of ids fails the
    # statement (the cast), which fails closed.
    "CREATE FUNCTION hygie_scope_all() RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$ "
    "SELECT coalesce(current_setting('hygie.establishments', true), '') = '*' $$",
    "CREATE FUNCTION hygie_scope() RETURNS integer[] LANGUAGE sql STABLE PARALLEL SAFE AS $$ "
    "SELECT CASE WHEN coalesce(current_setting('hygie.establishments', true), '') IN ('', '*') "
    "THEN '{}'::integer[] "
    "ELSE string_to_array(current_setting('hygie.establishments', true), ',')::integer[] END $$",
)


def _registered(patient_column: str) -> str:
    """The patient in ``patient_column`` has a file in a declared establishment."""
    return (
        f"EXISTS (SELECT 1 FROM patient_registrations r WHERE r.patient_id = {patient_column} "  # noqa: S608 - names are this module's constants
        f"AND r.establishment_id {IN_SCOPE})"
    )


def _policies() -> list[str]:
    sql = []
    for table in BY_ESTABLISHMENT:
        sql.append(
            f"CREATE POLICY {table}_scope ON {table} USING ({ALL} OR establishment_id {IN_SCOPE})"
        )
    for table in BY_PATIENT:
        sql.append(
            f"CREATE POLICY {table}_scope ON {table} "
            f"USING ({ALL} OR {_registered(f'{table}.patient_id')})"
        )
    sql.append(
        "CREATE POLICY patient_merges_scope ON patient_merges "
        f"USING ({ALL} OR {_registered('patient_merges.survivor_id')} "
        f"OR {_registered('patient_merges.merged_id')})"
    )
    for table, (column, parent) in BY_PARENT.items():
        # The parent's own policy applies inside the sub-select: visible with its parent.
        sql.append(
            f"CREATE POLICY {table}_scope ON {table} "  # noqa: S608 - names are this module's constants
            f"USING (EXISTS (SELECT 1 FROM {parent} p WHERE p.id = {table}.{column}))"
        )
    visible = f"{ALL} OR {_registered('patients.id')}"
    sql += [
        f"CREATE POLICY patients_read ON patients FOR SELECT USING ({visible})",
        f"CREATE POLICY patients_update ON patients FOR UPDATE USING ({visible})",
        f"CREATE POLICY patients_delete ON patients FOR DELETE USING ({visible})",
        # Written before its first file: allowed to any transaction with a declared scope
        # (the application writes it without RETURNING, which would need it readable).
        "CREATE POLICY patients_create ON patients FOR INSERT "
        f"WITH CHECK ({ALL} OR cardinality((SELECT hygie_scope())) > 0)",
    ]
    return sql


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in FUNCTIONS:
        op.execute(statement)
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for statement in _policies():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        for name in _policy_names(table):
            op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS hygie_scope()")
    op.execute("DROP FUNCTION IF EXISTS hygie_scope_all()")


def _policy_names(table: str) -> tuple[str, ...]:
    if table == "patients":
        return ("patients_read", "patients_update", "patients_delete", "patients_create")
    return (f"{table}_scope",)
