"""Group-wide consequences of a write decided on the actor's own scope, as the application
role under row-level security: a death declared in one clinic closes the patient's record
in every clinic of the group (PostgreSQL only; SQLite has no such wall)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hygie.access import writes
from hygie.db import Database
from hygie.models import Appointment, AppointmentStatus
from tests.access.test_row_level_security import Group, actor, app_db, app_role, group

pytestmark = pytest.mark.postgres
__all__ = ["app_db", "app_role", "group"]  # fixtures, used by name


def test_a_death_declared_in_one_clinic_cancels_appointments_in_every_clinic(
    group: Group, app_db: Database, pg_db: Database
) -> None:
    doctor = actor(app_db, "dr.a")  # establishment A only
    writes.declare_death(
        app_db, doctor, patient_id=group.chloe, place="Domicile",
        died_at=datetime.now(UTC) - timedelta(hours=1),
    )  # fmt: skip
    with pg_db.sessions() as s:  # read back as the superuser: every establishment
        statuses = {
            a.establishment_id: a.status
            for a in s.scalars(select(Appointment).where(Appointment.patient_id == group.chloe))
        }
    assert statuses == {
        group.world.est_a: AppointmentStatus.CANCELLED,
        group.world.est_b: AppointmentStatus.CANCELLED,
    }
