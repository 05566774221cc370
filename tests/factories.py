"""A small group built through the services, for tests that need people and places."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from hygie.kit.identifiers import luhn_key, nir_key
from hygie.organisation import service as org
from hygie.staff import service as staff

DAY0 = date(2020, 1, 1)
NOW = datetime.now(UTC)


def rpps(n: int) -> str:
    body = f"1{n:09d}"
    return body + luhn_key(body)


def finess(n: int) -> str:
    body = f"75{n:06d}"
    return body + luhn_key(body)


def nir(
    sex: int = 1, yy: int = 80, mm: int = 5, dep: str = "75", commune: str = "056", order: int = 1
) -> str:
    body = f"{sex}{yy:02d}{mm:02d}{dep}{commune}{order:03d}"
    return f"{body}{nir_key(body):02d}"


@dataclass
class World:
    group_id: int
    est_a: int
    est_b: int
    dept_a: int
    dept_a2: int
    dept_b: int
    physician: int  # professional ids
    physician_user: int
    physician_b: int  # habilitated in establishment B only
    nurse: int
    secretary: int
    gp: int  # outside attending physician, no account


def build_world(session: Session) -> World:
    group = org.create_group(session, name="Groupe Test")
    a = org.create_establishment(
        session,
        group_id=group.id,
        finess=finess(1),
        name="Clinique A",
        address_line="1 rue A",
        postal_code="75001",
        city="Paris",
    )
    b = org.create_establishment(
        session,
        group_id=group.id,
        finess=finess(2),
        name="Clinique B",
        address_line="2 rue B",
        postal_code="92100",
        city="Boulogne-Billancourt",
    )
    dept_a = org.add_department(
        session, establishment_id=a.id, code="MED", name="Médecine", beds=20
    )
    dept_a2 = org.add_department(
        session, establishment_id=a.id, code="CHIR", name="Chirurgie", beds=20
    )
    dept_b = org.add_department(
        session, establishment_id=b.id, code="MED", name="Médecine", beds=10
    )

    def person(
        profession: str, n: int, username: str, role: str | None, est: int | None
    ) -> tuple[int, int | None]:
        prof = staff.create_professional(
            session,
            profession=profession,
            family_name=f"Nom{chr(65 + n)}",
            given_name="Prénom",
            rpps=rpps(n) if profession in ("physician", "nurse", "pharmacist", "midwife") else None,
        )
        if role is None or est is None:
            return prof.id, None
        user = staff.create_user(
            session, username=username, display_name=username, professional_id=prof.id
        )
        staff.grant_habilitation(
            session, user_id=user.id, establishment_id=est, role=role, valid_from=DAY0
        )
        return prof.id, user.id

    physician, physician_user = person("physician", 1, "dr.a", "physician", a.id)
    physician_b, _ = person("physician", 2, "dr.b", "physician", b.id)
    nurse, _ = person("nurse", 3, "ide.a", "nurse", a.id)
    secretary, _ = person("secretary", 4, "sec.a", "secretary", a.id)
    gp, _ = person("physician", 5, "", None, None)
    assert physician_user is not None
    return World(
        group_id=group.id,
        est_a=a.id,
        est_b=b.id,
        dept_a=dept_a.id,
        dept_a2=dept_a2.id,
        dept_b=dept_b.id,
        physician=physician,
        physician_user=physician_user,
        physician_b=physician_b,
        nurse=nurse,
        secretary=secretary,
        gp=gp,
    )
