"""The organisation and staff of a synthetic group, created through the services."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from hygie.generate.pools import Pools, pools
from hygie.kit.identifiers import luhn_key
from hygie.kit.text import search_key
from hygie.models import Profession, User
from hygie.organisation import service as org
from hygie.staff import service as staff
from hygie.storage import organisation as org_store
from hygie.storage import staff as staff_store

ESTABLISHMENT_NAMES = (
    ("Clinique Saint-Jean", "Paris", "75012", "75"),
    ("Hôpital privé des Peupliers", "Paris", "75013", "75"),
    ("Clinique du Val de Seine", "Boulogne-Billancourt", "92100", "92"),
    ("Clinique de l'Ourcq", "Pantin", "93500", "93"),
    ("Hôpital privé de Vitry", "Vitry-sur-Seine", "94400", "94"),
    ("Clinique des Lilas", "Montreuil", "93100", "93"),
    ("Clinique Pasteur", "Nanterre", "92000", "92"),
    ("Hôpital privé de Créteil", "Créteil", "94000", "94"),
    ("Clinique de Versailles", "Versailles", "78000", "78"),
    ("Clinique du Parc", "Cergy", "95000", "95"),
)

# code, name, beds, specialty of its physicians
DEPARTMENTS = (
    ("CONS", "Consultations externes", 0, "Médecine générale"),
    ("URG", "Urgences", 12, "Médecine d'urgence"),
    ("MED", "Médecine polyvalente", 40, "Médecine interne"),
    ("CARD", "Cardiologie", 24, "Cardiologie"),
    ("CHIR", "Chirurgie viscérale", 30, "Chirurgie viscérale et digestive"),
    ("ORTH", "Chirurgie orthopédique", 30, "Chirurgie orthopédique"),
    ("MAT", "Maternité", 20, "Gynécologie-obstétrique"),
    ("PED", "Pédiatrie", 16, "Pédiatrie"),
    ("GER", "Gériatrie", 30, "Gériatrie"),
)


@dataclass(frozen=True)
class EstablishmentPlan:
    id: int
    finess: str
    consultation_dept: int
    ward_depts: tuple[int, ...]
    physicians: tuple[int, ...]  # professional ids
    nurses: tuple[int, ...]


@dataclass(frozen=True)
class Plan:
    """What the patient generator needs to know of the organisation (picklable)."""

    establishments: tuple[EstablishmentPlan, ...]
    gps: tuple[int, ...]  # outside attending physicians
    reference_date: date
    usernames: dict[str, list[str]] = field(default_factory=dict)  # role -> usernames


class _Identities:
    """Unique RPPS numbers and usernames for the run."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rpps: set[str] = set()
        self.usernames: set[str] = set()

    def new_rpps(self) -> str:
        while True:
            body = "10" + f"{self.rng.randrange(10**8):08d}"
            value = body + luhn_key(body)
            if value not in self.rpps:
                self.rpps.add(value)
                return value

    def new_username(self, given: str, family: str) -> str:
        base = f"{search_key(given)}.{search_key(family)}".lower().replace(" ", "-")
        name, n = base, 1
        while name in self.usernames:
            n += 1
            name = f"{base}{n}"
        self.usernames.add(name)
        return name


def staff_counts(patients_per_establishment: int) -> dict[str, int]:
    scale = patients_per_establishment / 1000
    physicians = max(8, round(0.7 * scale))
    return {
        "physician": physicians,
        "nurse": max(6, 2 * physicians),
        "secretary": max(3, round(0.35 * physicians)),
        "billing_officer": max(2, round(scale / 30)),
        "pharmacist": max(1, round(scale / 50)),
    }


