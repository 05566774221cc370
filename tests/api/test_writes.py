"""Writes through HTTP: each goes through the gate, which decides with the caller's roles in
the establishment concerned, writes and records in one transaction; refusals and bad input
change nothing but their trace."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hygie.models import Allergy, AuditEvent, ClinicalNote, Patient, Prescription
from tests.api.conftest import Site


def _csrf(client: TestClient, signed: dict[str, Any]) -> dict[str, str]:
    return {"X-CSRF-Token": signed["csrf_token"]}


def _count(site: Site, model: type[Any]) -> int:
    with site.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _post(site: Site, who: str, path: str, body: dict[str, Any]) -> Any:
    client, signed = site.sign_in(who)
    return client.post(path, json=body, headers=_csrf(client, signed))


NEW_PATIENT = {
    "birth_name": "Durand", "birth_first_names": ["Paul", "Louis"], "sex": "male",
    "birth_date": "1975-04-12",
}  # fmt: skip


def test_a_secretary_creates_a_patient_and_is_warned_of_a_duplicate(site: Site) -> None:
    client, signed = site.sign_in("sec.a")
    body = {**NEW_PATIENT, "establishment_id": site.world.est_a,
            "contact": {"city": "Paris", "phone_mobile": "06 12 34 56 78"}}  # fmt: skip
    first = client.post("/api/patients", json=body, headers=_csrf(client, signed))
    assert first.status_code == 201, first.text
    assert first.json()["possible_duplicates"] == []
    again = client.post("/api/patients", json=body, headers=_csrf(client, signed))
    assert again.status_code == 201
    assert again.json()["possible_duplicates"] == [first.json()["id"]]
    found = client.get("/api/patients", params={"name": "Durand"}).json()
    assert found["count"] == 2
    last = site.events_since(0)[-2:]
    assert [e.action for e in last] == ["patient.create", "patient.search"]
    assert last[0].patient_ids == [again.json()["id"]]
    assert set(last[0].categories) == {"identity", "contact"}


def test_booking_moving_and_cancelling(site: Site) -> None:
    client, signed = site.sign_in("sec.a")
    start = site.clock.now.replace(minute=0, second=0) + timedelta(days=5)
    booked = client.post(
        f"/api/patients/{site.patient}/appointments", headers=_csrf(client, signed),
        json={"establishment_id": site.world.est_a, "practitioner_id": site.world.physician,
              "start_at": start.isoformat(), "duration_min": 30, "reason": "Contrôle"},
    )  # fmt: skip
    assert booked.status_code == 201, booked.text
    appointment = booked.json()["id"]
    moved = client.post(
        f"/api/appointments/{appointment}/move", headers=_csrf(client, signed),
        json={"start_at": (start + timedelta(hours=2)).isoformat()},
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    cancelled = client.post(
        f"/api/appointments/{appointment}/cancel", headers=_csrf(client, signed),
        json={"reason": "Empêchement du patient"},
    )  # fmt: skip
    assert cancelled.status_code == 200, cancelled.text
    actions = [e.action for e in site.events_since(0)[-3:]]
    assert actions == ["appointment.book", "appointment.move", "appointment.cancel"]


def test_a_physician_is_stopped_by_the_allergy_then_overrides_it(site: Site) -> None:
    client, signed = site.sign_in("dr.a")
    path = f"/api/patients/{site.patient}/prescriptions"
    order = {"establishment_id": site.world.est_a, "drug_code": "D0031", "dose": "1 g",
             "frequency": "3 fois par jour", "duration_days": 7}  # fmt: skip
    refused = client.post(path, json=order, headers=_csrf(client, signed))
    assert refused.status_code == 409, refused.text
    assert "allerg" in refused.json()["error"].lower()
    assert _count(site, Prescription) == 0
    assert site.events_since(0)[-1].outcome == "failed"
    override = {**order, "allergy_override_reason": "Test de provocation encadré"}
    done = client.post(path, json=override, headers=_csrf(client, signed))
    assert done.status_code == 201, done.text
    event = site.events_since(0)[-1]
    assert (event.action, event.outcome, event.purpose) == (
        "prescription.write",
        "allowed",
        "appointment",
    )
    assert event.details["allergy_override"] is True


def test_a_nurse_may_not_prescribe(site: Site) -> None:
    before = _count(site, Prescription)
    answer = _post(site, "ide.a", f"/api/patients/{site.patient}/prescriptions",
                   {"establishment_id": site.world.est_a, "drug_code": "D0001", "dose": "1 g",
                    "frequency": "toutes les 6 h", "duration_days": 3})  # fmt: skip
    assert answer.status_code == 403
    assert "may not write prescriptions" in answer.json()["error"]
    assert _count(site, Prescription) == before
    event = site.events_since(0)[-1]
    assert (event.action, event.outcome) == ("prescription.write", "denied")


def test_a_nurse_without_care_relationship_writes_a_note_after_break_the_glass(
    site: Site,
) -> None:
    client, signed = site.sign_in("ide.a")
    note = {"establishment_id": site.world.est_a, "kind": "nursing",
            "text": "Patient vu aux urgences, constantes stables."}  # fmt: skip
    path = f"/api/patients/{site.patient}/notes"
    refused = client.post(path, json=note, headers=_csrf(client, signed))
    assert refused.status_code == 403
    assert refused.json()["break_glass_possible"] is True
    glass = client.post(
        f"/api/patients/{site.patient}/break-glass", headers=_csrf(client, signed),
        json={"reason_code": "emergency", "reason_text": "Malaise en salle d'attente"},
    )  # fmt: skip
    assert glass.status_code == 201
    written = client.post(path, json=note, headers=_csrf(client, signed))
    assert written.status_code == 201, written.text
    assert site.events_since(0)[-1].purpose == "break_the_glass"


def test_a_physician_of_another_establishment_does_not_find_the_patient(site: Site) -> None:
    before = _count(site, Allergy)
    answer = _post(site, "dr.b", f"/api/patients/{site.patient}/allergies",
                   {"establishment_id": site.world.est_b, "substance": "Latex",
                    "reaction": "eczéma", "severity": "moderate"})  # fmt: skip
    assert answer.status_code == 404
    assert _count(site, Allergy) == before
    assert site.events_since(0)[-1].outcome == "denied"


def test_the_it_administrator_manages_accounts_and_no_patient(site: Site) -> None:
    client, signed = site.sign_in("it.admin")
    refused = client.post("/api/patients", headers=_csrf(client, signed),
                          json={**NEW_PATIENT, "establishment_id": site.world.est_a})  # fmt: skip
    assert refused.status_code == 403
    created = client.post(
        "/api/accounts", headers=_csrf(client, signed),
        json={"username": "sec.new", "role": "secretary", "establishments": ["750000010"],
              "family_name": "Nouvelle", "given_name": "Secrétaire"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["totp_provisioning_uri"].startswith("otpauth://totp/")
    listed = client.get("/api/accounts", params={"establishment_id": site.world.est_a})
    assert listed.status_code == 200
    assert "sec.new" in {a["username"] for a in listed.json()["accounts"]}
    events = site.events_since(0)
    create = [e for e in events if e.action == "account.create"][-1]
    assert (create.username, create.details["account"]) == ("it.admin", "sec.new")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/patients", {**NEW_PATIENT}, "establishment_id"),
        ("/api/patients", {**NEW_PATIENT, "establishment_id": 1, "shoe_size": 42}, "shoe_size"),
        ("/api/patients", {**NEW_PATIENT, "establishment_id": 0}, "establishment_id"),
        ("/api/patients", {**NEW_PATIENT, "establishment_id": 1, "birth_date": "1975-13-40"},
         "birth_date"),
        ("/api/patients", {**NEW_PATIENT, "establishment_id": 1, "birth_name": "D4rand"},
         "birth_name"),
        ("/api/patients/1/appointments",
         {"establishment_id": 1, "practitioner_id": 1, "start_at": "2030-01-07T09:00:00",
          "duration_min": 30, "reason": "x"}, "start_at"),
        ("/api/patients/2147483648/notes", {"establishment_id": 1, "kind": "x", "text": "y"},
         "patient_id"),
    ],
)  # fmt: skip
def test_bad_input_is_a_clear_4xx_and_writes_nothing(
    site: Site, path: str, body: dict[str, Any], field: str
) -> None:
    patients_before, notes_before = _count(site, Patient), _count(site, ClinicalNote)
    answer = _post(site, "sec.a", path, body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field and answer.json()["error"]
    assert "Traceback" not in answer.text
    assert (_count(site, Patient), _count(site, ClinicalNote)) == (patients_before, notes_before)


def test_a_read_token_cannot_write(site: Site) -> None:
    client, signed = site.sign_in("dr.a")
    token = client.post("/api/tokens", json={"ttl": 600, "scope": "read"},
                        headers=_csrf(client, signed)).json()["token"]  # fmt: skip
    bearer = site.client()
    before = _count(site, AuditEvent)
    answer = bearer.post(
        f"/api/patients/{site.patient}/allergies", headers={"Authorization": f"Bearer {token}"},
        json={"establishment_id": site.world.est_a, "substance": "Latex", "reaction": "eczéma",
              "severity": "moderate"},
    )  # fmt: skip
    assert answer.status_code == 403
    assert _count(site, Allergy) == 1
    assert _count(site, AuditEvent) > before  # the refused token use is in the trail
