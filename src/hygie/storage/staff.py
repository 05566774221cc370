"""Queries on accounts, professionals and habilitations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from hygie.models import Habilitation, Professional, Role, User


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def professional_by_rpps(session: Session, rpps: str) -> Professional | None:
    return session.scalars(select(Professional).where(Professional.rpps == rpps)).first()


def user_of_professional(session: Session, professional_id: int) -> User | None:
    return session.scalars(select(User).where(User.professional_id == professional_id)).first()


def habilitations_of(session: Session, user_id: int) -> Sequence[Habilitation]:
    return session.scalars(
        select(Habilitation).where(Habilitation.user_id == user_id).order_by(Habilitation.id)
    ).all()


def has_valid_habilitation(
    session: Session,
    *,
    professional_id: int,
    establishment_id: int,
    roles: set[Role],
    on: date,
) -> bool:
    """Whether the account of ``professional_id`` may act in one of ``roles`` at the
    establishment on ``on``."""
    found = session.scalars(
        select(Habilitation.id)
        .join(User, User.id == Habilitation.user_id)
        .where(
            User.professional_id == professional_id,
            User.active.is_(True),
            Habilitation.establishment_id == establishment_id,
            Habilitation.role.in_(roles),
            Habilitation.valid_from <= on,
            or_(Habilitation.valid_until.is_(None), Habilitation.valid_until >= on),
        )
        .limit(1)
    ).first()
    return found is not None


def set_creation_times(session: Session, at: datetime) -> None:
    """Set every account's and habilitation's creation time (synthetic data only)."""
    session.execute(update(User).values(created_at=at))
    session.execute(update(Habilitation).values(created_at=at))


def accounts_in(
    session: Session, establishment_ids: Iterable[int]
) -> Sequence[tuple[User, Habilitation]]:
    """Accounts holding a habilitation in the given establishments, with it."""
    rows = session.execute(
        select(User, Habilitation)
        .join(Habilitation, Habilitation.user_id == User.id)
        .where(Habilitation.establishment_id.in_(list(establishment_ids)))
        .order_by(User.username, Habilitation.establishment_id, Habilitation.id)
    ).all()
    return [(user, hab) for user, hab in rows]
