"""The audit events of authentication, written through ``access.audit.record``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hygie.access.audit import Entry, record
from hygie.models import AuditEvent, User


def note(
    session: Session,
    *,
    action: str,
    outcome: str,
    how: str,
    now: datetime,
    user: User | None = None,
    username: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    session_id: int | None = None,
    token_id: int | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one authentication event (``user`` is the account concerned, if known)."""
    return record(
        session,
        Entry(
            action=action,
            outcome=outcome,
            how=how,
            user_id=user.id if user is not None else None,
            username=user.username if user is not None else username,
            ip=(ip or None) and ip[:64],
            user_agent=(user_agent or None) and user_agent[:400],
            session_id=session_id,
            token_id=token_id,
            reason=reason,
            details=details or {},
        ),
        now=now,
    )
