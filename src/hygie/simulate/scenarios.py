"""The attacks ``hygie simulate`` injects into ordinary traffic, each a script of requests
made with stolen (or abused) accounts from addresses of the attacker's.

A script is a generator: it makes one request through its clients, then yields how long
it waits before the next; it ends when it has what it wanted or every client is stopped.
The scenarios follow THREAT-MODEL.md and the containment issue: full-speed harvest through
the API and through FHIR, low and slow, spread over 1, 5 and 20 accounts, night-time,
snooping, export abuse, break-the-glass abuse, mass cancellation, an IT administrator's shadow account,
and a departed colleague's account that comes back to life."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from hygie.access import accounts, exports, simulation
from hygie.errors import HygieError
from hygie.kit import clock
from hygie.kit.time import PARIS
from hygie.simulate.client import Client, Workstation
from hygie.simulate.world import Person, World

Script = Iterator[timedelta]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ATTACKER_AGENT = "python-requests/2.32.3"
SHADOW_RPPS = "10999999997"  # an RPPS number with a valid key (Luhn)


@dataclass
class Attack:
    """One scenario under way: its clients (what each received) and its accounts."""

    name: str
    started: datetime
    thieves: Thieves
    clients: list[Workstation] = field(default_factory=list)
    user_ids: set[int] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)

    @property
    def contained(self) -> bool:
        return bool(self.clients) and all(c.stopped for c in self.clients)

    @property
    def summaries(self) -> set[int]:
        return set().union(*(c.haul.summaries for c in self.clients)) if self.clients else set()

    @property
    def records(self) -> set[int]:
        return set().union(*(c.haul.records for c in self.clients)) if self.clients else set()


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    hour: float  # Paris time it starts, on its day
    accounts: int  # stolen accounts it needs
    script: Callable[[World, Attack, list[Person]], Script]
    role: str = "secretary"


class GateThieves:
    """How the attacker gets in, in the simulation: the gate called as the stolen account,
    from the attacker's address (tests go through HTTP instead, with the same scripts)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def steal(self, person: Person, ip: str, agent: str, *, n: int, token: bool) -> Workstation:
        actor = simulation.actor_of(
            self.world.db, person.member.username, how="api" if token else "web",
            session_id=None if token else 100_000 + n, token_id=100_000 + n if token else None,
            ip=ip, user_agent=agent,
        )  # fmt: skip
        return Client(self.world.db, actor, confirms=False)

    def shadow(self, admin: Person, ip: str, username: str) -> tuple[Workstation, int] | None:
        db = self.world.db
        actor = simulation.actor_of(db, admin.member.username, how="web", session_id=999_001,
                                    ip=ip, user_agent=ATTACKER_AGENT)  # fmt: skip
        finess = simulation.finess_of(db, admin.establishment)
        try:
            made = accounts.create_account(
                db, actor, username=username, role="physician", establishments=[finess],
                display_name="Dr Shadow", family_name="Shadow", given_name="Jean",
                rpps=SHADOW_RPPS,
            )  # fmt: skip
        except HygieError:
            return None
        shadow = simulation.actor_of(db, made.user.username, how="web", session_id=999_002,
                                     ip=ip, user_agent=ATTACKER_AGENT)  # fmt: skip
        return Client(db, shadow, confirms=False), made.user.id


class Thieves(Protocol):
    def steal(self, person: Person, ip: str, agent: str, *, n: int, token: bool) -> Workstation: ...
    def shadow(self, admin: Person, ip: str, username: str) -> tuple[Workstation, int] | None: ...


def steal(
    world: World,
    attack: Attack,
    person: Person,
    *,
    n: int,
    token: bool = False,
    workstation: bool = True,
) -> Workstation:
    """The attacker's client on ``person``'s account: from the victim's own workstation
    (malware, a session left open: the same address and browser, the hardest case), or,
    with ``workstation=False``, from an address and a client of the attacker's."""
    if workstation:
        ip, agent = person.ip, person.agent
    else:
        ip, agent = f"185.220.{100 + n // 200}.{n % 200 + 1}", ATTACKER_AGENT
    client = attack.thieves.steal(person, ip, agent, n=n, token=token)
    attack.clients.append(client)
    attack.user_ids.add(person.member.user_id)
    attack.ips.add(ip)
    return client


