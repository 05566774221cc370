"""core schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_groups_name")),
    )
    op.create_table(
        "key_canaries",
        sa.Column("key_id", sa.String(length=20), nullable=False),
        sa.Column("canary", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_key_canaries")),
    )
    op.create_table(
        "professionals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "profession",
            sa.Enum(
                "physician",
                "nurse",
                "pharmacist",
                "midwife",
                "secretary",
                "billing_officer",
                "it_staff",
                "security_staff",
                name="profession",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("rpps", sa.String(length=11), nullable=True),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("specialty", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_professionals")),
        sa.UniqueConstraint("rpps", name=op.f("uq_professionals_rpps")),
    )
    op.create_table(
        "establishments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("finess", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address_line", sa.String(length=200), nullable=False),
        sa.Column("postal_code", sa.String(length=5), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_establishments_group_id_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_establishments")),
        sa.UniqueConstraint("finess", name=op.f("uq_establishments_finess")),
    )
    with op.batch_alter_table("establishments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_establishments_group_id"), ["group_id"], unique=False)

    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nir", sa.Text(), nullable=True),
        sa.Column("nir_hash", sa.String(length=64), nullable=True),
        sa.Column("birth_name", sa.String(length=100), nullable=False),
        sa.Column("birth_first_names", sa.String(length=200), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("used_first_name", sa.String(length=100), nullable=True),
        sa.Column("used_name", sa.String(length=100), nullable=True),
        sa.Column(
            "sex",
            sa.Enum(
                "female", "male", "unknown", name="sex", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("birth_place_code", sa.String(length=5), nullable=True),
        sa.Column(
            "identity_status",
            sa.Enum(
                "provisional",
                "retrieved",
                "validated",
                "qualified",
                name="identity_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "birth_name_key",
            sa.String(length=100).with_variant(sa.String(length=100, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "first_name_key",
            sa.String(length=100).with_variant(sa.String(length=100, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "used_name_key",
            sa.String(length=100).with_variant(sa.String(length=100, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("address_line", sa.String(length=200), nullable=True),
        sa.Column("postal_code", sa.String(length=10), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("phone_mobile", sa.String(length=20), nullable=True),
        sa.Column("phone_home", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("attending_physician_id", sa.Integer(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "active", "merged", name="patient_state", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("possible_duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attending_physician_id"],
            ["professionals.id"],
            name=op.f("fk_patients_attending_physician_id_professionals"),
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["patients.id"], name=op.f("fk_patients_merged_into_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["possible_duplicate_of_id"],
            ["patients.id"],
            name=op.f("fk_patients_possible_duplicate_of_id_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("nir_hash", name=op.f("uq_patients_nir_hash")),
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patients_attending_physician_id"),
            ["attending_physician_id"],
            unique=False,
        )
        batch_op.create_index("ix_patients_birth_date_sex", ["birth_date", "sex"], unique=False)
        batch_op.create_index(
            "ix_patients_birth_name_key_birth_date", ["birth_name_key", "birth_date"], unique=False
        )
        batch_op.create_index("ix_patients_used_name_key", ["used_name_key"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "human", "system", name="account_kind", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_users_professional_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("professional_id", name=op.f("uq_users_professional_id")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "allergies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("establishment_id", sa.Integer(), nullable=False),
        sa.Column("substance", sa.String(length=200), nullable=False),
        sa.Column("drug_code", sa.String(length=10), nullable=True),
        sa.Column("reaction", sa.String(length=200), nullable=False),
        sa.Column(
            "severity",
            sa.Enum(
                "mild",
                "moderate",
                "severe",
                name="allergy_severity",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "inactive",
                "resolved",
                "entered_in_error",
                name="clinical_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_allergies_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_allergies_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["professionals.id"],
            name=op.f("fk_allergies_recorded_by_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allergies")),
    )
    with op.batch_alter_table("allergies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_allergies_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "amc_coverages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("organism_number", sa.String(length=10), nullable=False),
        sa.Column("organism_name", sa.String(length=100), nullable=False),
        sa.Column("member_number", sa.Text(), nullable=False),
        sa.Column("third_party_payment", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_amc_coverages_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_amc_coverages")),
    )
    with op.batch_alter_table("amc_coverages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_amc_coverages_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "amo_coverages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("regime_code", sa.String(length=2), nullable=False),
        sa.Column("fund_code", sa.String(length=3), nullable=False),
        sa.Column("fund_name", sa.String(length=100), nullable=False),
        sa.Column("insured_nir", sa.Text(), nullable=False),
        sa.Column(
            "beneficiary",
            sa.Enum(
                "insured",
                "dependant",
                name="beneficiary",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_amo_coverages_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_amo_coverages")),
    )
    with op.batch_alter_table("amo_coverages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_amo_coverages_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "care_team_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("establishment_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "referent",
                "consultant",
                "nurse",
                "pharmacist",
                "other",
                name="care_team_role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_care_team_members_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_care_team_members_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_care_team_members_professional_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_team_members")),
    )
    with op.batch_alter_table("care_team_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_team_members_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_care_team_members_professional_id"), ["professional_id"], unique=False
        )

    op.create_table(
        "conditions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("establishment_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "inactive",
                "resolved",
                "entered_in_error",
                name="clinical_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("onset_date", sa.Date(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_conditions_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_conditions_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["professionals.id"],
            name=op.f("fk_conditions_recorded_by_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conditions")),
    )
    with op.batch_alter_table("conditions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conditions_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_conditions_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "death_declarations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("died_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("declared_by_id", sa.Integer(), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["declared_by_id"],
            ["professionals.id"],
            name=op.f("fk_death_declarations_declared_by_id_professionals"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_death_declarations_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_death_declarations")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_death_declarations_patient_id")),
    )
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("establishment_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("beds", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_departments_establishment_id_establishments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint(
            "establishment_id", "code", name=op.f("uq_departments_establishment_id_code")
        ),
    )
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_departments_establishment_id"), ["establishment_id"], unique=False
        )

    op.create_table(
        "habilitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("establishment_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "physician",
                "nurse",
                "secretary",
                "billing_officer",
                "pharmacist",
                "it_admin",
                "security_officer",
                name="role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_habilitations_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_habilitations_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_habilitations")),
    )
    with op.batch_alter_table("habilitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_habilitations_establishment_id"), ["establishment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_habilitations_user_id"), ["user_id"], unique=False)

    op.create_table(
        "identity_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_identity_events_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_identity_events_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_events")),
    )
    with op.batch_alter_table("identity_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_events_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("establishment_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("amo_cents", sa.Integer(), nullable=False),
        sa.Column("amc_cents", sa.Integer(), nullable=False),
        sa.Column("patient_cents", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "issued",
                "paid",
                "rejected",
                "cancelled",
                name="invoice_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_invoices_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_invoices_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoices_establishment_id"), ["establishment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_invoices_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "patient_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survivor_id", sa.Integer(), nullable=False),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_id"], ["patients.id"], name=op.f("fk_patient_merges_merged_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_patient_merges_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"], ["patients.id"], name=op.f("fk_patient_merges_survivor_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_merges")),
        sa.UniqueConstraint("merged_id", name=op.f("uq_patient_merges_merged_id")),
    )
    with op.batch_alter_table("patient_merges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_merges_survivor_id"), ["survivor_id"], unique=False
        )

    op.create_table(
        "patient_registrations",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("establishment_id", sa.Integer(), nullable=False),
        sa.Column("ipp", sa.String(length=20), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_patient_registrations_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_patient_registrations_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint(
            "patient_id", "establishment_id", name=op.f("pk_patient_registrations")
        ),
        sa.UniqueConstraint(
            "establishment_id", "ipp", name=op.f("uq_patient_registrations_establishment_id_ipp")
        ),
    )
    with op.batch_alter_table("patient_registrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_registrations_establishment_id"),
            ["establishment_id"],
            unique=False,
        )

    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("establishment_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "booked",
                "arrived",
                "done",
                "cancelled",
                "no_show",
                name="appointment_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_appointments_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_appointments_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_appointments_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["professionals.id"],
            name=op.f("fk_appointments_practitioner_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointments_establishment_id_start_at",
            ["establishment_id", "start_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_appointments_patient_id_start_at", ["patient_id", "start_at"], unique=False
        )
        batch_op.create_index(
            "ix_appointments_practitioner_id_start_at",
            ["practitioner_id", "start_at"],
            unique=False,
        )

    op.create_table(
        "encounters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("establishment_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "outpatient",
                "inpatient",
                name="encounter_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "in_progress",
                "finished",
                name="encounter_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("responsible_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("discharge_destination", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_encounters_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_encounters_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_encounters_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["responsible_id"],
            ["professionals.id"],
            name=op.f("fk_encounters_responsible_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encounters")),
    )
    with op.batch_alter_table("encounters", schema=None) as batch_op:
        batch_op.create_index(
            "ix_encounters_establishment_id_status", ["establishment_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_encounters_patient_id_start_at", ["patient_id", "start_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_encounters_responsible_id"), ["responsible_id"], unique=False
        )

    op.create_table(
        "appointment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("old_start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("new_start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("old_status", sa.String(length=20), nullable=True),
        sa.Column("new_status", sa.String(length=20), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_appointment_events_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_appointment_events_recorded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_events")),
    )
    with op.batch_alter_table("appointment_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointment_events_appointment_id"), ["appointment_id"], unique=False
        )

    op.create_table(
        "billable_acts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("establishment_id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column(
            "system",
            sa.Enum("CCAM", "NGAP", name="act_system", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_billable_acts_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
            name=op.f("fk_billable_acts_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_billable_acts_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_billable_acts_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_billable_acts_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["professionals.id"],
            name=op.f("fk_billable_acts_practitioner_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billable_acts")),
    )
    with op.batch_alter_table("billable_acts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billable_acts_invoice_id"), ["invoice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_billable_acts_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "clinical_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("establishment_id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "consultation",
                "admission",
                "progress",
                "nursing",
                "discharge",
                name="note_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["professionals.id"],
            name=op.f("fk_clinical_notes_author_id_professionals"),
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
            name=op.f("fk_clinical_notes_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_clinical_notes_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_clinical_notes_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinical_notes")),
    )
    with op.batch_alter_table("clinical_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clinical_notes_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("bed", sa.String(length=20), nullable=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_movements_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name=op.f("fk_movements_encounter_id_encounters")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_movements")),
    )
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_movements_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_movements_encounter_id"), ["encounter_id"], unique=False
        )

    op.create_table(
        "prescriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("establishment_id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=True),
        sa.Column("prescriber_id", sa.Integer(), nullable=False),
        sa.Column("drug_code", sa.String(length=10), nullable=False),
        sa.Column("drug_name", sa.String(length=200), nullable=False),
        sa.Column("dose", sa.String(length=100), nullable=False),
        sa.Column(
            "route",
            sa.Enum(
                "oral",
                "iv",
                "im",
                "sc",
                "cutaneous",
                "ophthalmic",
                "rectal",
                "inhaled",
                "sublingual",
                "transdermal",
                "nasal",
                "vaginal",
                name="route",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("frequency", sa.String(length=100), nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "completed",
                "stopped",
                "cancelled",
                name="prescription_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("prescribed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("allergy_override_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
            name=op.f("fk_prescriptions_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_prescriptions_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_prescriptions_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["prescriber_id"],
            ["professionals.id"],
            name=op.f("fk_prescriptions_prescriber_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescriptions")),
    )
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prescriptions_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_prescriptions_prescriber_id"), ["prescriber_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prescriptions_prescriber_id"))
        batch_op.drop_index(batch_op.f("ix_prescriptions_patient_id"))

    op.drop_table("prescriptions")
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_movements_encounter_id"))
        batch_op.drop_index(batch_op.f("ix_movements_department_id"))

    op.drop_table("movements")
    with op.batch_alter_table("clinical_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clinical_notes_patient_id"))

    op.drop_table("clinical_notes")
    with op.batch_alter_table("billable_acts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billable_acts_patient_id"))
        batch_op.drop_index(batch_op.f("ix_billable_acts_invoice_id"))

    op.drop_table("billable_acts")
    with op.batch_alter_table("appointment_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_events_appointment_id"))

    op.drop_table("appointment_events")
    with op.batch_alter_table("encounters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_encounters_responsible_id"))
        batch_op.drop_index("ix_encounters_patient_id_start_at")
        batch_op.drop_index("ix_encounters_establishment_id_status")

    op.drop_table("encounters")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_practitioner_id_start_at")
        batch_op.drop_index("ix_appointments_patient_id_start_at")
        batch_op.drop_index("ix_appointments_establishment_id_start_at")

    op.drop_table("appointments")
    with op.batch_alter_table("patient_registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_registrations_establishment_id"))

    op.drop_table("patient_registrations")
    with op.batch_alter_table("patient_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_merges_survivor_id"))

    op.drop_table("patient_merges")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_patient_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_establishment_id"))

    op.drop_table("invoices")
    with op.batch_alter_table("identity_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_events_patient_id"))

    op.drop_table("identity_events")
    with op.batch_alter_table("habilitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_habilitations_user_id"))
        batch_op.drop_index(batch_op.f("ix_habilitations_establishment_id"))

    op.drop_table("habilitations")
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_departments_establishment_id"))

    op.drop_table("departments")
    op.drop_table("death_declarations")
    with op.batch_alter_table("conditions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conditions_patient_id"))
        batch_op.drop_index(batch_op.f("ix_conditions_code"))

    op.drop_table("conditions")
    with op.batch_alter_table("care_team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_team_members_professional_id"))
        batch_op.drop_index(batch_op.f("ix_care_team_members_patient_id"))

    op.drop_table("care_team_members")
    with op.batch_alter_table("amo_coverages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_amo_coverages_patient_id"))

    op.drop_table("amo_coverages")
    with op.batch_alter_table("amc_coverages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_amc_coverages_patient_id"))

    op.drop_table("amc_coverages")
    with op.batch_alter_table("allergies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allergies_patient_id"))

    op.drop_table("allergies")
    op.drop_table("users")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index("ix_patients_used_name_key")
        batch_op.drop_index("ix_patients_birth_name_key_birth_date")
        batch_op.drop_index("ix_patients_birth_date_sex")
        batch_op.drop_index(batch_op.f("ix_patients_attending_physician_id"))

    op.drop_table("patients")
    with op.batch_alter_table("establishments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_establishments_group_id"))

    op.drop_table("establishments")
    op.drop_table("professionals")
    op.drop_table("key_canaries")
    op.drop_table("groups")
