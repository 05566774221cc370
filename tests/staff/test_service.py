"""Professionals, accounts and habilitations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from operator import attrgetter as at

import pytest
from sqlalchemy.orm import Session

from hygie.db import Database
from hygie.errors import ConflictError, HygieError, NotFoundError, ValidationError
from hygie.models import AccountKind, Habilitation, Profession, Professional, Role, User
from hygie.staff import service as staff
from hygie.storage import staff as staff_store
from tests.factories import DAY0, World, build_world, rpps
from tests.refusals import assert_refused, call

Action = Callable[[Session, World], object]


@pytest.fixture
def world(db: Database) -> World:
    with db.transaction() as s:
        return build_world(s)


def test_professionals_with_and_without_rpps(db: Database) -> None:
    with db.transaction() as s:
        doctor = staff.create_professional(
            s,
            profession="physician",
            family_name=" Martin ",
            given_name="Anne-Sophie",
            rpps=f"{rpps(77)[:5]} {rpps(77)[5:]}",
            specialty=" Cardiologie ",
        )
        clerk = staff.create_professional(
            s, profession="secretary", family_name="Durand", given_name="Luc", rpps=""
        )
    with db.transaction() as s:
        stored = s.get(Professional, doctor.id)
        assert stored is not None
        assert (stored.profession, stored.rpps, stored.family_name, stored.specialty) == (
            Profession.PHYSICIAN,
            rpps(77),
            "Martin",
            "Cardiologie",
        )
        assert stored.display_name == "Dr Anne-Sophie Martin"
        other = s.get(Professional, clerk.id)
        assert other is not None and other.rpps is None and other.display_name == "Luc Durand"


def test_account_and_habilitations(db: Database, world: World) -> None:
    with db.transaction() as s:
        nurse = staff.create_professional(
            s, profession="nurse", family_name="Trois", given_name="Ide", rpps=rpps(61)
        )
        user = staff.create_user(
            s, username="  IDE.Three ", display_name=" Infirmière ", professional_id=nurse.id
        )
        first = staff.grant_habilitation(
            s,
            user_id=user.id,
            establishment_id=world.est_a,
            role="nurse",
            valid_from=date(2024, 1, 1),
            valid_until=date(2024, 6, 30),
        )
        # Adjacent period, other role, other establishment: no overlap in the rule's sense.
        staff.grant_habilitation(
            s, user_id=user.id, establishment_id=world.est_a, role="nurse",
            valid_from=date(2024, 7, 1),
        )  # fmt: skip
        staff.grant_habilitation(
            s, user_id=user.id, establishment_id=world.est_a, role="secretary",
            valid_from=date(2024, 3, 1),
        )  # fmt: skip
        staff.grant_habilitation(
            s, user_id=user.id, establishment_id=world.est_b, role="nurse",
            valid_from=date(2024, 3, 1),
        )  # fmt: skip
    with db.transaction() as s:
        stored = s.get(User, user.id)
        assert stored is not None
        assert (stored.username, stored.display_name, stored.kind, stored.active) == (
            "ide.three",
            "Infirmière",
            AccountKind.HUMAN,
            True,
        )
        habilitations = staff_store.habilitations_of(s, user.id)
        assert [(h.establishment_id, h.role) for h in habilitations] == [
            (world.est_a, Role.NURSE),
            (world.est_a, Role.NURSE),
            (world.est_a, Role.SECRETARY),
            (world.est_b, Role.NURSE),
        ]
        hab = s.get(Habilitation, first.id)
        assert hab is not None
        assert hab.valid_on(date(2024, 6, 30)) and not hab.valid_on(date(2024, 7, 1))
        nurse_in_a = dict(
            professional_id=nurse.id, establishment_id=world.est_a, roles={Role.NURSE}
        )
        assert staff_store.has_valid_habilitation(s, **nurse_in_a, on=date(2025, 1, 1))
        assert not staff_store.has_valid_habilitation(s, **nurse_in_a, on=date(2023, 12, 31))


def test_system_account_without_professional(db: Database) -> None:
    with db.transaction() as s:
        user = staff.create_user(
            s, username="feed.lab", display_name="Laboratoire", kind=AccountKind.SYSTEM
        )
    with db.transaction() as s:
        stored = s.get(User, user.id)
        assert stored is not None and stored.kind == AccountKind.SYSTEM
        assert stored.professional_id is None


prof = call(
    staff.create_professional, profession="nurse", family_name="Petit", given_name="Léa",
    rpps=rpps(50),
)  # fmt: skip
user = call(staff.create_user, username="dr.gp", display_name="Dr GP", professional_id=at("gp"))
grant = call(
    staff.grant_habilitation, user_id=at("physician_user"), establishment_id=at("est_b"),
    role="physician", valid_from=DAY0,
)  # fmt: skip


# fmt: off
BAD_INPUTS = [
    pytest.param(prof(profession="doctor"), ValidationError, "profession", "unknown profession",
                 id="unknown-profession"),
    pytest.param(prof(rpps=None), ValidationError, "rpps", "required for a nurse",
                 id="nurse-without-rpps"),
    pytest.param(prof(profession="midwife", rpps="  "), ValidationError, "rpps", "11 digits",
                 id="midwife-blank-rpps"),
    pytest.param(prof(rpps="1234"), ValidationError, "rpps", "11 digits", id="rpps-format"),
    pytest.param(prof(rpps=rpps(50)[:-1] + str((int(rpps(50)[-1]) + 1) % 10)), ValidationError,
                 "rpps", "Luhn", id="rpps-key"),
    pytest.param(prof(rpps=rpps(1)), ConflictError, "rpps", "already registered",
                 id="rpps-taken"),
    pytest.param(prof(profession="secretary", rpps=rpps(50)), ValidationError, "rpps",
                 "has no RPPS", id="secretary-with-rpps"),
    pytest.param(prof(family_name="Petit2"), ValidationError, "family_name", "only letters",
                 id="family-name-digit"),
    pytest.param(prof(given_name=" "), ValidationError, "given_name", "required",
                 id="given-name-empty"),
    pytest.param(prof(specialty="x" * 101), ValidationError, "specialty", "longer than 100",
                 id="specialty-too-long"),
    pytest.param(user(username="ab"), ValidationError, "username", "3 to 64",
                 id="username-too-short"),
    pytest.param(user(username="1abc"), ValidationError, "username", "starting with a letter",
                 id="username-digit-first"),
    pytest.param(user(username="jean dupont"), ValidationError, "username", "3 to 64",
                 id="username-space"),
    pytest.param(user(username="a" * 65), ValidationError, "username", "3 to 64",
                 id="username-too-long"),
    pytest.param(user(username=" DR.A "), ConflictError, "username", "dr.a is taken",
                 id="username-taken-any-case"),
    pytest.param(user(professional_id=999), NotFoundError, "professional_id",
                 "professional #999 does not exist",
                 id="user-unknown-professional"),
    pytest.param(user(professional_id=at("physician")), ConflictError, "professional_id",
                 "already has an account", id="professional-has-an-account"),
    pytest.param(user(display_name=""), ValidationError, "display_name", "required",
                 id="display-name-empty"),
    pytest.param(grant(role="surgeon"), ValidationError, "role", "unknown role",
                 id="unknown-role"),
    pytest.param(grant(user_id=999), NotFoundError, "user_id", "account #999 does not exist",
                 id="unknown-user"),
    pytest.param(grant(establishment_id=999), NotFoundError, "establishment_id",
                 "establishment #999 does not exist",
                 id="habilitation-unknown-establishment"),
    pytest.param(grant(valid_from=date(2024, 2, 1), valid_until=date(2024, 1, 31)),
                 ValidationError, "valid_until", "ends before it starts", id="period-reversed"),
    pytest.param(grant(establishment_id=at("est_a"), valid_from=date(2030, 1, 1),
                       valid_until=date(2030, 12, 31)),
                 ConflictError, "role", "overlapping habilitation", id="overlaps-open-ended"),
    pytest.param(grant(establishment_id=at("est_a"), valid_from=date(2000, 1, 1),
                       valid_until=DAY0),
                 ConflictError, "role", "overlapping habilitation", id="overlaps-on-first-day"),
]
# fmt: on


@pytest.mark.parametrize(("action", "error", "field", "match"), BAD_INPUTS)
def test_bad_input_is_refused_and_changes_nothing(
    db: Database,
    world: World,
    action: Action,
    error: type[HygieError],
    field: str | None,
    match: str,
) -> None:
    assert_refused(db, lambda s: action(s, world), error, field, match)
