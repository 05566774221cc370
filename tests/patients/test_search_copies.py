"""Each file (patient_registrations) carries a copy of its patient's search keys and state,
which searches read instead of the identity (migration 0007): whatever changes the identity
through the services, every file's copy stays equal to it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hygie.db import Database
from hygie.models import Patient, PatientRegistration
from hygie.models.patient import SEARCH_COPIES
from hygie.patients import service as patients
from tests.factories import build_world


def assert_copies_hold(db: Database) -> int:
    """Every file's copies equal its patient's; how many files were checked."""
    with db.transaction() as s:
        files = s.scalars(select(PatientRegistration)).all()
        for file in files:
            patient = s.get(Patient, file.patient_id)
            assert patient is not None
            for name, value in SEARCH_COPIES.items():
                assert getattr(file, name) == value(patient), (file.patient_id, name)
    return len(files)


def test_copies_follow_every_change_of_names_and_state(db: Database) -> None:
    with db.transaction() as s:
        world = build_world(s)
        first = patients.create_patient(
            s, establishment_id=world.est_a, birth_name="Dupont", birth_first_names=["Anne"],
            sex="female", birth_date=date(1980, 5, 1),
        ).patient.id  # fmt: skip
        second = patients.create_patient(
            s, establishment_id=world.est_b, birth_name="Dupond", birth_first_names=["Anne"],
            sex="female", birth_date=date(1980, 5, 1), used_name="Leroy",
        ).patient.id  # fmt: skip
    assert assert_copies_hold(db) == 2
    with db.transaction() as s:
        patients.register_in_establishment(s, patient_id=first, establishment_id=world.est_b)
    assert assert_copies_hold(db) == 3
    with db.transaction() as s:
        patients.update_identity(
            s, patient_id=first, birth_name="Durand", used_name="Petit",
            birth_first_names=["Annie", "Marie"],
        )  # fmt: skip
    assert assert_copies_hold(db) == 3
    with db.transaction() as s:
        file = s.get(PatientRegistration, (first, world.est_b))
        assert file is not None
        assert (file.birth_name_key, file.used_name_key, file.first_name_key) == (
            "DURAND", "PETIT", "ANNIE",
        )  # fmt: skip
    with db.transaction() as s:
        patients.merge_identities(s, survivor_id=first, merged_id=second, reason="même personne")
    assert assert_copies_hold(db) == 3  # the merged identity's file is moved or kept inactive
    with db.transaction() as s:
        merged_files = s.scalars(
            select(PatientRegistration).where(PatientRegistration.patient_id == second)
        ).all()
        assert all(not f.active for f in merged_files)