def _prefixes() -> Iterator[str]:
    for a, b in itertools.product(LETTERS, LETTERS):
        yield a + b


def full_speed(world: World, attack: Attack, people: list[Person]) -> Script:
    """(1) A stolen secretary's session: every two-letter search, every chart, one a second."""
    client = steal(world, attack, people[0], n=1)
    for prefix in _prefixes():
        for patient in client.search(prefix, limit=50):
            client.chart(patient)
            yield timedelta(seconds=1)
            if client.stopped:
                return
        yield timedelta(seconds=1)


def fhir_token(world: World, attack: Attack, people: list[Person]) -> Script:
    """(2) The same through FHIR with a stolen token: searches paged to their end."""
    client = steal(world, attack, people[0], n=2, token=True, workstation=False)
    for prefix in _prefixes():
        offset, total = 0, 1
        while offset < total and not client.stopped:
            ids, total = client.find(prefix, offset=offset)
            offset += max(len(ids), 1)
            for patient in ids:
                client.chart(patient)
                yield timedelta(milliseconds=100)
            yield timedelta(milliseconds=100)
        if client.stopped:
            return


def low_and_slow(world: World, attack: Attack, people: list[Person]) -> Script:
    """(3) Working hours only, one new chart every three minutes: 20 an hour, under any
    fixed hourly threshold, for as long as it lasts."""
    client = steal(world, attack, people[0], n=3)
    names = sorted({p.birth_name[:4] for ps in world.patients.values() for p in ps})
    seen: set[int] = set()
    for name in names:  # once through the names: what it can find, it reads
        for patient in client.search(name, limit=20):
            if patient in seen:
                continue
            seen.add(patient)
            client.chart(patient)
            yield _next_working_minute(timedelta(minutes=3))
            if client.stopped:
                return
        yield _next_working_minute(timedelta(seconds=20))


def _next_working_minute(wait: timedelta) -> timedelta:
    then = (clock.now() + wait).astimezone(PARIS)
    while then.weekday() >= 5 or not 9 <= then.hour < 17:
        then = (then + timedelta(hours=1)).replace(minute=0)
    return then - clock.now()


def spread(world: World, attack: Attack, people: list[Person]) -> Script:
    """(4) Several stolen accounts, each from its own address, each sweeping its share of
    the patient ids at a pace a person could keep."""
    clients = [steal(world, attack, p, n=10 + i, workstation=False) for i, p in enumerate(people)]
    ids = sorted({p.id for ps in world.patients.values() for p in ps})
    shares = [ids[i :: len(clients)] for i in range(len(clients))]
    for step in range(max(len(s) for s in shares)):
        for client, share in zip(clients, shares, strict=True):
            if step < len(share) and not client.stopped:
                client.chart(share[step])
        if all(c.stopped for c in clients):
            return
        yield timedelta(seconds=20)


def read_some(
    world: World, client: Workstation, establishment: int, count: int, pace: timedelta
) -> Script:
    """Charts of ``count`` patients of the establishment taken at random, one per ``pace``,
    until the client is stopped."""
    patients = [p.id for p in world.patients[establishment]]
    for patient in world.rng.sample(patients, min(count, len(patients))):
        client.chart(patient)
        yield pace
        if client.stopped:
            return


def night(world: World, attack: Attack, people: list[Person]) -> Script:
    """(5) A physician's account at two in the morning, reading charts slowly."""
    client = steal(world, attack, people[0], n=5)
    yield from read_some(world, client, people[0].establishment, 60, timedelta(seconds=40))


def snooping(world: World, attack: Attack, people: list[Person]) -> Script:
    """(6) A physician opens a colleague's or a public figure's record: no care
    relationship, a break-the-glass with a vague reason, then the neighbours' too."""
    client = steal(world, attack, people[0], n=6)  # an insider: their own account
    patients = [p.id for p in world.patients[people[0].establishment]]
    for patient in world.rng.sample(patients, 8):
        client.chart(patient)
        yield timedelta(minutes=4)
    target = patients[0]
    if client.break_glass(target, "other", "Vérification d'un dossier à la demande"):
        client.chart(target)


