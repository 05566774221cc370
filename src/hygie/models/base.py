"""The declarative base and the vocabularies (enumerations) shared by the models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import Enum, MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def enum_column(enum_cls: type[enum.StrEnum], name: str) -> Enum:
    """A portable enumeration column: a VARCHAR with a CHECK constraint on every database."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


class Role(enum.StrEnum):
    PHYSICIAN = "physician"
    NURSE = "nurse"
    SECRETARY = "secretary"
    BILLING_OFFICER = "billing_officer"
    PHARMACIST = "pharmacist"
    IT_ADMIN = "it_admin"
    SECURITY_OFFICER = "security_officer"
    # Held by system accounts only (an HL7 feed): no person signs in with it.
    INTERFACE = "interface"


class Profession(enum.StrEnum):
    PHYSICIAN = "physician"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    MIDWIFE = "midwife"
    SECRETARY = "secretary"
    BILLING_OFFICER = "billing_officer"
    IT_STAFF = "it_staff"
    SECURITY_STAFF = "security_staff"

    @property
    def has_rpps(self) -> bool:
        """Professions registered in the national RPPS directory."""
        return self in _RPPS_PROFESSIONS


_RPPS_PROFESSIONS = {
    Profession.PHYSICIAN,
    Profession.NURSE,
    Profession.PHARMACIST,
    Profession.MIDWIFE,
}


class AccountKind(enum.StrEnum):
    HUMAN = "human"
    SYSTEM = "system"


class Sex(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class IdentityStatus(enum.StrEnum):
    PROVISIONAL = "provisional"
    RETRIEVED = "retrieved"
    VALIDATED = "validated"
    QUALIFIED = "qualified"


class PatientState(enum.StrEnum):
    ACTIVE = "active"
    MERGED = "merged"


class Beneficiary(enum.StrEnum):
    INSURED = "insured"
    DEPENDANT = "dependant"


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    ARRIVED = "arrived"
    DONE = "done"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class EncounterKind(enum.StrEnum):
    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"


class EncounterStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    FINISHED = "finished"


class AllergySeverity(enum.StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class ClinicalStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    RESOLVED = "resolved"
    ENTERED_IN_ERROR = "entered_in_error"


class NoteKind(enum.StrEnum):
    CONSULTATION = "consultation"
    ADMISSION = "admission"
    PROGRESS = "progress"
    NURSING = "nursing"
    DISCHARGE = "discharge"


class PrescriptionStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    STOPPED = "stopped"
    CANCELLED = "cancelled"


class Route(enum.StrEnum):
    ORAL = "oral"
    IV = "iv"
    IM = "im"
    SC = "sc"
    CUTANEOUS = "cutaneous"
    OPHTHALMIC = "ophthalmic"
    RECTAL = "rectal"
    INHALED = "inhaled"
    SUBLINGUAL = "sublingual"
    TRANSDERMAL = "transdermal"
    NASAL = "nasal"
    VAGINAL = "vaginal"


class ActSystem(enum.StrEnum):
    CCAM = "CCAM"
    NGAP = "NGAP"


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PAID = "paid"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class CareTeamRole(enum.StrEnum):
    REFERENT = "referent"
    CONSULTANT = "consultant"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    OTHER = "other"
