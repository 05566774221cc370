from datetime import date

from hygie.db import Database
from hygie.patients import service as patients
from tests.factories import build_world, nir


def test_create_patient_roundtrip(db: Database) -> None:
    with db.transaction() as s:
        w = build_world(s)
        created = patients.create_patient(
            s,
            establishment_id=w.est_a,
            birth_name="Dupont",
            birth_first_names=["Jean", "Marie"],
            sex="male",
            birth_date=date(1980, 5, 3),
            nir=nir(),
            identity_status="qualified",
            birth_place_code="75056",
        )
    with db.transaction() as s:
        from hygie.models import Patient

        p = s.get(Patient, created.patient.id)
        assert p is not None and p.nir == nir()
