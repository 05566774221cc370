"""The clinical record: allergies, conditions, notes, prescriptions and the care team."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hygie.models.base import (
    AllergySeverity,
    Base,
    CareTeamRole,
    ClinicalStatus,
    NoteKind,
    PrescriptionStatus,
    Route,
    enum_column,
    utcnow,
)
from hygie.models.types import EncryptedText, UTCDateTime


class Allergy(Base):
    __tablename__ = "allergies"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"))
    substance: Mapped[str] = mapped_column(String(200))
    drug_code: Mapped[str | None] = mapped_column(String(10))
    reaction: Mapped[str] = mapped_column(String(200))
    severity: Mapped[AllergySeverity] = mapped_column(
        enum_column(AllergySeverity, "allergy_severity")
    )
    status: Mapped[ClinicalStatus] = mapped_column(
        enum_column(ClinicalStatus, "clinical_status"), default=ClinicalStatus.ACTIVE
    )
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Condition(Base):
    """A condition coded in CIM-10 (the label is copied so the record reads alone)."""

    __tablename__ = "conditions"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"))
    code: Mapped[str] = mapped_column(String(8), index=True)
    label: Mapped[str] = mapped_column(String(300))
    status: Mapped[ClinicalStatus] = mapped_column(
        enum_column(ClinicalStatus, "clinical_status"), default=ClinicalStatus.ACTIVE
    )
    onset_date: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClinicalNote(Base):
    """A clinical note; its text is encrypted at rest."""

    __tablename__ = "clinical_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"))
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"))
    kind: Mapped[NoteKind] = mapped_column(enum_column(NoteKind, "note_kind"))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(EncryptedText("clinical_notes.text"))


class Prescription(Base):
    __tablename__ = "prescriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"))
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id"))
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"), index=True)
    drug_code: Mapped[str] = mapped_column(String(10))
    drug_name: Mapped[str] = mapped_column(String(200))
    dose: Mapped[str] = mapped_column(String(100))
    route: Mapped[Route] = mapped_column(enum_column(Route, "route"))
    frequency: Mapped[str] = mapped_column(String(100))
    duration_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[PrescriptionStatus] = mapped_column(
        enum_column(PrescriptionStatus, "prescription_status"),
        default=PrescriptionStatus.ACTIVE,
    )
    prescribed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    allergy_override_reason: Mapped[str | None] = mapped_column(String(500))


class CareTeamMember(Base):
    """An explicit member of a patient's care team (the rest of the team is derived from
    appointments, stays and the attending physician)."""

    __tablename__ = "care_team_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"), index=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"))
    role: Mapped[CareTeamRole] = mapped_column(enum_column(CareTeamRole, "care_team_role"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
