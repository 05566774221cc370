"""Groups, establishments and departments."""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter as at

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hygie.db import Database
from hygie.errors import ConflictError, HygieError, NotFoundError, ValidationError
from hygie.models import Department, Establishment, Group
from hygie.organisation import service as org
from tests.factories import World, build_world, finess
from tests.refusals import assert_refused, call

Action = Callable[[Session, World], object]


@pytest.fixture
def world(db: Database) -> World:
    with db.transaction() as s:
        return build_world(s)


def test_create_a_group_with_establishments_and_departments(db: Database) -> None:
    with db.transaction() as s:
        group = org.create_group(s, name="  Groupe Santé Ouest ")
        est = org.create_establishment(
            s, group_id=group.id, finess=f" {finess(7)[:3]} {finess(7)[3:]} ", name="Clinique",
            address_line=" 3 rue de la Paix ", postal_code="44000", city="Nantes",
        )  # fmt: skip
        dept = org.add_department(s, establishment_id=est.id, code=" card ", name="Cardio", beds=12)
    with db.transaction() as s:
        assert s.get(Group, group.id).name == "Groupe Santé Ouest"  # type: ignore[union-attr]
        stored = s.get(Establishment, est.id)
        assert stored is not None
        assert (stored.finess, stored.address_line, stored.group_id) == (
            finess(7), "3 rue de la Paix", group.id,
        )  # fmt: skip
        row = s.get(Department, dept.id)
        assert row is not None and (row.code, row.beds) == ("CARD", 12)


def test_department_codes_are_unique_per_establishment_only(db: Database, world: World) -> None:
    with db.transaction() as s:
        org.add_department(s, establishment_id=world.est_b, code="CHIR", name="Chirurgie")
        org.add_department(s, establishment_id=world.est_b, code="PED", name="Pédiatrie", beds=0)
    with db.transaction() as s:
        codes = s.scalars(
            select(Department.code).where(Department.establishment_id == world.est_b)
        ).all()
        assert sorted(codes) == ["CHIR", "MED", "PED"]


group = call(org.create_group, name="Groupe Nord")
est = call(
    org.create_establishment, group_id=at("group_id"), finess=finess(9), name="Clinique C",
    address_line="1 rue C", postal_code="69001", city="Lyon",
)  # fmt: skip
dept = call(org.add_department, establishment_id=at("est_a"), code="URG", name="Urgences")


# fmt: off
BAD_INPUTS = [
    pytest.param(group(name=" "), ValidationError, "name", "required",
                 id="group-name-empty"),
    pytest.param(group(name="x" * 201), ValidationError, "name",
                 "longer than 200", id="group-name-too-long"),
    pytest.param(group(name=" Groupe Test "), ConflictError, "name",
                 "already exists", id="group-name-taken"),
    pytest.param(est(group_id=999), NotFoundError, "group_id", "group #999 does not exist",
                 id="establishment-unknown-group"),
    pytest.param(est(finess="1234"), ValidationError, "finess", "9 characters",
                 id="establishment-finess-format"),
    pytest.param(est(finess=finess(9)[:-1] + str((int(finess(9)[-1]) + 1) % 10)),
                 ValidationError, "finess", "Luhn", id="establishment-finess-key"),
    pytest.param(est(finess=finess(1)), ConflictError, "finess", "already exists",
                 id="establishment-finess-taken"),
    pytest.param(est(name=""), ValidationError, "name", "required", id="establishment-no-name"),
    pytest.param(est(address_line="\x00"), ValidationError, "address_line", "control",
                 id="establishment-address-control-char"),
    pytest.param(est(postal_code="7500"), ValidationError, "postal_code", "postal code",
                 id="establishment-postal-code"),
    pytest.param(est(city=" "), ValidationError, "city", "required", id="establishment-no-city"),
    pytest.param(dept(establishment_id=999), NotFoundError, "establishment_id",
                 "establishment #999 does not exist",
                 id="department-unknown-establishment"),
    pytest.param(dept(code="  "), ValidationError, "code", "required", id="department-no-code"),
    pytest.param(dept(code="x" * 21), ValidationError, "code", "longer than 20",
                 id="department-code-too-long"),
    pytest.param(dept(code=" med "), ConflictError, "code", "MED already exists",
                 id="department-code-taken-any-case"),
    pytest.param(dept(beds=-1), ValidationError, "beds", "between 0 and 2000",
                 id="department-negative-beds"),
    pytest.param(dept(beds=2001), ValidationError, "beds", "between 0 and 2000",
                 id="department-too-many-beds"),
    pytest.param(dept(name=""), ValidationError, "name", "required", id="department-no-name"),
]
# fmt: on


@pytest.mark.parametrize(("action", "error", "field", "match"), BAD_INPUTS)
def test_bad_input_is_refused_and_changes_nothing(
    db: Database, world: World, action: Callable[[Session, World], object],
    error: type[HygieError], field: str | None, match: str,
) -> None:  # fmt: skip
    assert_refused(db, lambda s: action(s, world), error, field, match)
