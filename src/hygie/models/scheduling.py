"""Appointments and the history of their moves and status changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hygie.models.base import AppointmentStatus, Base, enum_column, utcnow
from hygie.models.types import UTCDateTime


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_practitioner_id_start_at", "practitioner_id", "start_at"),
        Index("ix_appointments_patient_id_start_at", "patient_id", "start_at"),
        Index("ix_appointments_establishment_id_start_at", "establishment_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"))
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_min: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[AppointmentStatus] = mapped_column(
        enum_column(AppointmentStatus, "appointment_status"), default=AppointmentStatus.BOOKED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppointmentEvent(Base):
    """One step of an appointment's life: booked, moved (old and new start), status change."""

    __tablename__ = "appointment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    old_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    old_status: Mapped[str | None] = mapped_column(String(20))
    new_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
