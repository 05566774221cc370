"""FHIR MedicationRequest through the gate: prescribe, the allergy conflict (409 unless an
override reason is given), search, read, stop or complete with If-Match."""

from __future__ import annotations

from typing import Any

import pytest

from hygie.fhir.clinical import DRUG_SYSTEM, ROUTE_SYSTEM
from hygie.fhir.medication import OVERRIDE_EXTENSION
from tests.api.conftest import Site
from tests.fhir.conftest import events_after, outcome_of


def order(site: Site, drug: str = "D0001", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": DRUG_SYSTEM, "code": drug}]},
        "subject": {"reference": f"Patient/{site.patient}"},
        "requester": {"reference": f"Practitioner/{site.world.physician}"},
        "dosageInstruction": [{
            "text": "1 comprimé",
            "route": {"coding": [{"system": ROUTE_SYSTEM, "code": "oral"}]},
            "timing": {"code": {"text": "3 fois par jour"},
                       "repeat": {"boundsDuration": {"value": 5, "unit": "d",
                                                     "system": "http://unitsofmeasure.org",
                                                     "code": "d"}}},
        }],
        **extra,
    }  # fmt: skip


def written(site: Site, before: int) -> list[tuple[str, str]]:
    return [
        (e.action, e.outcome)
        for e in events_after(site.db, before)
        if e.action.startswith("prescription.")
    ]


def test_prescribe_read_search_and_stop(site: Site, fhir: Any) -> None:
    client = fhir("dr.a", "write")
    created = client.post("MedicationRequest", order(site))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["medicationCodeableConcept"]["text"] == "paracétamol"
    assert {c["system"] for c in body["medicationCodeableConcept"]["coding"]} == {
        DRUG_SYSTEM, "http://www.whocc.no/atc"
    }  # fmt: skip
    dosage = body["dosageInstruction"][0]
    assert dosage["text"] == "1 comprimé" and dosage["timing"]["code"]["text"] == "3 fois par jour"
    assert dosage["timing"]["repeat"]["boundsDuration"]["value"] == 5
    assert body["requester"] == {"reference": f"Practitioner/{site.world.physician}"}
    bundle = client.get("MedicationRequest", params={"patient": site.patient}).json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == [body["id"]]

    body["status"] = "stopped"
    before = site.last_event_id()
    stopped = client.put(
        f"MedicationRequest/{body['id']}", body, headers={"If-Match": created.headers["etag"]}
    )
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "stopped"
    assert written(site, before) == [("prescription.status", "allowed")]
    stale = client.put(
        f"MedicationRequest/{body['id']}", body, headers={"If-Match": created.headers["etag"]}
    )
    assert stale.status_code == 412
    body["status"] = "completed"
    before = site.last_event_id()
    again = client.put(f"MedicationRequest/{body['id']}", body)
    assert again.status_code == 409, again.text  # already stopped
    assert written(site, before) == [("prescription.status", "failed")]
    body["status"] = "active"
    assert client.put(f"MedicationRequest/{body['id']}", body).status_code == 422


def test_update_changes_nothing_else(site: Site, fhir: Any) -> None:
    client = fhir("dr.a", "write")
    body = client.post("MedicationRequest", order(site)).json()
    body["dosageInstruction"][0]["text"] = "2 comprimés"
    before = site.last_event_id()
    answer = client.put(f"MedicationRequest/{body['id']}", body)
    assert answer.status_code == 422 and "dose" in outcome_of(answer)
    assert written(site, before) == []


def test_allergy_conflict_is_409_unless_overridden(site: Site, fhir: Any) -> None:
    # The patient is allergic to penicillins; amoxicillin is one.
    client = fhir("dr.a", "write")
    before = site.last_event_id()
    refused = client.post("MedicationRequest", order(site, "D0031"))
    assert refused.status_code == 409, refused.text
    assert "allergic" in outcome_of(refused) and OVERRIDE_EXTENSION in outcome_of(refused)
    assert written(site, before) == [("prescription.write", "failed")]
    assert client.get("MedicationRequest", params={"patient": site.patient}).json()["total"] == 0
    override = {"extension": [{"url": OVERRIDE_EXTENSION,
                               "valueString": "Allergie ancienne, tolérance documentée en 2024"}]}  # fmt: skip
    before = site.last_event_id()
    done = client.post("MedicationRequest", order(site, "D0031", **override))
    assert done.status_code == 201, done.text
    (event,) = [e for e in events_after(site.db, before) if e.action == "prescription.write"]
    assert event.outcome == "allowed" and event.details["allergy_override"] is True


def test_a_nurse_reads_but_does_not_prescribe(site: Site, fhir: Any) -> None:
    glass = {
        "X-Break-Glass-Reason": "emergency",
        "X-Break-Glass-Text": "Patient%20en%20d%C3%A9tresse",
    }
    mine = {k: v for k, v in order(site).items() if k != "requester"}
    answer = fhir("ide.a", "write").post("MedicationRequest", mine, headers=glass)
    assert answer.status_code == 403
    # Refused by role: no break-the-glass was granted for it; a read asks for one.
    client = fhir("ide.a")
    assert client.get("MedicationRequest", params={"patient": site.patient}).status_code == 403
    assert (
        client.get("MedicationRequest", params={"patient": site.patient}, headers=glass).status_code
        == 200
    )


def test_writes_need_a_write_token(site: Site, fhir: Any) -> None:
    client = fhir("dr.a", "read")
    before = site.last_event_id()
    assert client.post("MedicationRequest", order(site)).status_code == 403
    assert written(site, before) == []


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"medicationCodeableConcept": {"coding": [{"system": DRUG_SYSTEM, "code": "X9"}]}}, 422),
        ({"medicationCodeableConcept": {"text": "paracétamol"}}, 422),
        ({"status": "draft"}, 422),
        ({"intent": "plan"}, 422),
        ({"requester": {"reference": "Practitioner/999"}}, 422),
        ({"dosageInstruction": [{"text": "1 cp"}]}, 422),
        ({"dosageInstruction": [{"text": "1 cp", "timing": {"code": {"text": "matin"},
          "repeat": {"boundsDuration": {"value": 400, "code": "d"}}}}]}, 422),
        ({"dosageInstruction": [{"text": "1 cp", "route": {"text": "by mail"}, "timing": {
          "code": {"text": "matin"}, "repeat": {"boundsDuration": {"value": 3, "code": "d"}}}}]},
         422),
        ({"dosageInstruction": [{"text": "1 cp", "timing": {"code": {"text": "matin"},
          "repeat": {"boundsDuration": {"value": 2.5, "code": "d"}}}}]}, 422),
        ({"encounter": {"reference": "Encounter/999999"}}, 404),
        ({"status": 12}, 400),
    ],
)  # fmt: skip
def test_bad_orders_are_refused_with_nothing_written(
    site: Site, fhir: Any, change: dict[str, Any], status: int
) -> None:
    client = fhir("dr.a", "write")
    before = site.last_event_id()
    answer = client.post("MedicationRequest", {**order(site), **change})
    assert answer.status_code == status, answer.text
    assert ("prescription.write", "allowed") not in written(site, before)
    assert client.get("MedicationRequest", params={"patient": site.patient}).json()["total"] == 0


def test_a_client_may_send_back_references_with_a_display(site: Site, fhir: Any) -> None:
    client = fhir("dr.a", "write")
    body = client.post("MedicationRequest", order(site)).json()
    body["requester"]["display"] = "Dr A"
    body["subject"]["display"] = "Alice Martin"
    body["status"] = "completed"
    answer = client.put(f"MedicationRequest/{body['id']}", body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "completed"
