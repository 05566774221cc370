"""What the screens' gate reads share (agenda_views, ward_views): where the actor's roles
allow an access, a patient's identity summary inside an access already decided, and the
physicians of establishments (organisation data: no patient in it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from hygie.access.actor import Actor
from hygie.access.gateway import PatientSummary, summaries
from hygie.access.policy import Action, Category, decide
from hygie.models import Patient, Role
from hygie.storage import access as access_store
from hygie.storage import common
from hygie.storage import lists as lists_store

# An establishment's habilitations read at once to name its physicians (a clinic has a few
# hundred accounts at most).
MAX_HABILITATIONS = 5000


@dataclass(frozen=True)
class Physician:
    id: int  # the professional's id (an appointment's practitioner, a stay's responsible)
    name: str
    establishment_ids: tuple[int, ...]


def establishments_allowing(
    actor: Actor, action: Action, categories: Iterable[Category]
) -> frozenset[int]:
    """The actor's establishments where one role may ``action`` every one of ``categories``."""
    wanted = tuple(categories)
    return frozenset(
        est for est, roles in actor.roles.items()
        if any(all(decide(role=r.value, action=action.value, category=c.value, in_scope=True,
                          care_relationship=None, break_glass=False).allowed for c in wanted)
               for r in roles)
    )  # fmt: skip


def physicians_in(session: Session, establishments: Iterable[int], today: date) -> list[Physician]:
    """Physicians holding a habilitation valid today in ``establishments``, by name."""
    where: dict[int, set[int]] = {}
    for est in establishments:
        _total, rows = lists_store.habilitations(
            session, establishment_id=est, limit=MAX_HABILITATIONS
        )
        for h, u in rows:
            if h.role == Role.PHYSICIAN and u.active and h.valid_on(today) and u.professional_id:
                where.setdefault(u.professional_id, set()).add(est)
    people = [p for p in (lists_store.professional(session, i) for i in where) if p is not None]
    people.sort(key=lambda p: (p.family_name, p.given_name, p.id))
    return [Physician(p.id, p.display_name, tuple(sorted(where[p.id]))) for p in people]


def summary_of(session: Session, patient_id: int, scope: frozenset[int]) -> PatientSummary:
    """A patient's identity summary, with their files in ``scope`` only."""
    patient = common.get(session, Patient, patient_id, what="patient", field="patient_id")
    ests = access_store.establishments_of(session, patient_id) & scope
    return summaries([(patient, ests)])[0]


def professional_name(
    session: Session, professional_id: int, names: dict[int, str] | None = None
) -> str:
    """A professional's display name (``names``: a cache for a list)."""
    if names is not None and professional_id in names:
        return names[professional_id]
    person = lists_store.professional(session, professional_id)
    name = person.display_name if person is not None else f"#{professional_id}"
    if names is not None:
        names[professional_id] = name
    return name
