"""The feed under PostgreSQL row-level security: connected as the application role (bound
by it), every event still works, and an identity of another establishment stays out of
reach."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from hygie.access.feed import feed_account
from hygie.db import Database
from hygie.hl7.feed import handle
from hygie.models import AccountKind, Encounter, Patient
from hygie.patients import service as patients
from hygie.staff import service as staff
from tests.access.test_row_level_security import app_db, app_role  # noqa: F401 (fixtures)
from tests.factories import DAY0, build_world, nir
from tests.hl7.conftest import adt, pid, pv1, when

pytestmark = pytest.mark.postgres
HOUR = timedelta(hours=1)


def test_every_event_under_row_level_security(pg_db: Database, app_db: Database) -> None:  # noqa: F811
    with pg_db.transaction() as s:
        w = build_world(s)
        feed = staff.create_user(s, username="feed.gam", display_name="GAM",
                                 kind=AccountKind.SYSTEM)  # fmt: skip
        staff.grant_habilitation(s, user_id=feed.id, establishment_id=w.est_a, role="interface",
                                 valid_from=DAY0)  # fmt: skip
        elsewhere = patients.create_patient(
            s, establishment_id=w.est_b, birth_name="Leblanc", birth_first_names=["Paul"],
            sex="male", birth_date=date(1970, 1, 1), nir=nir(sex=1, yy=70, mm=1),
        ).patient.id  # fmt: skip
    account = feed_account(app_db, username="feed.gam")

    def send(message: str) -> str:
        outcome = handle(app_db, account, message)
        return f"{outcome.code} {outcome.text}"

    first = send(adt("A04", "R-1", pid(ins=nir(sex=2), names="MARTIN^Alice^^^^^L"),
                     pv1(klass="O", unit="")))  # fmt: skip
    assert first.startswith("AA"), first
    dup = send(adt("A04", "R-2", pid(names="MARTINN^Alice^^^^^L"), pv1(klass="O", unit="")))
    assert dup.startswith("AA"), dup
    with pg_db.sessions() as s:
        ids = dict(s.execute(select(Patient.birth_name, Patient.id)).all())
    survivor, merged = f"{ids['MARTIN']:010d}", f"{ids['MARTINN']:010d}"
    steps = [
        adt("A01", "R-3", pid(ipp=merged, names="MARTINN^Alice^^^^^L"), pv1(admit=when(-2 * HOUR))),
        adt("A03", "R-4", pid(ipp=merged, names="MARTINN^Alice^^^^^L"), pv1(discharge=when(-HOUR))),
        adt("A08", "R-5", pid(ipp=survivor, names="MARTIN^Alice^^^^^L~BLEU^^^^^^D"), "PV1|1|N"),
        adt("A40", "R-6", pid(ipp=survivor), f"MRG|{merged}^^^^PI"),
    ]
    for message in steps:
        done = send(message)
        assert done.startswith("AA"), done
    with pg_db.sessions() as s:
        assert s.scalars(select(Encounter.patient_id)).one() == ids["MARTIN"]
    # The identity of establishment B is not found by its IPP, nor taken over by its INS.
    hidden = send(adt("A08", "R-7", pid(ipp=f"{elsewhere:010d}"), "PV1|1|N"))
    assert hidden.startswith("AE") and "no patient with IPP" in hidden
    taken = send(adt("A04", "R-8", pid(ins=nir(sex=1, yy=70, mm=1), names="LEBLANC^Paul^^^^^L",
                                       sex="M", birth="19700101"), pv1(klass="O", unit="")))  # fmt: skip
    # Under row-level security the other identity is invisible: the unique INS refuses it.
    assert taken.startswith("AE") and "conflict" in taken, taken
    with pg_db.sessions() as s:
        assert s.scalar(select(Patient.id).where(Patient.birth_name == "Leblanc")) == elsewhere
