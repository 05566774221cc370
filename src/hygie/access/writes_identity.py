"""Correcting an identity through the gate (HL7 A08, FHIR ``PUT Patient``, the API).

Kept apart from :mod:`hygie.access.writes` (which it builds on: the same engine decides,
runs the service and records the access in one transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.orm import Session

from hygie.access.actor import Actor
from hygie.access.policy import Category
from hygie.access.writes import Done, Target, _patient, _write
from hygie.db import Database
from hygie.patients import service as patients


def update_identity(
    db: Database,
    actor: Actor,
    *,
    patient_id: int,
    birth_name: str | None = None,
    used_name: str | None = None,
    first_name: str | None = None,
    birth_first_names: Sequence[str] | None = None,
    sex: str | None = None,
    birth_date: date | None = None,
    birth_place_code: str | None = None,
) -> None:
    """Correct names and birth traits (``None``: unchanged; ``first_name`` is the used first
    name). See :func:`hygie.patients.service.update_identity` for the rules; the trail
    records the names of the fields that changed."""

    def perform(session: Session, _t: Target) -> Done:
        changed = patients.update_identity(
            session, patient_id=patient_id, birth_name=birth_name, used_name=used_name,
            first_name=first_name, birth_first_names=birth_first_names, sex=sex,
            birth_date=birth_date, birth_place_code=birth_place_code,
            recorded_by_id=actor.user_id,
        )  # fmt: skip
        return Done(None, {"fields": changed})

    _write(db, actor, action="patient.identity.update", categories=[Category.IDENTITY],
           locate=_patient(patient_id), perform=perform)  # fmt: skip
