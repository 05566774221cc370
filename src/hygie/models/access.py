"""Tables of the access gate: credentials, sessions, API tokens, break-the-glass grants,
and the audit trail with its signed checkpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from hygie.models.base import Base, utcnow
from hygie.models.types import EncryptedText, UTCDateTime


class Credential(Base):
    """How a human account signs in: an argon2id password hash and a TOTP secret."""

    __tablename__ = "credentials"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText("credentials.totp_secret"))
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # refuses a code reused
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Failed sign-ins counted per key (``user:<name>`` or ``ip:<address>``) in a window."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A server-side session; the cookie carries a random id, the table its hash."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    mfa_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    csrf_secret: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(200))


class ApiToken(Base):
    """A short-lived bearer token bound to one account and its habilitations, stored hashed."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    scope: Mapped[str] = mapped_column(String(10))  # read | write
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BreakGlass(Base):
    """Emergency access to one patient outside a care relationship: justified, time-limited,
    reviewed by a security officer, visible in the patient's access history."""

    __tablename__ = "break_glass_grants"
    __table_args__ = (Index("ix_break_glass_grants_user_id_patient_id", "user_id", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"))
    reason_code: Mapped[str] = mapped_column(String(40))
    reason_text: Mapped[str] = mapped_column(String(1000))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_outcome: Mapped[str | None] = mapped_column(String(20))
    review_note: Mapped[str | None] = mapped_column(String(1000))


class AuditSeal(Base):
    """An event's place in the chain, given after the event committed (``access.sealing``):
    its position ``seq``, the previous event's hash, and ``hash`` over the event's canonical
    content with both. Append-only like the events (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_seals"

    event_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("audit_events.id"),
        primary_key=True,
    )
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)  # position in the chain
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # not chained


class AuditEvent(Base):
    """One access, allowed or denied, written in the access's own transaction. Append-only
    (triggers refuse UPDATE and DELETE); chained afterwards by its seal (``AuditSeal``)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_user_id_at", "user_id", "at"),
        Index("ix_audit_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the trail outlives accounts
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(30))
    establishment_id: Mapped[int | None] = mapped_column(Integer)
    session_id: Mapped[int | None] = mapped_column(Integer)
    token_id: Mapped[int | None] = mapped_column(Integer)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    how: Mapped[str] = mapped_column(String(20))  # web | api | cli | hl7 | export | system
    action: Mapped[str] = mapped_column(String(60))
    level: Mapped[str | None] = mapped_column(String(10))  # summary | record
    patient_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    purpose: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))  # allowed | denied | contained | failed
    reason: Mapped[str | None] = mapped_column(String(500))
    record_count: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # PostgreSQL: the writing transaction (pg_current_xact_id), which tells the sealer where
    # unsealed events can be. Not chained, not shown; NULL on SQLite.
    txid: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # The event's place in the chain, read from its seal (None until it is sealed); loaded
    # only when asked for.
    seq: Mapped[int | None] = column_property(
        select(AuditSeal.seq).where(AuditSeal.event_id == id).scalar_subquery(), deferred=True
    )


class AuditPatient(Base):
    """Which patients an audit event concerns, for a patient's access history."""

    __tablename__ = "audit_patients"

    event_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("audit_events.id"),
        primary_key=True,
    )
    patient_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)


class AuditCheckpoint(Base):
    """A signed statement of the chain head (Ed25519, key kept outside the database)."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AuditHead(Base):
    """The chain head (one row): the last sealed position and hash. Sealing locks and
    advances it; recording an event does not touch it, so writers never wait for each other.
    Not part of the trail (signed checkpoints expose a head moved back)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))
    # PostgreSQL: the snapshot of the last sealing pass ("xmin:xmax:xip,..."), so that the
    # next pass looks only at events of transactions unfinished then or started since.
    snapshot: Mapped[str | None] = mapped_column(Text)
