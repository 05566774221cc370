"""Accounts, the professionals behind them, and their habilitations."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hygie.models.base import AccountKind, Base, Profession, Role, enum_column, utcnow
from hygie.models.types import UTCDateTime


class Professional(Base):
    """A health or administrative professional: staff of the group, or an outside physician
    (an attending GP) who has no account."""

    __tablename__ = "professionals"

    id: Mapped[int] = mapped_column(primary_key=True)
    profession: Mapped[Profession] = mapped_column(enum_column(Profession, "profession"))
    rpps: Mapped[str | None] = mapped_column(String(11), unique=True)
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    specialty: Mapped[str | None] = mapped_column(String(100))

    @property
    def display_name(self) -> str:
        prefix = "Dr " if self.profession == Profession.PHYSICIAN else ""
        return f"{prefix}{self.given_name} {self.family_name}"


class User(Base):
    """An account that can sign in (human) or feed data (system)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AccountKind] = mapped_column(
        enum_column(AccountKind, "account_kind"), default=AccountKind.HUMAN
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    professional_id: Mapped[int | None] = mapped_column(ForeignKey("professionals.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when containment stopped the account (``access.containment``); only a security
    # officer clears it, with a reason. A locked account signs in and calls nothing.
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_reason: Mapped[str | None] = mapped_column(String(500))


class Habilitation(Base):
    """The right of one account to act in one role in one establishment, for a period."""

    __tablename__ = "habilitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)
