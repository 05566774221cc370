"""Queries behind the IT administrator's screens: accounts with their habilitations and
the state of their second factor (never the secret itself)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from hygie.models import Credential, Habilitation, User


def accounts_with_credentials(
    session: Session, establishment_ids: Iterable[int]
) -> Sequence[tuple[User, Habilitation, Credential | None]]:
    """Accounts holding a habilitation in the given establishments, with it and their
    credential (None: the account has no password, a system account or one not set up)."""
    rows = session.execute(
        select(User, Habilitation, Credential)
        .join(Habilitation, Habilitation.user_id == User.id)
        .outerjoin(Credential, Credential.user_id == User.id)
        .where(Habilitation.establishment_id.in_(list(establishment_ids)))
        .order_by(User.username, Habilitation.establishment_id, Habilitation.id)
    ).all()
    return [(user, hab, cred) for user, hab, cred in rows]