def export_abuse(world: World, attack: Attack, people: list[Person]) -> Script:
    """(7) A stolen reception account exports: every file of the establishment at once
    (bulk: it waits for a second person's approval, which never comes), then the coming
    days' appointment lists one agenda at a time, each under the bulk threshold."""
    client = steal(world, attack, people[0], n=7)
    establishment = people[0].establishment
    client.export(exports.ExportSpec(
        establishment_id=establishment, basis="files", categories=("contact", "coverage"),
        purpose="Mise à jour des coordonnées des patients",
    ))  # fmt: skip
    yield timedelta(minutes=2)
    now = clock.now()
    agendas = sorted({
        (b.start.astimezone(PARIS).date(), b.practitioner) for b in world.bookings
        if b.start > now and b.establishment == establishment
    })  # fmt: skip
    for day, practitioner in agendas:
        client.export(exports.ExportSpec(
            establishment_id=establishment, basis="appointments",
            categories=("contact", "coverage"), purpose="Rappel des rendez-vous par SMS",
            start=day, end=day + timedelta(days=1), practitioner_id=practitioner,
        ))  # fmt: skip
        yield timedelta(seconds=30)
        if client.stopped:
            return


def glass_abuse(world: World, attack: Attack, people: list[Person]) -> Script:
    """(8) Break-the-glass again and again in an afternoon."""
    client = steal(world, attack, people[0], n=8)
    patients = [p.id for p in world.patients[people[0].establishment]]
    for patient in world.rng.sample(patients, 12):
        if client.break_glass(patient, "emergency", "Urgence vitale, patient inconscient"):
            client.chart(patient)
        yield timedelta(minutes=5)
        if client.stopped:
            return


def mass_cancel(world: World, attack: Attack, people: list[Person]) -> Script:
    """(9) A stolen reception account cancels the coming appointments one after another."""
    client = steal(world, attack, people[0], n=9)
    now = clock.now()
    ahead = [
        b for b in world.bookings if b.start > now and b.establishment == people[0].establishment
    ]
    for booking in ahead[:80]:
        if client.cancel(booking.appointment, booking.patient):
            world.bookings.remove(booking)
        yield timedelta(seconds=15)
        if client.stopped:
            return


def shadow_account(world: World, attack: Attack, people: list[Person]) -> Script:
    """(10) An IT administrator creates a physician account for themself, then reads."""
    ip = "185.220.110.1"
    attack.user_ids.add(people[0].member.user_id)
    attack.ips.add(ip)
    made = attack.thieves.shadow(people[0], ip, "dr.shadow")
    if made is None:
        return
    client, user_id = made
    attack.clients.append(client)
    attack.user_ids.add(user_id)
    yield timedelta(minutes=10)
    yield from read_some(world, client, people[0].establishment, 200, timedelta(seconds=10))


def dormant(world: World, attack: Attack, people: list[Person]) -> Script:
    """(11) A departed colleague's account, never disabled, silent for weeks, reads again."""
    client = steal(world, attack, people[0], n=11, workstation=False)
    yield from read_some(world, client, people[0].establishment, 100, timedelta(seconds=30))


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("full-speed", "stolen privileged account, search paging and charts", 14.0, 1, full_speed),
        Scenario("fhir-token", "the same through FHIR with a token", 15.0, 1, fhir_token, role="physician"),
        Scenario("low-and-slow", "under any hourly threshold, working hours only", 9.0, 1, low_and_slow),
        Scenario("spread-1", "harvest by one account (sweep)", 10.0, 1, spread, role="nurse"),
        Scenario("spread-5", "harvest spread over 5 accounts and addresses", 10.0, 5, spread, role="nurse"),
        Scenario("spread-20", "harvest spread over 20 accounts and addresses", 10.0, 20, spread, role="nurse"),
        Scenario("night", "night-time access", 26.0, 1, night, role="physician"),
        Scenario("snooping", "a colleague's or a public figure's record", 13.0, 1, snooping, role="physician"),
        Scenario("export-abuse", "export abuse: bulk without approval, then agenda after agenda", 16.5, 1, export_abuse),
        Scenario("glass-abuse", "break-the-glass abuse", 15.0, 1, glass_abuse, role="physician"),
        Scenario("mass-cancel", "mass cancellation of appointments", 11.0, 1, mass_cancel),
        Scenario("shadow-account", "an IT administrator's shadow account", 16.0, 1, shadow_account, role="it_admin"),
        Scenario("dormant", "a departed staff member's account comes back", 10.0, 1, dormant, role="physician"),
    )
}  # fmt: skip
