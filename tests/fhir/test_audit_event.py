"""FHIR AuditEvent: the trail for security officers only, in their establishments, shaped
after IHE BALP; searching and reading it is itself recorded."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hygie.fhir.audit_event import ACT_REASON, ACTION_SYSTEM, USERNAME_SYSTEM, kind_of
from hygie.patients import service as patients
from tests.api.conftest import Site
from tests.fhir.conftest import events_after


def own_action(resource: dict[str, Any]) -> str:
    return next(c["code"] for c in resource["subtype"] if c["system"] == ACTION_SYSTEM)


def patient_in_b(site: Site) -> int:
    with site.db.transaction() as s:
        return patients.create_patient(
            s, establishment_id=site.world.est_b, birth_name="Bernard", birth_first_names=["Léa"],
            sex="female", birth_date=date(1975, 1, 2),
        ).patient.id  # fmt: skip


def test_an_officer_finds_a_clinical_read_shaped_after_balp(site: Site, fhir: Any) -> None:
    assert (
        fhir("dr.a").get("AllergyIntolerance", params={"patient": site.patient}).status_code == 200
    )
    officer = fhir("rssi.a")
    before = site.last_event_id()
    answer = officer.get("AuditEvent", params={"patient": f"Patient/{site.patient}"})
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    found = [e["resource"] for e in bundle["entry"]]
    assert bundle["total"] == len(found) >= 1  # the allergy search at least
    read = next(r for r in found if own_action(r) == "fhir.allergy.search")
    assert read["type"]["code"] == "rest"
    assert {"system": "http://hl7.org/fhir/restful-interaction", "code": "search-type"} in read[
        "subtype"
    ]
    assert (read["action"], read["outcome"]) == ("E", "0")
    (agent,) = read["agent"]
    assert agent["who"]["identifier"] == {"system": USERNAME_SYSTEM, "value": "dr.a"}
    assert agent["who"]["reference"] == f"Practitioner/{site.world.physician}"
    assert agent["requestor"] is True and agent["role"] == [{"text": "physician"}]
    assert agent["policy"][0].startswith("urn:hygie:token:")
    assert agent["network"]["address"] == "testclient"
    assert agent["purposeOfUse"][0]["coding"][0] == {"system": ACT_REASON, "code": "TREAT",
                                                     "display": "treatment"}  # fmt: skip
    (entity,) = read["entity"]
    assert entity["what"] == {"reference": f"Patient/{site.patient}"}
    assert entity["role"]["code"] == "1" and entity["detail"][0]["valueString"] == "allergies"
    assert read["source"]["observer"] == {"display": "Hygie"}
    # Newest first.
    recorded = [r["recorded"] for r in found]
    assert recorded == sorted(recorded, reverse=True)
    (search,) = [e for e in events_after(site.db, before) if e.action.startswith("audit.")]
    assert (search.action, search.outcome, search.username, search.how) == (
        "audit.search", "allowed", "rssi.a", "api"
    )  # fmt: skip
    assert search.details["criteria"] == {"patient": site.patient}
    assert search.patient_ids == [site.patient]
    # One event read by its id: recorded too.
    before = site.last_event_id()
    one = officer.get(f"AuditEvent/{read['id']}")
    assert one.status_code == 200 and one.json()["id"] == read["id"]
    assert [e.action for e in events_after(site.db, before) if e.action.startswith("audit.")] == [
        "audit.read"
    ]


@pytest.mark.parametrize("who", ["dr.a", "sec.a", "it.admin"])
def test_others_are_refused_and_the_refusal_is_recorded(site: Site, fhir: Any, who: str) -> None:
    client = fhir(who)
    before = site.last_event_id()
    answer = client.get("AuditEvent", params={"patient": site.patient})
    assert answer.status_code == 403 and answer.json()["issue"][0]["code"] == "forbidden"
    assert client.get("AuditEvent/1").status_code == 403
    refusals = [
        (e.action, e.outcome) for e in events_after(site.db, before) if e.action != "token.use"
    ]
    assert refusals == [("audit.search", "denied"), ("audit.read", "denied")]


def test_agent_and_date_filters(site: Site, fhir: Any) -> None:
    fhir("sec.a").get("Condition", params={"patient": site.patient})  # refused: outcome 4
    officer = fhir("rssi.a")
    by_name = officer.get("AuditEvent", params={"agent": "sec.a"}).json()
    assert by_name["total"] >= 1
    assert all(
        r["resource"]["agent"][0]["who"]["identifier"]["value"] == "sec.a" for r in by_name["entry"]
    )
    denied = next(
        r["resource"]
        for r in by_name["entry"]
        if own_action(r["resource"]) == "fhir.condition.search"
    )
    assert denied["outcome"] == "4" and denied["outcomeDesc"]
    by_practitioner = officer.get(
        "AuditEvent", params={"agent": f"Practitioner/{site.world.physician}"}
    ).json()
    assert {r["resource"]["agent"][0]["who"]["identifier"]["value"] for r in
            by_practitioner.get("entry", [])} <= {"dr.a"}  # fmt: skip
    today = datetime.now(UTC).date()
    window = [
        f"ge{(today - timedelta(days=1)).isoformat()}",
        f"lt{(today + timedelta(days=2)).isoformat()}",
    ]
    assert (
        officer.get("AuditEvent", params={"agent": "sec.a", "date": window}).json()["total"]
        == by_name["total"]
    )
    past = officer.get("AuditEvent", params={"agent": "sec.a", "date": "2020-01-01"}).json()
    assert past["total"] == 0 and "entry" not in past


def test_paging_to_the_end(site: Site, fhir: Any) -> None:
    doctor = fhir("dr.a")
    for _ in range(4):
        doctor.get(f"Patient/{site.patient}")
    officer = fhir("rssi.a")  # its own searches are not dr.a's: the set stays still
    bundle = officer.get("AuditEvent", params={"agent": "dr.a", "_count": 2}).json()
    total, seen = bundle["total"], [e["resource"]["id"] for e in bundle["entry"]]
    assert total >= 5
    while nxt := next((lk["url"] for lk in bundle["link"] if lk["relation"] == "next"), None):
        bundle = officer.get(nxt.split("/fhir/", 1)[1]).json()
        seen += [e["resource"]["id"] for e in bundle.get("entry", [])]
    assert len(seen) == len(set(seen)) == total


def test_other_establishments_stay_out(site: Site, fhir: Any) -> None:
    other = patient_in_b(site)
    assert fhir("dr.b").get(f"Patient/{other}").status_code == 200
    theirs = site.last_event_id()
    (event,) = events_after(site.db, theirs - 1)
    assert (event.username, event.action) == ("dr.b", "fhir.patient.read")
    officer = fhir("rssi.a")
    assert officer.get("AuditEvent", params={"agent": "dr.b"}).json()["total"] == 0
    assert officer.get("AuditEvent", params={"patient": other}).json()["total"] == 0
    assert officer.get(f"AuditEvent/{theirs}").status_code == 404  # dr.b's read, by its id


def test_a_search_shows_its_criteria(site: Site, fhir: Any) -> None:
    fhir("sec.a").get("Patient", params={"family": "martin"})
    officer = fhir("rssi.a")
    bundle = officer.get("AuditEvent", params={"agent": "sec.a"}).json()
    search = next(
        r["resource"] for r in bundle["entry"] if own_action(r["resource"]) == "fhir.patient.search"
    )
    query = next(e for e in search["entity"] if e["role"]["code"] == "24")
    assert json.loads(base64.b64decode(query["query"]))["family"] == "MARTIN"


@pytest.mark.parametrize(
    "params",
    [{"patient": "abc"}, {"agent": "Organization/1"}, {"date": "yesterday"}, {"date": "ne2026-01-01"},
     {"colour": "red"}, {"date": ["ge2026-02-01", "lt2026-01-01"]}],
)  # fmt: skip
def test_bad_searches_are_400(site: Site, fhir: Any, params: dict[str, Any]) -> None:
    assert fhir("rssi.a").get("AuditEvent", params=params).status_code == 400


@pytest.mark.parametrize(
    ("action", "kind", "code"),
    [
        ("fhir.patient.read", "rest", "R"),
        ("fhir.allergy.search", "rest", "E"),
        ("allergy.record", "110110", "C"),
        ("prescription.status", "110110", "U"),
        ("chart.read", "110110", "R"),
        ("patient.search", "110110", "E"),
        ("break_glass", "110113", "E"),
        ("break_glass.review", "110101", "U"),
        ("audit.search", "110101", "E"),
        ("session.create", "110114", "E"),
        ("keys.rotate", "110100", "E"),
        ("fhir.request", "rest", "E"),
        ("fhir.patient.everything", "rest", "E"),
        ("hl7.adt.a01", "110110", "C"),
        ("hl7.adt.a40", "110110", "U"),
    ],
)
def test_actions_map_to_balp_types(action: str, kind: str, code: str) -> None:
    event_type, subtype, verb = kind_of(action)
    assert (event_type["code"], verb) == (kind, code)
    assert {"system": ACTION_SYSTEM, "code": action} in subtype
