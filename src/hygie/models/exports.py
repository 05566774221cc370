"""Exports of patient lists (issue 5): what was asked, the patients it covers, frozen when
it was asked, and the four-eyes decision on a bulk one.

An export covers one establishment. Its patient list is fixed when it is requested, so the
approval covers exactly those patients and no one added later; the file is produced once,
at download, and the download is in the trail with every patient named."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hygie.models.base import Base
from hygie.models.types import UTCDateTime


class ExportRequest(Base):
    __tablename__ = "export_requests"
    __table_args__ = (
        Index("ix_export_requests_establishment_status", "establishment_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"))
    # What the list is made of: "files" (the establishment's patients), "appointments" or
    # "stays" in [start, end) (Paris days), optionally one practitioner's appointments.
    basis: Mapped[str] = mapped_column(String(20))
    first_day: Mapped[date | None] = mapped_column(Date)
    end_day: Mapped[date | None] = mapped_column(Date)  # excluded
    practitioner_id: Mapped[int | None] = mapped_column(Integer)
    categories: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(500))
    patient_ids: Mapped[list[int]] = mapped_column(JSON)
    patient_count: Mapped[int] = mapped_column(Integer)
    bulk: Mapped[bool] = mapped_column(Boolean)
    # ready (small: no approval needed) | pending | approved | refused | downloaded
    status: Mapped[str] = mapped_column(String(12))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_comment: Mapped[str | None] = mapped_column(String(1000))
    # After this, the request can no longer be approved or downloaded.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
