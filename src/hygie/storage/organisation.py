"""Queries on groups, establishments and departments."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from hygie.models import Department, Establishment, Group


def group_by_name(session: Session, name: str) -> Group | None:
    return session.scalars(select(Group).where(Group.name == name)).first()


def has_group(session: Session) -> bool:
    return session.scalars(select(Group.id).limit(1)).first() is not None


def establishment_by_finess(session: Session, finess: str) -> Establishment | None:
    return session.scalars(select(Establishment).where(Establishment.finess == finess)).first()


def establishments(session: Session) -> Sequence[Establishment]:
    return session.scalars(select(Establishment).order_by(Establishment.id)).all()


def department_by_code(session: Session, establishment_id: int, code: str) -> Department | None:
    return session.scalars(
        select(Department).where(
            Department.establishment_id == establishment_id, Department.code == code
        )
    ).first()


def departments(session: Session, establishment_id: int) -> Sequence[Department]:
    return session.scalars(
        select(Department)
        .where(Department.establishment_id == establishment_id)
        .order_by(Department.code)
    ).all()
