"""Shared fixtures of the gate's tests: a small group with an IT administrator, and a
patient with an allergy, a note and an appointment with Dr A."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hygie.clinical import service as clinical
from hygie.db import Database
from hygie.patients import service as patients
from hygie.scheduling import service as scheduling
from hygie.staff import service as staff
from tests.factories import DAY0, World, build_world, nir


@pytest.fixture
def world(db: Database) -> World:
    with db.transaction() as s:
        w = build_world(s)
        admin = staff.create_user(s, username="it.admin", display_name="IT")
        staff.grant_habilitation(
            s, user_id=admin.id, establishment_id=w.est_a, role="it_admin", valid_from=DAY0
        )
    return w


@pytest.fixture
def patient(db: Database, world: World) -> int:
    with db.transaction() as s:
        p = patients.create_patient(
            s, establishment_id=world.est_a, birth_name="Martin", birth_first_names=["Alice"],
            sex="female", birth_date=date(1980, 5, 3), nir=nir(sex=2), birth_place_code="75056",
            identity_status="qualified",
        ).patient  # fmt: skip
        clinical.record_allergy(
            s, patient_id=p.id, establishment_id=world.est_a, substance="Pénicillines",
            reaction="urticaire", severity="severe", recorded_by_id=world.physician,
        )  # fmt: skip
        clinical.write_note(
            s, patient_id=p.id, establishment_id=world.est_a, author_id=world.physician,
            kind="consultation", text="Suivi : tout va bien.",
        )  # fmt: skip
        scheduling.book_appointment(
            s, patient_id=p.id, practitioner_id=world.physician, establishment_id=world.est_a,
            start_at=datetime.now(UTC) + timedelta(days=2), duration_min=20, reason="Suivi",
        )  # fmt: skip
        return p.id
