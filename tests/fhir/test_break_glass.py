"""Break-the-glass through FHIR: a nurse without a care relationship is refused with an
OperationOutcome that says how to proceed, then reads with the two headers; the grant waits
in the security officer's review queue and the trail shows refusal, grant and read."""

from __future__ import annotations

from typing import Any

import pytest

from hygie.access import history
from hygie.access.actor import load_actor
from hygie.fhir.audit_event import ACT_REASON
from tests.api.conftest import Site
from tests.fhir.conftest import events_after, outcome_of

TEXT = "Patiente inconsciente aux urgences, allergies à vérifier"
# The text percent-encoded as UTF-8, as a header carries it.
ENCODED = "Patiente%20inconsciente%20aux%20urgences%2C%20allergies%20%C3%A0%20v%C3%A9rifier"
GLASS = {"X-Break-Glass-Reason": "emergency", "X-Break-Glass-Text": ENCODED}


def pending(site: Site) -> list[Any]:
    with site.db.sessions() as s:
        officer = load_actor(s, username="rssi.a", how="cli")
    return history.pending_reviews(site.db, officer)


def test_a_nurse_breaks_the_glass_with_the_headers(site: Site, fhir: Any) -> None:
    nurse = fhir("ide.a")
    before = site.last_event_id()
    refused = nurse.get("AllergyIntolerance", params={"patient": site.patient})
    assert refused.status_code == 403
    assert refused.json()["issue"][0]["code"] == "forbidden"
    message = outcome_of(refused)
    assert "X-Break-Glass-Reason" in message and "X-Break-Glass-Text" in message
    assert pending(site) == []

    answer = nurse.get("AllergyIntolerance", params={"patient": site.patient}, headers=GLASS)
    assert answer.status_code == 200, answer.text
    assert answer.json()["entry"][0]["resource"]["code"]["text"] == "Pénicillines"

    (grant,) = pending(site)
    assert (grant.patient_id, grant.reason_code, grant.reason_text) == (
        site.patient, "emergency", TEXT,
    )  # fmt: skip
    trail = [
        (e.action, e.outcome, e.username)
        for e in events_after(site.db, before)
        if e.username == "ide.a" and e.action != "token.use"
    ]
    assert trail == [
        ("fhir.allergy.search", "denied", "ide.a"),
        ("fhir.allergy.search", "denied", "ide.a"),
        ("break_glass", "allowed", "ide.a"),
        ("fhir.allergy.search", "allowed", "ide.a"),
    ]
    read = [e for e in events_after(site.db, before) if e.username == "ide.a"][-1]
    assert read.purpose == "break_the_glass"
    # The grant lasts: the next read needs no headers and grants nothing more.
    assert nurse.get("Condition", params={"patient": site.patient}).status_code == 200
    assert len(pending(site)) == 1


def test_the_officer_sees_the_break_the_glass_in_audit_events(site: Site, fhir: Any) -> None:
    fhir("ide.a").get("AllergyIntolerance", params={"patient": site.patient}, headers=GLASS)
    bundle = fhir("rssi.a").get("AuditEvent", params={"agent": "ide.a"}).json()
    resources = [e["resource"] for e in bundle["entry"]]
    grant = next(r for r in resources if r["type"]["code"] == "110113")
    assert grant["subtype"][0]["code"] == "110127"
    assert grant["purposeOfEvent"][0]["coding"][0] == {"system": ACT_REASON, "code": "BTG",
                                                       "display": "break the glass"}  # fmt: skip
    assert grant["purposeOfEvent"][0]["text"] == "emergency"
    assert grant["outcomeDesc"] == TEXT


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Break-Glass-Reason": "emergency"},
        {"X-Break-Glass-Text": ENCODED},
        {"X-Break-Glass-Reason": "boredom", "X-Break-Glass-Text": ENCODED},
        {"X-Break-Glass-Reason": "emergency", "X-Break-Glass-Text": "court"},
        {"X-Break-Glass-Reason": "emergency", "X-Break-Glass-Text": "%C3%28%20invalid%20utf8"},
    ],
)
def test_bad_headers_are_400_and_grant_nothing(
    site: Site, fhir: Any, headers: dict[str, str]
) -> None:
    answer = fhir("ide.a").get(
        "AllergyIntolerance", params={"patient": site.patient}, headers=headers
    )
    assert answer.status_code == 400, answer.text
    assert pending(site) == []


def test_a_secretary_cannot_break_the_glass(site: Site, fhir: Any) -> None:
    answer = fhir("sec.a").get("Condition", params={"patient": site.patient}, headers=GLASS)
    assert answer.status_code == 403
    assert pending(site) == []


def test_a_read_by_id_breaks_the_glass_too(site: Site, fhir: Any) -> None:
    allergy_id = (
        fhir("dr.a")
        .get("AllergyIntolerance", params={"patient": site.patient})
        .json()["entry"][0]["resource"]["id"]
    )
    nurse = fhir("ide.a")
    assert nurse.get(f"AllergyIntolerance/{allergy_id}").status_code == 403
    assert nurse.get(f"AllergyIntolerance/{allergy_id}", headers=GLASS).status_code == 200
    assert len(pending(site)) == 1
