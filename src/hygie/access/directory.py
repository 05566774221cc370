"""The group's directory as interfaces need it to name things: establishments (FINESS,
name, address), professionals (RPPS) and their roles in establishments. It holds no patient
data. ``establishments`` is a cached view for naming places inside an access that is
recorded on its own; the ``read_*`` and ``find_*`` functions are accesses to the directory
itself (FHIR Practitioner, PractitionerRole, Organization), each recorded in the trail."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from threading import Lock
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.gateway import AccessDenied, audit_entry, record_refusal
from hygie.access.scope import gate_transaction
from hygie.db import Database
from hygie.errors import NotFoundError
from hygie.kit import clock
from hygie.kit.checks import check_id
from hygie.kit.text import search_key
from hygie.kit.time import local_date
from hygie.storage import lists as lists_store
from hygie.storage import organisation as organisation_store

# Establishments change a few times a year; a minute-old view is fresh enough.
CACHE_SECONDS = 60.0
MAX_PAGE = 100
T = TypeVar("T")


@dataclass(frozen=True)
class Place:
    id: int
    finess: str
    name: str
    address_line: str
    postal_code: str
    city: str


_cache: dict[int, tuple[float, dict[int, Place]]] = {}
_lock = Lock()


def establishments(db: Database) -> dict[int, Place]:
    """Every establishment of the group, by id."""
    cached = fresh_establishments(db)
    if cached is not None:
        return cached
    key = id(db)
    with gate_transaction(db, frozenset()) as session:  # no patient row is needed
        places = {
            e.id: Place(e.id, e.finess, e.name, e.address_line, e.postal_code, e.city)
            for e in organisation_store.establishments(session)
        }
    with _lock:
        _cache[key] = (time.monotonic(), places)
    return places


def fresh_establishments(db: Database) -> dict[int, Place] | None:
    """``establishments`` if it is in the cache and fresh (no statement: a coroutine may call
    it), None otherwise."""
    with _lock:
        cached = _cache.get(id(db))
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    return None


def forget(db: Database) -> None:
    """Drop the cached view (after an establishment is added)."""
    with _lock:
        _cache.pop(id(db), None)


# --- the directory read by interfaces (FHIR Practitioner, PractitionerRole, Organization) ---
# Not patient data, so no establishment or care condition applies: any account holding a
# habilitation valid today reads it (IT administrators and security officers included);
# an account with none is refused. Every read and search is recorded (no patient in it).
DIRECTORY = "directory"


@dataclass(frozen=True)
class Person:
    """A professional of the directory (staff, or an outside physician with no account)."""

    id: int
    profession: str
    rpps: str | None
    family_name: str
    given_name: str
    specialty: str | None


@dataclass(frozen=True)
class Post:
    """A professional's role in an establishment: one habilitation of their account."""

    id: int
    professional_id: int
    establishment_id: int
    role: str
    valid_from: date
    valid_until: date | None
    active: bool  # the account is active and the habilitation valid today (Paris day)


@dataclass(frozen=True)
class Found(Generic[T]):
    total: int
    offset: int
    items: list[T]


def _allowed(db: Database, actor: Actor, action: str, details: dict[str, Any]) -> None:
    if actor.establishments:
        return
    record_refusal(db, actor, action=action, patient_ids=[], categories=[DIRECTORY],
                   reason="no habilitation valid today")  # fmt: skip
    raise AccessDenied("the directory is read by accounts holding a habilitation valid today")


def _record(
    session: Session, actor: Actor, *, action: str, outcome: str, count: int,
    details: dict[str, Any], reason: str | None = None,
) -> None:  # fmt: skip
    audit.record(
        session,
        audit_entry(actor, scope=actor.establishments, action=action, outcome=outcome,
                    level="summary", categories=[DIRECTORY], record_count=count,
                    reason=reason, details=details),
    )  # fmt: skip


def _person(p: Any) -> Person:
    return Person(p.id, p.profession.value, p.rpps, p.family_name, p.given_name, p.specialty)


def _post(hab: Any, user: Any, today: date) -> Post:
    return Post(
        id=hab.id, professional_id=user.professional_id, establishment_id=hab.establishment_id,
        role=hab.role.value, valid_from=hab.valid_from, valid_until=hab.valid_until,
        active=bool(user.active) and hab.valid_on(today),
    )  # fmt: skip


def _place(e: Any) -> Place:
    return Place(e.id, e.finess, e.name, e.address_line, e.postal_code, e.city)


