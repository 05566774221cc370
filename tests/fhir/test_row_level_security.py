"""FHIR served by an application connected as the application role (PostgreSQL, bound by
row-level security): every resource still answers, the trail is written, and a patient of
another establishment stays out of reach, even found by name."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hygie.app import create_app
from hygie.auth import tokens
from hygie.db import Database, check_and_register_keys
from hygie.kit.crypto import Keyring
from hygie.models import AuditEvent
from hygie.patients import service as patients
from hygie.storage import staff as staff_store
from tests.access.test_row_level_security import app_db, app_role  # noqa: F401 (fixtures)
from tests.api.conftest import add_account, add_patient
from tests.factories import build_world

pytestmark = pytest.mark.postgres


def bearer(db: Database, username: str, scope: str) -> str:
    with db.transaction() as session:
        user = staff_store.user_by_username(session, username)
        assert user is not None
        return tokens.issue_token(
            session, user=user, scope=scope, ttl=timedelta(hours=1), now=datetime.now(UTC),
            how="cli",
        ).secret  # fmt: skip


def test_every_resource_under_row_level_security(
    pg_db: Database,
    app_db: Database,  # noqa: F811
    keyring: Keyring,
) -> None:
    with pg_db.transaction() as session:
        world = build_world(session)
    add_account(pg_db, "rssi.a", "security_officer", world.est_a)
    patient = add_patient(pg_db, world)
    with pg_db.transaction() as s:
        elsewhere = patients.create_patient(
            s, establishment_id=world.est_b, birth_name="Martinez", birth_first_names=["Léo"],
            sex="male", birth_date=date(1990, 1, 1),
        ).patient.id  # fmt: skip
    check_and_register_keys(app_db, keyring)
    app = create_app(db=app_db)

    def client(username: str, scope: str = "read") -> TestClient:
        return TestClient(app, base_url="https://testserver", headers={
            "Authorization": f"Bearer {bearer(pg_db, username, scope)}",
            "Content-Type": "application/fhir+json"})  # fmt: skip

    doctor = client("dr.a", "write")
    reads: list[tuple[str, dict[str, Any]]] = [
        (f"Patient/{patient}", {}), ("Patient", {"family": "mart"}),
        (f"Patient/{patient}/$everything", {}), ("Appointment", {"patient": str(patient)}),
        ("Encounter", {"patient": str(patient)}), ("AllergyIntolerance", {"patient": str(patient)}),
        ("Condition", {"patient": str(patient)}), ("MedicationRequest", {"patient": str(patient)}),
        (f"Practitioner/{world.physician}", {}), (f"Organization/{world.est_a}", {}),
    ]  # fmt: skip
    for path, params in reads:
        answer = doctor.get(f"/fhir/{path}", params=params)
        assert answer.status_code == 200, (path, answer.text)
    found = doctor.get("/fhir/Patient", params={"family": "mart"}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [str(patient)]  # not Martinez of B
    assert doctor.get(f"/fhir/Patient/{elsewhere}").status_code == 404
    condition = {
        "resourceType": "Condition", "subject": {"reference": f"Patient/{patient}"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J45.9"}]},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
    }  # fmt: skip
    created = doctor.post("/fhir/Condition", json=condition)
    assert created.status_code == 201, created.text
    trail = client("rssi.a").get("/fhir/AuditEvent", params={"patient": str(patient)})
    assert trail.status_code == 200 and trail.json()["total"] > 0
    with pg_db.sessions() as s:
        actions = set(s.scalars(select(AuditEvent.action).where(AuditEvent.how == "api")))
    assert {"fhir.patient.read", "fhir.patient.search"} <= actions
