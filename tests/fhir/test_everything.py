"""Patient/$everything: the Patient and what the caller may see of the record, from one
audited read; withheld blocks named in an OperationOutcome entry; break-the-glass opens them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hygie.patients import service as patients
from hygie.stays import service as stays
from tests.api.conftest import Site
from tests.factories import nir
from tests.fhir.conftest import events_after

GLASS = {
    "X-Break-Glass-Reason": "on_call",
    "X-Break-Glass-Text": "Garde%20de%20nuit%2C%20appel%20du%20service",
}


def types(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["resourceType"] for e in bundle.get("entry", [])]


def outcome(bundle: dict[str, Any]) -> str | None:
    found = [e for e in bundle.get("entry", []) if e["search"]["mode"] == "outcome"]
    return str(found[0]["resource"]["issue"][0]["diagnostics"]) if found else None


def test_metadata_declares_the_operation(site: Site, fhir: Any) -> None:
    body = fhir("dr.a").get("metadata").json()
    (patient,) = [r for r in body["rest"][0]["resource"] if r["type"] == "Patient"]
    assert [o["name"] for o in patient["operation"]] == ["everything"]


def test_a_physician_with_care_relationship_gets_the_record(site: Site, fhir: Any) -> None:
    client = fhir("dr.a", "write")
    client.post("Condition", {
        "resourceType": "Condition", "subject": {"reference": f"Patient/{site.patient}"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I10"}]},
    })  # fmt: skip
    before = site.last_event_id()
    answer = client.get(f"Patient/{site.patient}/$everything")
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    assert bundle["type"] == "searchset"
    assert types(bundle) == ["Patient", "Appointment", "AllergyIntolerance", "Condition"]
    assert bundle["total"] == 4 and outcome(bundle) is None
    assert all(
        e["resource"].get("patient", e["resource"].get("subject", {"reference": ""}))["reference"]
        == f"Patient/{site.patient}"
        for e in bundle["entry"][1:]
        if e["resource"]["resourceType"] != "Appointment"
    )
    (event,) = [e for e in events_after(site.db, before) if e.action != "token.use"]
    assert (event.action, event.outcome, event.patient_ids) == (
        "fhir.patient.everything", "allowed", [site.patient],
    )  # fmt: skip
    assert "notes" not in event.categories  # no FHIR resource for notes: not read
    assert {"allergies", "conditions", "appointments", "identity"} <= set(event.categories)


def test_a_secretary_gets_no_clinical_content(site: Site, fhir: Any) -> None:
    bundle = fhir("sec.a").get(f"Patient/{site.patient}/$everything").json()
    assert types(bundle) == ["Patient", "Appointment", "OperationOutcome"]
    said = outcome(bundle)
    assert said is not None and "allergies" in said and "X-Break-Glass" not in said


def test_a_nurse_is_told_then_breaks_the_glass(site: Site, fhir: Any) -> None:
    nurse = fhir("ide.a")
    first = nurse.get(f"Patient/{site.patient}/$everything").json()
    assert "AllergyIntolerance" not in types(first)
    said = outcome(first)
    assert said is not None and "X-Break-Glass-Reason" in said
    before = site.last_event_id()
    opened = nurse.get(f"Patient/{site.patient}/$everything", headers=GLASS).json()
    assert "AllergyIntolerance" in types(opened) and outcome(opened) is None
    trail = [(e.action, e.outcome) for e in events_after(site.db, before) if e.username == "ide.a"]
    assert trail == [
        ("fhir.patient.everything", "allowed"),
        ("break_glass", "allowed"),
        ("fhir.patient.everything", "allowed"),
    ]


def test_pages(site: Site, fhir: Any) -> None:
    client = fhir("dr.a")
    first = client.get(f"Patient/{site.patient}/$everything", params={"_count": 2}).json()
    assert types(first) == ["Patient", "Appointment"] and first["total"] == 3
    nxt = next(lk["url"] for lk in first["link"] if lk["relation"] == "next")
    assert types(client.get(nxt.split("/fhir/", 1)[1]).json()) == ["AllergyIntolerance"]


@pytest.mark.parametrize(("who", "status"), [("dr.b", 404), ("it.admin", 403)])
def test_refused_outside_scope_or_role(site: Site, fhir: Any, who: str, status: int) -> None:
    client = fhir(who)
    before = site.last_event_id()
    assert client.get(f"Patient/{site.patient}/$everything").status_code == status
    assert [e.outcome for e in events_after(site.db, before) if e.action != "token.use"] == [
        "denied"
    ]


def test_unsupported_parameters_are_400(site: Site, fhir: Any) -> None:
    client = fhir("dr.a")
    assert (
        client.get(
            f"Patient/{site.patient}/$everything", params={"start": "2020-01-01"}
        ).status_code
        == 400
    )
    assert client.get("Patient/abc/$everything").status_code == 404


def test_coverage_and_stays_are_included(site: Site, fhir: Any) -> None:
    with site.db.transaction() as s:
        patients.record_amo_coverage(
            s, patient_id=site.patient, regime_code="01", fund_code="751",
            fund_name="CPAM de Paris", insured_nir=nir(sex=2), beneficiary="insured",
            valid_from=date(2024, 1, 1),
        )  # fmt: skip
        patients.record_amc_coverage(
            s, patient_id=site.patient, organism_number="75123456",
            organism_name="Mutuelle Exemple", member_number="AB12345", valid_from=date(2024, 1, 1),
        )  # fmt: skip
        stays.admit(
            s, patient_id=site.patient, establishment_id=site.world.est_a,
            department_id=site.world.dept_a, responsible_id=site.world.physician,
            at=datetime.now(UTC) - timedelta(hours=2), reason="Bilan",
        )  # fmt: skip
    bundle = fhir("sec.a").get(f"Patient/{site.patient}/$everything").json()
    assert types(bundle) == [
        "Patient", "Coverage", "Coverage", "Appointment", "Encounter", "OperationOutcome",
    ]  # fmt: skip
    ids = [e["resource"]["id"] for e in bundle["entry"][1:3]]
    assert ids[0].startswith("amo-") and ids[1].startswith("amc-")