def _read(
    db: Database, actor: Actor, what: str, ident: int, action: str,
    fetch: Callable[[Session], T | None],
) -> T:  # fmt: skip
    """One entry of the directory by id; a missing one is recorded as failed, then 404."""
    details = {"resource": f"{what}/{ident}"}
    _allowed(db, actor, action, details)
    check_id(ident, field="id")
    with gate_transaction(db, frozenset()) as session:
        found = fetch(session)
        _record(session, actor, action=action, outcome="allowed" if found else "failed",
                count=1 if found else 0, details=details,
                reason=None if found else f"no {what} #{ident}")  # fmt: skip
    if found is None:
        raise NotFoundError(f"{what} #{ident} does not exist", field="id")
    return found


def read_professional(
    db: Database, actor: Actor, professional_id: int, *, action: str = "directory.read"
) -> Person:
    def fetch(session: Session) -> Person | None:
        row = lists_store.professional(session, professional_id)
        return None if row is None else _person(row)

    return _read(db, actor, "practitioner", professional_id, action, fetch)


def find_professionals(
    db: Database, actor: Actor, *, family: str | None = None, rpps: str | None = None,
    offset: int = 0, count: int = 20, action: str = "directory.search",
) -> Found[Person]:  # fmt: skip
    """Professionals by family name (starts with, case-insensitive) and / or RPPS."""
    criteria = {k: v for k, v in {"family": family, "rpps": rpps}.items() if v is not None}
    details: dict[str, Any] = {"resource": "practitioner", "criteria": criteria}
    _allowed(db, actor, action, details)
    count = max(0, min(count, MAX_PAGE))
    with gate_transaction(db, frozenset()) as session:
        total, rows = lists_store.professionals(
            session, family=family, rpps=rpps, offset=offset, limit=count
        )
        people = [_person(p) for p in rows]
        _record(session, actor, action=action, outcome="allowed", count=len(people),
                details={**details, "offset": offset, "count": count, "total": total})  # fmt: skip
    return Found(total, offset, people)


def read_post(
    db: Database, actor: Actor, post_id: int, *, action: str = "directory.read",
    today: date | None = None,
) -> Post:  # fmt: skip
    day = today or local_date(clock.now())

    def fetch(session: Session) -> Post | None:
        row = lists_store.habilitation(session, post_id)
        return None if row is None else _post(row[0], row[1], day)

    return _read(db, actor, "practitioner role", post_id, action, fetch)


def find_posts(
    db: Database, actor: Actor, *, professional_id: int | None = None,
    establishment_id: int | None = None, offset: int = 0, count: int = 20,
    action: str = "directory.search", today: date | None = None,
) -> Found[Post]:  # fmt: skip
    """Professionals' roles, for one professional and / or one establishment."""
    day = today or local_date(clock.now())
    asked = {"practitioner": professional_id, "organization": establishment_id}
    criteria = {k: v for k, v in asked.items() if v is not None}
    details: dict[str, Any] = {"resource": "practitioner role", "criteria": criteria}
    _allowed(db, actor, action, details)
    count = max(0, min(count, MAX_PAGE))
    with gate_transaction(db, frozenset()) as session:
        total, rows = lists_store.habilitations(
            session, professional_id=professional_id, establishment_id=establishment_id,
            offset=offset, limit=count,
        )  # fmt: skip
        posts = [_post(h, u, day) for h, u in rows]
        _record(session, actor, action=action, outcome="allowed", count=len(posts),
                details={**details, "offset": offset, "count": count, "total": total})  # fmt: skip
    return Found(total, offset, posts)


def read_establishment(
    db: Database, actor: Actor, establishment_id: int, *, action: str = "directory.read"
) -> Place:
    def fetch(session: Session) -> Place | None:
        found = [e for e in organisation_store.establishments(session) if e.id == establishment_id]
        return _place(found[0]) if found else None

    return _read(db, actor, "organization", establishment_id, action, fetch)


def find_establishments(
    db: Database, actor: Actor, *, name: str | None = None, finess: str | None = None,
    offset: int = 0, count: int = 20, action: str = "directory.search",
) -> Found[Place]:  # fmt: skip
    """Establishments whose name contains ``name`` (accents and case ignored) and / or whose
    FINESS is ``finess``."""
    criteria = {k: v for k, v in {"name": name, "finess": finess}.items() if v is not None}
    details: dict[str, Any] = {"resource": "organization", "criteria": criteria}
    _allowed(db, actor, action, details)
    count = max(0, min(count, MAX_PAGE))
    key = search_key(name) if name is not None else None
    with gate_transaction(db, frozenset()) as session:
        every = [
            _place(e) for e in organisation_store.establishments(session)
            if (key is None or key in search_key(e.name)) and (finess is None or e.finess == finess)
        ]  # fmt: skip
        page = every[offset : offset + count]
        said = {**details, "offset": offset, "count": count, "total": len(every)}
        _record(session, actor, action=action, outcome="allowed", count=len(page), details=said)
    return Found(len(every), offset, page)
