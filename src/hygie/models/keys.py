"""What the database knows of the keys that encrypt it: a canary value per key, so that a
missing or wrong key file is detected at start-up rather than on the first patient read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hygie.models.base import Base, utcnow
from hygie.models.types import UTCDateTime


class KeyCanary(Base):
    __tablename__ = "key_canaries"

    key_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    canary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
