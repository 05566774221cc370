"""FHIR Condition through the gate: CIM-10 codes, search by patient, read, create, update
(status, onset) with If-Match; the acceptance refusals (a secretary, a physician without a
care relationship) are 403 and audited."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from hygie.fhir import systems
from hygie.staff import service as staff
from tests.api.conftest import Site
from tests.factories import DAY0, rpps
from tests.fhir.conftest import events_after, outcome_of

CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"


def condition(patient: int, code: str = "E11.9", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "code": {"coding": [{"system": systems.CIM10, "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "onsetDateTime": "2019-04-01",
        **extra,
    }


def physician_without_relationship(site: Site, username: str = "dr.c") -> None:
    """A physician of establishment A who has never seen the patient."""
    with site.db.transaction() as s:
        prof = staff.create_professional(
            s, profession="physician", family_name="Sansrelation", given_name="Claire",
            rpps=rpps(9),
        )  # fmt: skip
        user = staff.create_user(s, username=username, display_name="Dr C", professional_id=prof.id)
        staff.grant_habilitation(
            s, user_id=user.id, establishment_id=site.world.est_a, role="physician",
            valid_from=DAY0,
        )  # fmt: skip


def test_create_read_search_update(site: Site, fhir: Any) -> None:
    client = fhir("dr.a", "write")
    created = client.post("Condition", condition(site.patient))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["code"]["coding"] == [{"system": systems.CIM10, "code": "E11.9",
                                       "display": "Diabète sucré de type 2, sans complication"}]  # fmt: skip
    assert body["onsetDateTime"] == "2019-04-01"
    assert body["subject"] == {"reference": f"Patient/{site.patient}"}
    bundle = client.get("Condition", params={"patient": f"Patient/{site.patient}"}).json()
    assert bundle["total"] == 1 and bundle["entry"][0]["resource"]["id"] == body["id"]
    assert client.get(f"Condition/{body['id']}").json()["code"] == body["code"]

    body["clinicalStatus"]["coding"][0]["code"] = "resolved"
    body["onsetDateTime"] = "2018-01-15"
    before = site.last_event_id()
    updated = client.put(
        f"Condition/{body['id']}", body, headers={"If-Match": created.headers["etag"]}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert updated.json()["onsetDateTime"] == "2018-01-15"
    (write,) = [e for e in events_after(site.db, before) if e.action == "condition.update"]
    assert write.outcome == "allowed" and write.details["changed"] == ["status", "onset_date"]
    stale = client.put(
        f"Condition/{body['id']}", body, headers={"If-Match": created.headers["etag"]}
    )
    assert stale.status_code == 412
    # The onset cleared; the code is not changed by an update.
    del body["onsetDateTime"]
    assert "onsetDateTime" not in client.put(f"Condition/{body['id']}", body).json()
    body["code"]["coding"][0]["code"] = "I10"
    assert client.put(f"Condition/{body['id']}", body).status_code == 422


def test_a_secretary_gets_403_and_an_audited_denial(site: Site, fhir: Any) -> None:
    client = fhir("sec.a")
    before = site.last_event_id()
    answer = client.get("Condition", params={"patient": f"Patient/{site.patient}"})
    assert answer.status_code == 403
    assert answer.json()["issue"][0]["code"] == "forbidden"
    assert "X-Break-Glass" not in outcome_of(answer)  # no break-the-glass for a secretary
    (event,) = [e for e in events_after(site.db, before) if e.action != "token.use"]
    assert (event.action, event.outcome, event.how, event.patient_ids) == (
        "fhir.condition.search", "denied", "api", [site.patient],
    )  # fmt: skip


@pytest.mark.parametrize("resource", ["Condition", "AllergyIntolerance", "MedicationRequest"])
def test_a_physician_without_care_relationship_gets_403(
    site: Site, fhir: Any, resource: str
) -> None:
    physician_without_relationship(site)
    client = fhir("dr.c")
    before = site.last_event_id()
    answer = client.get(resource, params={"patient": site.patient})
    assert answer.status_code == 403
    assert "X-Break-Glass-Reason" in outcome_of(answer)
    events = [e for e in events_after(site.db, before) if e.action != "token.use"]
    assert [(e.outcome, e.username, e.patient_ids) for e in events] == [
        ("denied", "dr.c", [site.patient])
    ]


def test_a_physician_without_care_relationship_cannot_write(site: Site, fhir: Any) -> None:
    physician_without_relationship(site)
    answer = fhir("dr.c", "write").post("Condition", condition(site.patient))
    assert answer.status_code == 403
    assert fhir("dr.a").get("Condition", params={"patient": site.patient}).json()["total"] == 0


def test_a_nurse_reads_but_does_not_write_conditions(site: Site, fhir: Any) -> None:
    glass = {
        "X-Break-Glass-Reason": "continuity",
        "X-Break-Glass-Text": "Rel%C3%A8ve%20de%20nuit%20aux%20urgences",
    }
    answer = fhir("ide.a", "write").post("Condition", condition(site.patient), headers=glass)
    assert answer.status_code == 403
    # Refused by role: no break-the-glass was granted for it; a read asks for one.
    client = fhir("ide.a")
    assert client.get("Condition", params={"patient": site.patient}).status_code == 403
    assert (
        client.get("Condition", params={"patient": site.patient}, headers=glass).status_code == 200
    )


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"code": {"coding": [{"system": systems.CIM10, "code": "Z99.99"}]}}, 422),
        ({"code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]}}, 422),
        ({"onsetDateTime": "2090-01-01"}, 422),
        ({"onsetDateTime": "1970-01-01"}, 422),  # before the birth date
        ({"onsetDateTime": None, "onsetString": "childhood"}, 422),
        ({"subject": {"reference": "Patient/abc"}}, 422),
        ({"clinicalStatus": {"coding": [{"system": CLINICAL, "code": "remission"}]}}, 422),
        ({"onsetDateTime": "not-a-date"}, 400),
    ],
)
def test_bad_conditions_are_refused_with_nothing_written(
    site: Site, fhir: Any, change: dict[str, Any], status: int
) -> None:
    client = fhir("dr.a", "write")
    body = {k: v for k, v in {**condition(site.patient), **change}.items() if v is not None}
    answer = client.post("Condition", body)
    assert answer.status_code == status, answer.text
    assert client.get("Condition", params={"patient": site.patient}).json()["total"] == 0


def test_metadata_declares_the_clinical_resources(site: Site, fhir: Any) -> None:
    body = fhir("dr.a").get("metadata").json()
    declared = {r["type"]: r for r in body["rest"][0]["resource"]}
    for kind in ("AllergyIntolerance", "Condition", "MedicationRequest"):
        assert {i["code"] for i in declared[kind]["interaction"]} == {
            "read", "search-type", "create", "update",
        }  # fmt: skip
        assert [p["name"] for p in declared[kind]["searchParam"]] == ["patient"]
    assert {i["code"] for i in declared["AuditEvent"]["interaction"]} == {"read", "search-type"}
    assert {p["name"] for p in declared["AuditEvent"]["searchParam"]} == {
        "patient",
        "agent",
        "date",
    }


def test_a_refused_update_changes_nothing(site: Site, fhir: Any) -> None:
    """The gate write validates everything before changing anything: a good status with a
    bad onset leaves the status as it was, and the attempt is recorded as failed."""
    from hygie.access import writes_clinical
    from hygie.access.actor import load_actor
    from hygie.errors import ValidationError

    client = fhir("dr.a", "write")
    body = client.post("Condition", condition(site.patient)).json()
    with site.db.sessions() as s:
        doctor = load_actor(s, username="dr.a", how="cli")
    before = site.last_event_id()
    with pytest.raises(ValidationError):
        writes_clinical.update_condition(
            site.db, doctor, condition_id=int(body["id"]), status="resolved",
            onset_date=date(2999, 1, 1),
        )  # fmt: skip
    after = client.get(f"Condition/{body['id']}").json()
    assert after["clinicalStatus"]["coding"][0]["code"] == "active"
    assert after["onsetDateTime"] == "2019-04-01"
    (failed,) = [e for e in events_after(site.db, before) if e.action == "condition.update"]
    assert failed.outcome == "failed" and "onset_date" in (failed.reason or "")
    found = client.get("AllergyIntolerance", params={"patient": site.patient}).json()
    allergy_id = int(found["entry"][0]["resource"]["id"])
    with pytest.raises(ValidationError):
        writes_clinical.update_allergy(
            site.db, doctor, allergy_id=allergy_id, status="resolved", severity="deadly"
        )
    allergy = client.get(f"AllergyIntolerance/{allergy_id}").json()
    assert allergy["clinicalStatus"]["coding"][0]["code"] == "active"
    assert allergy["reaction"][0]["severity"] == "severe"
