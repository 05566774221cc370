"""Billable acts (CCAM / NGAP) and invoices split between AMO, AMC and the patient.

Amounts are integer euro cents: exact on every database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hygie.models.base import ActSystem, Base, InvoiceStatus, enum_column, utcnow
from hygie.models.types import UTCDateTime


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    total_cents: Mapped[int] = mapped_column(Integer)
    amo_cents: Mapped[int] = mapped_column(Integer)
    amc_cents: Mapped[int] = mapped_column(Integer)
    patient_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[InvoiceStatus] = mapped_column(enum_column(InvoiceStatus, "invoice_status"))


class BillableAct(Base):
    __tablename__ = "billable_acts"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"))
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    code: Mapped[str] = mapped_column(String(10))
    system: Mapped[ActSystem] = mapped_column(enum_column(ActSystem, "act_system"))
    performed_on: Mapped[date] = mapped_column(Date)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"))
    amount_cents: Mapped[int] = mapped_column(Integer)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
