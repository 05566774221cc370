"""FHIR AllergyIntolerance through the gate: search by patient, read, create, update with
If-Match; refusals audited; bad resources refused with nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from hygie.fhir.clinical import DRUG_SYSTEM, ESTABLISHMENT_EXTENSION
from tests.api.conftest import Site
from tests.fhir.conftest import events_after, outcome_of


def allergy(patient: int, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
            "code": "active"}]},
        "code": {"coding": [{"system": DRUG_SYSTEM, "code": "D0001"}], "text": "Paracétamol"},
        "patient": {"reference": f"Patient/{patient}"},
        "reaction": [{"manifestation": [{"text": "œdème de Quincke"}], "severity": "severe"}],
        **extra,
    }  # fmt: skip


def actions(site: Site, before: int) -> list[tuple[str, str]]:
    return [(e.action, e.outcome) for e in events_after(site.db, before) if e.action != "token.use"]


def test_search_by_patient_is_one_audited_read(site: Site, fhir: Any) -> None:
    client = fhir("dr.a")
    before = site.last_event_id()
    answer = client.get("AllergyIntolerance", params={"patient": f"Patient/{site.patient}"})
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    assert bundle["total"] == 1
    (found,) = [e["resource"] for e in bundle["entry"]]
    assert found["code"]["text"] == "Pénicillines"
    assert found["patient"] == {"reference": f"Patient/{site.patient}"}
    assert found["reaction"][0]["severity"] == "severe" and found["criticality"] == "high"
    assert found["clinicalStatus"]["coding"][0]["code"] == "active"
    assert found["recorder"] == {"reference": f"Practitioner/{site.world.physician}"}
    (event,) = [e for e in events_after(site.db, before) if e.action != "token.use"]
    assert (event.action, event.outcome, event.how, event.patient_ids, event.categories) == (
        "fhir.allergy.search", "allowed", "api", [site.patient], ["allergies"],
    )  # fmt: skip
    read = fhir("dr.a").get(f"AllergyIntolerance/{found['id']}")
    assert read.status_code == 200 and read.json()["id"] == found["id"]
    assert read.headers["etag"] == f'W/"{read.json()["meta"]["versionId"]}"'


def test_search_pages(site: Site, fhir: Any) -> None:
    client = fhir("dr.a", "write")
    for drug in ("D0001", "D0002"):
        body = allergy(site.patient)
        body["code"]["coding"][0]["code"] = drug
        assert client.post("AllergyIntolerance", body).status_code == 201
    first = client.get("AllergyIntolerance", params={"patient": site.patient, "_count": 2}).json()
    assert first["total"] == 3 and len(first["entry"]) == 2
    nxt = next(lk["url"] for lk in first["link"] if lk["relation"] == "next")
    second = client.get(nxt.split("/fhir/", 1)[1]).json()
    assert len(second["entry"]) == 1
    assert not any(lk["relation"] == "next" for lk in second["link"])


@pytest.mark.parametrize(
    "params", [{}, {"patient": "Practitioner/1"}, {"patient": "abc"}, {"patient": "1", "x": "y"}]
)
def test_bad_searches_are_400(site: Site, fhir: Any, params: dict[str, str]) -> None:
    assert fhir("dr.a").get("AllergyIntolerance", params=params).status_code == 400


def test_secretary_is_refused_and_the_refusal_is_audited(site: Site, fhir: Any) -> None:
    client = fhir("sec.a")
    before = site.last_event_id()
    answer = client.get("AllergyIntolerance", params={"patient": site.patient})
    assert answer.status_code == 403
    assert "break-the-glass" not in outcome_of(answer).lower().replace("break-glass", "")
    assert actions(site, before) == [("fhir.allergy.search", "denied")]


def test_other_establishment_is_not_found(site: Site, fhir: Any) -> None:
    assert (
        fhir("dr.b").get("AllergyIntolerance", params={"patient": site.patient}).status_code == 404
    )
    assert fhir("dr.a").get("AllergyIntolerance/999999").status_code == 404


def test_create_then_update_with_if_match(site: Site, fhir: Any) -> None:
    client = fhir("dr.a", "write")
    before = site.last_event_id()
    created = client.post("AllergyIntolerance", allergy(site.patient))
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"].endswith(f"/fhir/AllergyIntolerance/{body['id']}")
    assert body["category"] == ["medication"] and body["code"]["coding"][0]["code"] == "D0001"
    assert actions(site, before) == [
        ("allergy.record", "allowed"),
        ("fhir.allergy.read", "allowed"),
    ]
    body["clinicalStatus"]["coding"][0]["code"] = "resolved"
    body["reaction"][0]["severity"] = "moderate"
    before = site.last_event_id()
    updated = client.put(
        f"AllergyIntolerance/{body['id']}", body, headers={"If-Match": created.headers["etag"]}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert updated.json()["criticality"] == "low"
    events = [e for e in events_after(site.db, before) if e.action != "token.use"]
    assert [(e.action, e.outcome) for e in events] == [
        ("fhir.allergy.read", "allowed"), ("allergy.update", "allowed"),
        ("fhir.allergy.read", "allowed"),
    ]  # fmt: skip
    assert events[1].details["changed"] == ["status", "severity"]
    stale = client.put(
        f"AllergyIntolerance/{body['id']}", body, headers={"If-Match": created.headers["etag"]}
    )
    assert stale.status_code == 412
    # Entered in error: no clinical status any more.
    wrong = updated.json()
    del wrong["clinicalStatus"]
    wrong["verificationStatus"]["coding"][0]["code"] = "entered-in-error"
    gone = client.put(f"AllergyIntolerance/{body['id']}", wrong)
    assert gone.status_code == 200 and "clinicalStatus" not in gone.json()


def test_update_cannot_change_the_substance(site: Site, fhir: Any) -> None:
    client = fhir("dr.a", "write")
    body = client.post("AllergyIntolerance", allergy(site.patient)).json()
    body["code"] = {"text": "Aspirine"}
    before = site.last_event_id()
    answer = client.put(f"AllergyIntolerance/{body['id']}", body)
    assert answer.status_code == 422 and "code" in outcome_of(answer)
    assert actions(site, before) == [("fhir.allergy.read", "allowed")]


def test_writes_need_a_write_token(site: Site, fhir: Any) -> None:
    client = fhir("dr.a", "read")
    before = site.last_event_id()
    assert client.post("AllergyIntolerance", allergy(site.patient)).status_code == 403
    assert not [a for a in actions(site, before) if a[0] == "allergy.record"]


def test_a_nurse_records_with_break_the_glass_headers(site: Site, fhir: Any) -> None:
    client = fhir("ide.a", "write")
    refused = client.post("AllergyIntolerance", allergy(site.patient))
    assert refused.status_code == 403 and "X-Break-Glass-Reason" in outcome_of(refused)
    done = client.post(
        "AllergyIntolerance", allergy(site.patient),
        headers={"X-Break-Glass-Reason": "emergency",
                 "X-Break-Glass-Text": "Urgence%20%C3%A0%20l%27accueil%2C%20patient%20inconscient"},
    )  # fmt: skip
    assert done.status_code == 201, done.text


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"reaction": [{"manifestation": [{"text": "urticaire"}]}]}, 422),
        ({"reaction": None}, 422),
        ({"code": {"coding": [{"system": DRUG_SYSTEM, "code": "NOPE"}], "text": "x"}}, 422),
        ({"code": None}, 422),
        ({"patient": {"reference": "Group/1"}}, 422),
        ({"patient": {"reference": "Patient/999999"}}, 404),
        ({"clinicalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
            "code": "resolved"}]}}, 422),
        ({"recordedDate": "yesterday"}, 400),
        ({"extension": [{"url": ESTABLISHMENT_EXTENSION,
                         "valueReference": {"reference": "Organization/999"}}]}, 403),
    ],
)  # fmt: skip
def test_bad_resources_are_refused_with_nothing_written(
    site: Site, fhir: Any, change: dict[str, Any], status: int
) -> None:
    client = fhir("dr.a", "write")
    body = {k: v for k, v in {**allergy(site.patient), **change}.items() if v is not None}
    answer = client.post("AllergyIntolerance", body)
    assert answer.status_code == status, answer.text
    assert client.get("AllergyIntolerance", params={"patient": site.patient}).json()["total"] == 1
