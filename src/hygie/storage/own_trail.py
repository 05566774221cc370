"""An account's own recent events in the trail (for the account holder's own page)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from hygie.models import AuditEvent


def recent_events(session: Session, user_id: int, *, limit: int) -> Sequence[AuditEvent]:
    """Newest first (index ix_audit_events_user_id_at)."""
    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.user_id == user_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
