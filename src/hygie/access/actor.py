"""Who is asking: an account, its roles per establishment today, and how it reached us."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from hygie.errors import NotFoundError
from hygie.kit import clock
from hygie.kit.time import local_date
from hygie.models import Role, User
from hygie.storage import staff as staff_store

HOW = frozenset({"web", "api", "cli", "hl7", "export", "system"})


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    human: bool
    professional_id: int | None
    # Establishment id -> roles held there under a habilitation valid today.
    roles: Mapping[int, frozenset[Role]]
    how: str
    session_id: int | None = None
    token_id: int | None = None
    token_scope: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    purpose: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def establishments(self) -> frozenset[int]:
        return frozenset(e for e, roles in self.roles.items() if roles)

    def roles_in(self, establishment_ids: frozenset[int]) -> frozenset[Role]:
        found: set[Role] = set()
        for est in establishment_ids & self.establishments:
            found |= self.roles[est]
        return frozenset(found)

    def main_role(self) -> str | None:
        every = sorted({r.value for roles in self.roles.values() for r in roles})
        return ",".join(every) or None


def roles_on(
    habilitations: Iterable[tuple[int, str, date, date | None]], day: date
) -> dict[int, frozenset[Role]]:
    """Establishment id -> roles held there under a habilitation valid on ``day``, from
    ``(establishment id, role, valid from, valid until)``."""
    roles: dict[int, set[Role]] = {}
    for establishment_id, role, valid_from, valid_until in habilitations:
        if valid_from <= day and (valid_until is None or day <= valid_until):
            roles.setdefault(establishment_id, set()).add(Role(role))
    return {e: frozenset(r) for e, r in roles.items()}


def load_actor(
    session: Session,
    *,
    username: str,
    how: str,
    session_id: int | None = None,
    token_id: int | None = None,
    token_scope: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    purpose: str | None = None,
    now: datetime | None = None,
    user: User | None = None,
) -> Actor:
    """The actor for an authenticated account (the caller has authenticated it). ``user``:
    the account's row when the caller has it already (saves looking it up again)."""
    if how not in HOW:
        raise ValueError(f"unknown channel {how!r}")
    if user is None or user.username != username:
        user = staff_store.user_by_username(session, username)
    if user is None or not user.active:
        raise NotFoundError("no such active account", field="username")
    habilitations = [
        (h.establishment_id, h.role, h.valid_from, h.valid_until)
        for h in staff_store.habilitations_of(session, user.id)
    ]
    return make_actor(
        user_id=user.id, username=user.username, human=user.kind.value == "human",
        professional_id=user.professional_id, habilitations=habilitations, how=how,
        now=now or clock.now(), session_id=session_id, token_id=token_id,
        token_scope=token_scope, ip=ip, user_agent=user_agent, purpose=purpose,
    )  # fmt: skip


def make_actor(
    *,
    user_id: int,
    username: str,
    human: bool,
    professional_id: int | None,
    habilitations: Iterable[tuple[int, str, date, date | None]],
    how: str,
    now: datetime,
    session_id: int | None = None,
    token_id: int | None = None,
    token_scope: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    purpose: str | None = None,
) -> Actor:
    """The actor of an authenticated, active account from its row's values and its
    habilitations ``(establishment id, role, valid from, valid until)``."""
    if how not in HOW:
        raise ValueError(f"unknown channel {how!r}")
    return Actor(
        user_id=user_id, username=username, human=human, professional_id=professional_id,
        roles=roles_on(habilitations, local_date(now)), how=how, session_id=session_id,
        token_id=token_id, token_scope=token_scope, ip=ip, user_agent=user_agent,
        purpose=purpose,
    )  # fmt: skip
