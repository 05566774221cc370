"""Tables of containment (issue 5): the security alerts raised by the detector, the decoy
("honey") patients it watches, and the norms it measures accounts against.

An account's lock is two columns on ``users`` (``locked_at``, ``locked_reason``): every
session and token check reads the account's row already, so a lock costs no extra read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hygie.models.base import Base, utcnow
from hygie.models.types import UTCDateTime


class SecurityAlert(Base):
    """One alert: what the detector saw (the rule, the figures and the events behind it),
    what it did (``response``), and the security officer's review."""

    __tablename__ = "security_alerts"
    __table_args__ = (Index("ix_security_alerts_status_at", "status", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no FK: outlives accounts
    username: Mapped[str | None] = mapped_column(String(64))
    establishment_id: Mapped[int | None] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))  # info | warning | high | critical
    response: Mapped[str] = mapped_column(String(10))  # alert | step_up | slow | contain
    summary: Mapped[str] = mapped_column(String(500))
    # The figures (counts, norms) and the ids of the trail's events behind the alert.
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | closed
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    review_comment: Mapped[str | None] = mapped_column(String(1000))


class HoneyRecord(Base):
    """A decoy patient: a plausible identity with a file in one establishment and nothing
    else, which no legitimate work ever reaches. Any access to one is an alert."""

    __tablename__ = "honey_records"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"), index=True)
    planted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DetectionNorm(Base):
    """A threshold the detector measures against, replacing its default: for a role (None: any),
    in an establishment (None: every one), for one signal (``records.1h``...). Learned from
    the trail (``source = learned``) or set by a security officer (``officer``)."""

    __tablename__ = "detection_norms"
    __table_args__ = (UniqueConstraint("role", "establishment_id", "signal"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str | None] = mapped_column(String(30))
    establishment_id: Mapped[int | None] = mapped_column(ForeignKey("establishments.id"))
    signal: Mapped[str] = mapped_column(String(40))
    threshold: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(10))  # learned | officer
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
