"""The SQL of the gate's direct reads (``hygie.db_direct``): one patient's identity, contact,
death and files in one statement, mapped to the same objects as ``storage.patients``
gives, so that the gate builds its answer from them exactly as it does from the ORM's; and
a patient search, page and count in one statement, as ``storage.access.find_in`` reads it.

Written out by hand because they run at every FHIR read and search (docs/DECISIONS.md);
they read the columns the ORM models map, and decrypt the NIR as ``EncryptedText`` does.
tests/fhir/test_direct_path.py checks that both ways give the same answers.
"""

from __future__ import annotations

from datetime import UTC
from functools import lru_cache
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
from hygie.storage.access import Criteria
from hygie.storage.common import past_prefix
from hygie.storage.patients import PatientRecord

_IDENTITY_COLUMNS = (
    "id", "nir", "birth_name", "birth_first_names", "first_name", "used_first_name", "used_name",
    "sex", "birth_date", "birth_place_code", "identity_status", "address_line", "postal_code",
    "city", "phone_mobile", "phone_home", "email", "attending_physician_id", "state",
    "merged_into_id",
)  # fmt: skip
_ENUMS = {"sex": Sex, "identity_status": IdentityStatus, "state": PatientState}
_NIR_CONTEXT = context_of(Patient.nir)
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


def _range(column: str, name: str) -> str:
    """``column`` starts with the key in ``%(name_lo)s`` (``common.starts_with``, written
    out; ``find`` passes ``past_prefix`` of it as ``%(name_hi)s``)."""
    return f"{column} >= %({name}_lo)s AND {column} < %({name}_hi)s"


@lru_cache(maxsize=64)
def _find_sql(family: bool, given: bool, any_name: bool, identity: tuple[str, ...]) -> str:
    """The search statement for a shape of criteria (``storage.access.find_in``'s query,
    written out): the matches read from the files of the establishments searched, one
    line per identity, one page of them joined to their identities, and how many match
    (one row with NULLs and the count when the page is empty)."""
    rest = ["r.active", "r.establishment_id = ANY(%(ests)s)"]
    if given:
        rest.append(_range("r.first_name_key", "given"))
    if identity:
        on = " AND ".join(f"p.{column} = %({column})s" for column in identity)
        rest.append(f"r.patient_id IN (SELECT p.id FROM patients p WHERE {on})")  # noqa: S608
    names = ("r.birth_name_key", "r.used_name_key")
    if family:
        branches = [(column, "family") for column in names]
        if any_name:
            ors = " OR ".join(f"({_range(c, 'name')})" for c in (*names, "r.first_name_key"))
            rest.append(f"({ors})")
    elif any_name:
        branches = [(column, "name") for column in (*names, "r.first_name_key")]
    else:
        branches = [("r.birth_name_key", "")]
    matched = " UNION ALL ".join(
        f"SELECT {column} AS k, r.first_name_key AS f, r.patient_id AS id "  # noqa: S608 - fixed fragments only
        f"FROM patient_registrations r WHERE "
        + " AND ".join(([_range(column, key)] if key else []) + rest)
        for column, key in branches
    )
    return (
        f"WITH matched AS ({matched}), "  # noqa: S608 - fixed fragments only
        "found AS (SELECT id, min(k) AS k, min(f) AS f FROM matched GROUP BY id), "
        "page AS (SELECT id, k, f FROM found ORDER BY k, f, id LIMIT %(limit)s OFFSET %(offset)s) "
        "SELECT (SELECT count(*) FROM found), p.id, p.birth_name, p.used_name, p.first_name, "
        "p.sex, p.birth_date, p.identity_status, ARRAY(SELECT f.establishment_id "
        "FROM patient_registrations f WHERE f.patient_id = p.id "
        "AND f.establishment_id = ANY(%(ests)s) ORDER BY 1) "
        "FROM (SELECT 1) one LEFT JOIN (page JOIN patients p ON p.id = page.id) ON true "
        "ORDER BY page.k, page.f, page.id"
    )


async def find(
    conn: psycopg.AsyncConnection[Any],
    *,
    establishment_ids: frozenset[int],
    criteria: Criteria,
    offset: int,
    limit: int,
) -> tuple[int, list[tuple[Any, ...]]]:
    """``storage.access.find_in`` in one statement (criteria without an IPP): how many
    match, and the page's identity summaries as ``(id, birth_name, used_name, first_name,
    sex, birth_date, identity_status, establishment ids among those searched)``."""
    c = criteria
    if c.ipp is not None:
        raise ValueError("a search by IPP goes the ORM way")
    identity = {"birth_date": c.birth_date, "sex": c.sex, "nir_hash": c.nir_hash}
    present = tuple(k for k, v in identity.items() if v is not None)
    params: dict[str, Any] = {
        "ests": sorted(establishment_ids), "limit": limit, "offset": offset,
        **{k: identity[k] for k in present},
    }  # fmt: skip
    for name, key in (("family", c.family_key), ("given", c.given_key), ("name", c.any_name_key)):
        if key:
            params[f"{name}_lo"], params[f"{name}_hi"] = key, past_prefix(key)
    sql = _find_sql(bool(c.family_key), bool(c.given_key), bool(c.any_name_key), present)
    rows = await (await conn.execute(sql, params)).fetchall()
    total = int(rows[0][0]) if rows else 0
    return total, [(*r[1:8], tuple(r[8])) for r in rows if r[1] is not None]