def build_plan(
    session: Session, *, establishments: int, patients: int, seed: int, reference_date: date
) -> Plan:
    rng = random.Random(f"{seed}:plan")
    ids = _Identities(rng)
    p = pools()
    group = org.create_group(session, name="Groupe Hygie Santé")
    usernames: dict[str, list[str]] = {}
    est_plans = []
    counts = staff_counts(max(1, patients // establishments))
    group_roles: list[tuple[int, str]] = []
    for role, profession in (("it_admin", "it_staff"), ("security_officer", "security_staff")):
        for _ in range(2):
            user, username = _person(session, rng, ids, p, profession)
            group_roles.append((user.id, role))
            usernames.setdefault(role, []).append(username)

    for index in range(establishments):
        name, city, postal, dep = ESTABLISHMENT_NAMES[index % len(ESTABLISHMENT_NAMES)]
        if index >= len(ESTABLISHMENT_NAMES):
            name = f"{name} {index // len(ESTABLISHMENT_NAMES) + 1}"
        finess = _finess(rng, dep, session)
        est = org.create_establishment(
            session,
            group_id=group.id,
            finess=finess,
            name=name,
            address_line=f"{rng.randint(1, 120)} {rng.choice(p.street_prefixes)} {rng.choice(('Pasteur', 'de la République', 'Victor Hugo', 'du Général Leclerc'))}",
            postal_code=postal,
            city=city,
        )
        depts = {}
        for code, dname, beds, _spec in DEPARTMENTS[: 5 + (index % 5)]:
            depts[code] = org.add_department(
                session, establishment_id=est.id, code=code, name=dname, beds=beds
            ).id
        since = reference_date - timedelta(days=3650)
        for user_id, role in group_roles:
            staff.grant_habilitation(
                session, user_id=user_id, establishment_id=est.id, role=role, valid_from=since
            )
        physicians, nurses = [], []
        for role, count in counts.items():
            for i in range(count):
                spec = DEPARTMENTS[i % len(depts)][3] if role == "physician" else None
                profession = {"billing_officer": "billing_officer"}.get(role, role)
                user, username = _person(session, rng, ids, p, profession, specialty=spec)
                valid_from = reference_date - timedelta(days=rng.randint(30, 3000))
                temporary = rng.random() < 0.05
                staff.grant_habilitation(
                    session,
                    user_id=user.id,
                    establishment_id=est.id,
                    role=role,
                    valid_from=valid_from,
                    valid_until=reference_date + timedelta(days=rng.randint(30, 180))
                    if temporary
                    else None,
                )
                usernames.setdefault(role, []).append(username)
                if role == "physician" and user.professional_id is not None:
                    physicians.append(user.professional_id)
                elif role == "nurse" and user.professional_id is not None:
                    nurses.append(user.professional_id)
        est_plans.append(
            EstablishmentPlan(
                id=est.id,
                finess=est.finess,
                consultation_dept=depts["CONS"],
                ward_depts=tuple(v for k, v in depts.items() if k != "CONS"),
                physicians=tuple(physicians),
                nurses=tuple(nurses),
            )
        )
    # Some physicians consult in a second establishment of the group.
    if establishments > 1:
        for i, planned in enumerate(est_plans):
            other = est_plans[(i + 1) % len(est_plans)]
            for prof_id in planned.physicians[: max(1, len(planned.physicians) // 10)]:
                account = staff_store.user_of_professional(session, prof_id)
                if account is None:  # pragma: no cover - every planned physician has one
                    continue
                staff.grant_habilitation(
                    session,
                    user_id=account.id,
                    establishment_id=other.id,
                    role="physician",
                    valid_from=reference_date - timedelta(days=365),
                )
    gps = []
    for _ in range(max(20, patients // 800)):
        given, family = _name(rng, p)
        gps.append(
            staff.create_professional(
                session,
                profession="physician",
                family_name=family,
                given_name=given,
                rpps=ids.new_rpps(),
                specialty="Médecine générale",
            ).id
        )
    _stamp_creation_times(session, reference_date)
    return Plan(
        establishments=tuple(est_plans),
        gps=tuple(gps),
        reference_date=reference_date,
        usernames=usernames,
    )


def _stamp_creation_times(session: Session, reference_date: date) -> None:
    """Creation times derived from the plan instead of the clock: same seed, same data."""
    opened = datetime.combine(reference_date - timedelta(days=3650), time(8), tzinfo=UTC)
    staff_store.set_creation_times(session, opened)


def _name(rng: random.Random, p: Pools) -> tuple[str, str]:
    first = rng.choice(p.female_first if rng.random() < 0.55 else p.male_first)
    return first, rng.choice(p.last_names)


def _person(
    session: Session,
    rng: random.Random,
    ids: _Identities,
    p: Pools,
    profession: str,
    *,
    specialty: str | None = None,
) -> tuple[User, str]:
    """A professional with an account; returns the account and its username."""
    given, family = _name(rng, p)
    prof = staff.create_professional(
        session,
        profession=profession,
        family_name=family,
        given_name=given,
        rpps=ids.new_rpps() if Profession(profession).has_rpps else None,
        specialty=specialty,
    )
    username = ids.new_username(given, family)
    title = "Dr " if profession == "physician" else ""
    user = staff.create_user(
        session, username=username, display_name=f"{title}{given} {family}", professional_id=prof.id
    )
    return user, username


def _finess(rng: random.Random, dep: str, session: Session) -> str:
    while True:
        body = f"{dep}0{rng.randrange(10**5):05d}"
        value = body + luhn_key(body)
        if org_store.establishment_by_finess(session, value) is None:
            return value
