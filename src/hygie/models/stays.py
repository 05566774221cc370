"""Encounters: outpatient consultations and hospital stays with their movements."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hygie.models.base import Base, EncounterKind, EncounterStatus, enum_column
from hygie.models.types import UTCDateTime


class Encounter(Base):
    __tablename__ = "encounters"
    __table_args__ = (
        Index("ix_encounters_patient_id_start_at", "patient_id", "start_at"),
        Index("ix_encounters_establishment_id_status", "establishment_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"))
    kind: Mapped[EncounterKind] = mapped_column(enum_column(EncounterKind, "encounter_kind"))
    status: Mapped[EncounterStatus] = mapped_column(
        enum_column(EncounterStatus, "encounter_status")
    )
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    responsible_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"), index=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200))
    discharge_destination: Mapped[str | None] = mapped_column(String(50))


class Movement(Base):
    """A period of a stay in one unit (and bed): admission opens the first, each transfer
    closes the current one and opens the next, discharge closes the last."""

    __tablename__ = "movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    bed: Mapped[str | None] = mapped_column(String(20))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
