"""Queries of the demonstration set-up: whether the trail says this database was created
as a demo, and the demo's accounts with their credentials."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from hygie.models import AuditEvent, Establishment, Habilitation, User

DEMO_ACTION = "demo.create"


def is_demo(session: Session) -> bool:
    return (
        session.scalar(select(AuditEvent.id).where(AuditEvent.action == DEMO_ACTION).limit(1))
        is not None
    )


def first_establishment(session: Session) -> int | None:
    return session.scalar(select(Establishment.id).order_by(Establishment.id).limit(1))


def accounts_by_role(session: Session, establishment_id: int) -> Sequence[tuple[User, str]]:
    """Human accounts habilitated in the establishment, with the role, by account id."""
    rows = session.execute(
        select(User, Habilitation.role)
        .join(Habilitation, Habilitation.user_id == User.id)
        .where(Habilitation.establishment_id == establishment_id, User.active.is_(True))
        .order_by(User.id)
    ).all()
    return [(user, str(role.value if hasattr(role, "value") else role)) for user, role in rows]
