"""The simulated group: its people at their workstations, its patients as the clinic knows
them when they call, and what the simulated days have booked and admitted so far."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from hygie.access import simulation
from hygie.access.simulation import RosterPatient, StaffMember
from hygie.db import Database
from hygie.simulate.client import Client


@dataclass
class Person:
    member: StaffMember
    client: Client
    ip: str
    agent: str

    @property
    def establishment(self) -> int:
        return self.member.establishment_id

    @property
    def role(self) -> str:
        return self.member.role


@dataclass(frozen=True)
class Booking:
    appointment: int
    patient: int
    practitioner: int
    establishment: int
    start: datetime


@dataclass
class Stay:
    id: int
    patient: int
    establishment: int
    responsible: int
    until: date


@dataclass
class World:
    db: Database
    rng: random.Random
    people: list[Person]
    patients: dict[int, list[RosterPatient]]  # establishment -> its patients
    departments: dict[int, tuple[int, tuple[int, ...]]]
    bookings: list[Booking] = field(default_factory=list)
    stays: list[Stay] = field(default_factory=list)
    taken: set[tuple[int, datetime]] = field(default_factory=set)  # (practitioner, start)

    def staff(self, role: str, establishment: int | None = None) -> list[Person]:
        return [
            p for p in self.people
            if p.role == role and (establishment is None or p.establishment == establishment)
        ]  # fmt: skip

    @property
    def establishments(self) -> list[int]:
        return sorted(self.patients)

    def without(self, usernames: set[str]) -> World:
        """The same world (the same bookings and stays) with those people at home."""
        if not usernames:
            return self
        return replace(self, people=[p for p in self.people if p.member.username not in usernames])

    def person(self, username: str) -> Person:
        return next(p for p in self.people if p.member.username == username)


def build(db: Database, *, seed: int) -> World:
    """The world of a database holding a generated group (and its decoys)."""
    rng = random.Random(seed)  # noqa: S311 - simulated behaviour, not secrets
    org = simulation.organisation(db)
    patients: dict[int, list[RosterPatient]] = defaultdict(list)
    for patient in simulation.roster(db):
        patients[patient.establishment_id].append(patient)
    people = []
    seen: set[str] = set()
    for n, member in enumerate(org.staff):
        if member.username in seen:
            continue  # one workstation per person (their first establishment)
        seen.add(member.username)
        ip = f"10.{member.establishment_id}.{n // 250}.{n % 250 + 1}"
        agent = rng.choice(AGENTS)
        actor = simulation.actor_of(
            db, member.username, how="web", session_id=n + 1, ip=ip, user_agent=agent
        )
        people.append(Person(member, Client(db, actor), ip, agent))
    return World(
        db=db, rng=rng, people=people, patients=dict(patients), departments=org.departments
    )


AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/131.0",
)
