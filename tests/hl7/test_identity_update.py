"""Correcting an identity (the domain A08 and FHIR ``PUT Patient`` rely on): everything is
checked before anything changes, the history keeps the former values, the gate records it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from hygie.access.actor import Actor, load_actor
from hygie.access.gateway import AccessDenied
from hygie.access.writes_identity import update_identity
from hygie.db import Database
from hygie.errors import ConflictError, ValidationError
from hygie.models import AuditEvent, IdentityEvent, Patient
from hygie.patients import service as patients
from tests.factories import World, build_world, nir


@pytest.fixture
def world(db: Database) -> World:
    with db.transaction() as s:
        return build_world(s)


def _actor(db: Database, username: str) -> Actor:
    with db.sessions() as s:
        return load_actor(s, username=username, how="api")


def _new(db: Database, world: World, *, status: str = "provisional", with_nir: bool = True) -> int:
    with db.transaction() as s:
        return patients.create_patient(
            s, establishment_id=world.est_a, birth_name="Martin", birth_first_names=["Alice"],
            sex="female", birth_date=date(1980, 5, 3), nir=nir(sex=2) if with_nir else None,
            birth_place_code="75056", identity_status=status,
        ).patient.id  # fmt: skip


def _patient(db: Database, pid: int) -> Patient:
    with db.sessions() as s:
        p = s.get(Patient, pid)
        assert p is not None
        s.expunge(p)
        return p


def test_names_change_with_history_and_trail(db: Database, world: World) -> None:
    pid = _new(db, world)
    update_identity(
        db, _actor(db, "sec.a"), patient_id=pid, birth_name="Martín-Durand",
        birth_first_names=["Alicia", "Marie"], used_name="Dupont", first_name="Lili",
    )  # fmt: skip
    p = _patient(db, pid)
    assert (p.birth_name, p.birth_first_names, p.first_name) == (
        "Martín-Durand",
        "Alicia Marie",
        "Alicia",
    )
    assert (p.used_name, p.used_first_name) == ("Dupont", "Lili")
    assert (p.birth_name_key, p.first_name_key) == ("MARTIN DURAND", "ALICIA")
    assert p.used_name_key == "DUPONT"
    with db.sessions() as s:
        ev = s.scalars(
            select(IdentityEvent).where(
                IdentityEvent.patient_id == pid, IdentityEvent.kind == "identity_changed"
            )
        ).one()
        assert set(ev.details["fields"]) == {
            "birth_name", "birth_first_names", "used_name", "used_first_name"
        }  # fmt: skip
        assert ev.details["previous"]["birth_name"] == "Martin"
        audit = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "patient.identity.update")
        ).one()
        assert audit.outcome == "allowed" and audit.username == "sec.a"


def test_nothing_changes_when_one_field_is_wrong(db: Database, world: World) -> None:
    pid = _new(db, world)
    before = _patient(db, pid)
    with pytest.raises(ValidationError) as exc:
        # The NIR says female, born 1980: a new sex contradicts it; the name is not kept.
        update_identity(db, _actor(db, "sec.a"), patient_id=pid, birth_name="Autre", sex="male")
    assert exc.value.field == "nir"
    after = _patient(db, pid)
    assert (after.birth_name, after.sex) == (before.birth_name, before.sex)
    with db.sessions() as s:
        assert s.scalar(
            select(func.count()).select_from(IdentityEvent).where(
                IdentityEvent.kind == "identity_changed")
        ) == 0  # fmt: skip
        failed = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "patient.identity.update")
        ).one()
        assert failed.outcome == "failed"


def test_qualified_traits_are_refused_validated_go_back_to_provisional(
    db: Database, world: World
) -> None:
    qualified = _new(db, world, status="qualified")
    with pytest.raises(ConflictError):
        update_identity(db, _actor(db, "sec.a"), patient_id=qualified, birth_name="Autre")
    # A used name is not a birth trait: it may change.
    update_identity(db, _actor(db, "sec.a"), patient_id=qualified, used_name="Dupont")
    assert _patient(db, qualified).identity_status.value == "qualified"

    validated = _new(db, world, status="validated", with_nir=False)
    update_identity(db, _actor(db, "sec.a"), patient_id=validated, birth_date=date(1981, 5, 3))
    p = _patient(db, validated)
    assert p.birth_date == date(1981, 5, 3) and p.identity_status.value == "provisional"


def test_roles_without_identity_write_are_refused(db: Database, world: World) -> None:
    pid = _new(db, world)
    with pytest.raises(AccessDenied):
        update_identity(db, _actor(db, "ide.a"), patient_id=pid, used_name="Dupont")
    assert _patient(db, pid).used_name is None
