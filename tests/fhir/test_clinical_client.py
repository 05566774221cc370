"""The clinical resources, AuditEvent and $everything driven by a real FHIR client library
(fhirpy) against the running server on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError

from hygie.fhir import systems
from tests.api.conftest import Site
from tests.fhir.conftest import token
from tests.fhir.live import serving

GLASS = {"X-Break-Glass-Reason": "emergency",
         "X-Break-Glass-Text": "Urgence%20vitale%20%C3%A0%20l%27accueil"}  # fmt: skip


@pytest.fixture
def server(site: Site) -> Iterator[str]:
    with serving(site.app) as base:
        yield f"{base}/fhir"


def client(site: Site, server: str, username: str, scope: str = "read", **headers: str) -> Any:
    return SyncFHIRClient(
        server, authorization=f"Bearer {token(site, username, scope)}",
        extra_headers={"User-Agent": "fhirpy-test", **headers},
    )  # fmt: skip


def test_conditions_created_searched_paged_and_updated(site: Site, server: str) -> None:
    fhir = client(site, server, "dr.a", "write")
    for code in ("E11.9", "I10", "J45.9"):
        fhir.resource(
            "Condition", subject={"reference": f"Patient/{site.patient}"},
            code={"coding": [{"system": systems.CIM10, "code": code}]},
        ).save()  # fmt: skip
    found = fhir.resources("Condition").search(patient=site.patient).limit(2).fetch_all()
    assert sorted(c["code"]["coding"][0]["code"] for c in found) == ["E11.9", "I10", "J45.9"]
    first = found[0]
    first["clinicalStatus"] = {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "resolved"}]}  # fmt: skip
    first.save()
    again = fhir.reference("Condition", first.id).to_resource()
    assert again["clinicalStatus"]["coding"][0]["code"] == "resolved"


def test_denials_and_break_the_glass(site: Site, server: str) -> None:
    with pytest.raises(ForbiddenError):
        client(site, server, "sec.a").resources("Condition").search(patient=site.patient).fetch()
    with pytest.raises(ForbiddenError) as refused:
        client(site, server, "ide.a").resources("AllergyIntolerance").search(
            patient=site.patient
        ).fetch()
    assert "X-Break-Glass-Reason" in str(refused.value)
    nurse = client(site, server, "ide.a", **GLASS)
    allergies = nurse.resources("AllergyIntolerance").search(patient=site.patient).fetch()
    assert [a["code"]["text"] for a in allergies] == ["Pénicillines"]


def test_the_officer_reads_the_trail(site: Site, server: str) -> None:
    client(site, server, "dr.a").resources("AllergyIntolerance").search(
        patient=site.patient
    ).fetch()
    officer = client(site, server, "rssi.a")
    events = officer.resources("AuditEvent").search(agent="dr.a").fetch_all()
    assert any(any(c["code"] == "fhir.allergy.search" for c in e["subtype"]) for e in events)
    with pytest.raises(ForbiddenError):
        client(site, server, "dr.a").resources("AuditEvent").search(agent="dr.a").fetch()


def test_everything(site: Site, server: str) -> None:
    fhir = client(site, server, "dr.a")
    bundle = fhir.execute(f"Patient/{site.patient}/$everything", method="get")
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Patient", "Appointment", "AllergyIntolerance"]
