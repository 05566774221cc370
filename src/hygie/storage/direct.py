"""The SQL of the gate's direct reads (``hygie.db_direct``): one patient's identity, contact,
death and files in one statement, mapped to the same objects as ``storage.patients``
gives, so that the gate builds its answer from them exactly as it does from the ORM's.

Written out by hand because it runs at every FHIR read (docs/DECISIONS.md); it reads the
columns the ORM models map, and decrypts the NIR as ``EncryptedText`` does.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import psycopg

from hygie.kit.crypto import current_keyring
from hygie.models import (
    DeathDeclaration,
    IdentityStatus,
    Patient,
    PatientRegistration,
    PatientState,
    Sex,
)
from hygie.models.types import context_of
from hygie.storage.patients import PatientRecord

_IDENTITY_COLUMNS = (
    "id", "nir", "birth_name", "birth_first_names", "first_name", "used_first_name", "used_name",
    "sex", "birth_date", "birth_place_code", "identity_status", "address_line", "postal_code",
    "city", "phone_mobile", "phone_home", "email", "attending_physician_id", "state",
    "merged_into_id",
)  # fmt: skip
_ENUMS = {"sex": Sex, "identity_status": IdentityStatus, "state": PatientState}
# One row per file the transaction's scope shows (one with NULLs if none), in
# establishment order as ``storage.patients.registrations`` gives them.
IDENTITY = (
    "SELECT "  # noqa: S608 - fixed column names only
    + ", ".join(f"p.{c}" for c in _IDENTITY_COLUMNS)
    + ", d.died_at, r.establishment_id, r.ipp FROM patients p "
    "LEFT JOIN death_declarations d ON d.patient_id = p.id "
    "LEFT JOIN patient_registrations r ON r.patient_id = p.id "
    "WHERE p.id = %(id)s ORDER BY r.establishment_id"
)


async def identity_record(
    conn: psycopg.AsyncConnection[Any], patient_id: int
) -> PatientRecord | None:
    """The identity part of the patient's record (with contact, death and files), as
    ``load_record(parts={"identity", "contact"})`` gives it; None if the transaction's
    scope does not show the patient."""
    rows = await (await conn.execute(IDENTITY, {"id": patient_id})).fetchall()
    if not rows:
        return None
    n = len(_IDENTITY_COLUMNS)
    values = dict(zip(_IDENTITY_COLUMNS, rows[0][:n], strict=True))
    for name, enum in _ENUMS.items():
        values[name] = enum(values[name])
    if values["nir"] is not None:
        values["nir"] = current_keyring().decrypt(str(values["nir"]), _NIR_CONTEXT)
    died_at = rows[0][n]
    files = [
        PatientRegistration(patient_id=patient_id, establishment_id=r[n + 1], ipp=r[n + 2])
        for r in rows
        if r[n + 1] is not None
    ]
    return PatientRecord(
        patient=Patient(**values), registrations=files, amo=(), amc=(),
        death=None if died_at is None else DeathDeclaration(
            patient_id=patient_id, died_at=died_at.astimezone(UTC)),
        allergies=(), conditions=(), notes=(), prescriptions=(), appointments=(), encounters=(),
    )  # fmt: skip


_NIR_CONTEXT = context_of(Patient.nir)
