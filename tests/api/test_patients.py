"""Patient data through HTTP, per role: search (identity summaries only), chart (blocks by
role and care relationship), break-the-glass, access history, and the review queue. The
gate decides; these tests check that its answers and refusals reach the client intact."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Site, add_patient
from tests.auth.conftest import events
from tests.factories import nir

REASON = {"reason_code": "emergency", "reason_text": "Malaise en salle d'attente"}
CLINICAL = {"allergies", "conditions", "notes", "prescriptions"}
SUMMARY_FIELDS = {
    "id", "birth_name", "used_name", "first_name", "sex", "birth_date", "identity_status",
    "establishment_ids",
}  # fmt: skip


def signed(site: Site, username: str) -> tuple[TestClient, dict[str, str]]:
    client, answer = site.sign_in(username)
    return client, {"X-CSRF-Token": answer["csrf_token"]}


# --- search -------------------------------------------------------------------------------
def test_search_returns_identity_summaries_only(site: Site) -> None:
    other = add_patient(site.db, site.world, birth_name="Martinez", order=2)
    client, _ = signed(site, "sec.a")
    answer = client.get("/api/patients", params={"name": "mart", "limit": 10})
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 2 and {p["id"] for p in body["patients"]} == {site.patient, other}
    for line in body["patients"]:
        assert set(line) == SUMMARY_FIELDS
    assert nir(sex=2) not in answer.text and "Pénicillines" not in answer.text
    event = events(site.db)[-1]
    assert (event.action, event.level, event.record_count) == ("patient.search", "summary", 2)
    assert sorted(event.patient_ids) == sorted([site.patient, other])
    assert event.details["criteria"]["name"] == "MART"


def test_search_criteria(site: Site) -> None:
    client, _ = signed(site, "dr.a")
    assert (
        client.get("/api/patients", params={"name": "martin", "first_name": "al"}).json()["count"]
        == 1
    )
    assert (
        client.get("/api/patients", params={"name": "martin", "first_name": "bo"}).json()["count"]
        == 0
    )
    dated = client.get("/api/patients", params={"name": "martin", "birth_date": "1980-05-03"})
    assert dated.json()["count"] == 1
    assert (
        client.get("/api/patients", params={"name": "martin", "birth_date": "1981-01-01"}).json()[
            "count"
        ]
        == 0
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"name": "m"}, "name"),
        ({}, "name"),
        ({"name": "martin", "limit": 0}, "limit"),
        ({"name": "martin", "limit": 51}, "limit"),
        ({"name": "martin", "limit": "ten"}, "limit"),
        ({"name": "martin", "birth_date": "03/05/1980"}, "birth_date"),
        ({"name": "x" * 101}, "name"),
    ],
)
def test_search_input_is_checked(site: Site, params: dict[str, Any], field: str) -> None:
    client, _ = signed(site, "sec.a")
    before = len(events(site.db))
    answer = client.get("/api/patients", params=params)
    assert answer.status_code == 422
    assert answer.json()["field"] == field and answer.json()["error"]
    assert len(events(site.db)) == before


def test_search_outside_my_establishments_finds_nothing(site: Site) -> None:
    client, _ = signed(site, "dr.b")
    assert client.get("/api/patients", params={"name": "martin"}).json() == {
        "count": 0,
        "patients": [],
    }


def test_it_admin_may_not_search(site: Site) -> None:
    client, _ = signed(site, "it.admin")
    answer = client.get("/api/patients", params={"name": "martin"})
    assert answer.status_code == 403
    assert answer.json() == {
        "error": "your roles do not allow searching patients", "field": None,
        "break_glass_possible": False,
    }  # fmt: skip
    event = events(site.db)[-1]
    assert (event.action, event.outcome, event.how) == ("patient.search", "denied", "api")
    assert event.reason == "no role allowed to search patients"


# --- chart --------------------------------------------------------------------------------
def test_physician_with_care_relationship_reads_the_clinical_record(site: Site) -> None:
    client, _ = signed(site, "dr.a")
    chart = client.get(f"/api/patients/{site.patient}").json()
    assert chart["notes"][0]["text"] == "Suivi : tout va bien."
    assert chart["allergies"][0]["substance"] == "Pénicillines"
    assert chart["withheld"] == {} and chart["break_glass_possible"] is False
    assert chart["basis"] == "appointment"
    assert "** ***" in chart["identity"]["nir"]  # masked: a physician does not need it
    event = events(site.db)[-1]
    assert (event.action, event.level, event.patient_ids, event.how) == (
        "chart.read", "record", [site.patient], "api",
    )  # fmt: skip


def test_secretary_sees_administration_not_clinical_content(site: Site) -> None:
    client, _ = signed(site, "sec.a")
    chart = client.get(f"/api/patients/{site.patient}").json()
    assert {"identity", "contact", "coverage", "appointments"} <= set(chart)
    assert not CLINICAL & set(chart)
    assert "Pénicillines" not in str(chart) and "tout va bien" not in str(chart)
    assert chart["identity"]["nir"] == nir(sex=2)  # coverage work needs it
    assert set(chart["withheld"]) == CLINICAL and chart["break_glass_possible"] is False


def test_nurse_without_relationship_breaks_the_glass(site: Site) -> None:
    client, csrf = signed(site, "ide.a")
    before = client.get(f"/api/patients/{site.patient}").json()
    assert not CLINICAL & set(before)
    assert set(before["withheld"]) == CLINICAL and before["break_glass_possible"] is True
    assert "break-the-glass" in before["withheld"]["notes"]

    short = client.post(
        f"/api/patients/{site.patient}/break-glass",
        json={"reason_code": "emergency", "reason_text": "vite"}, headers=csrf,
    )  # fmt: skip
    assert (short.status_code, short.json()["field"]) == (422, "reason_text")
    unknown = client.post(
        f"/api/patients/{site.patient}/break-glass", json={**REASON, "reason_code": "curiosity"},
        headers=csrf,
    )  # fmt: skip
    assert (unknown.status_code, unknown.json()["field"]) == (422, "reason_code")

    opened = client.post(f"/api/patients/{site.patient}/break-glass", json=REASON, headers=csrf)
    assert opened.status_code == 201
    grant = opened.json()
    assert (grant["patient_id"], grant["reason_code"]) == (site.patient, "emergency")
    after = client.get(f"/api/patients/{site.patient}").json()
    assert after["notes"][0]["text"] == "Suivi : tout va bien."
    assert after["basis"] == "break_the_glass" and after["break_glass_possible"] is False
    assert [e.action for e in events(site.db)[-2:]] == ["break_glass", "chart.read"]


def test_secretary_cannot_break_the_glass(site: Site) -> None:
    client, csrf = signed(site, "sec.a")
    answer = client.post(f"/api/patients/{site.patient}/break-glass", json=REASON, headers=csrf)
    assert answer.status_code == 403
    assert answer.json()["error"] == "your roles do not open clinical content"
    event = events(site.db)[-1]
    assert (event.action, event.outcome) == ("break_glass", "denied")


def test_it_admin_gets_nothing_on_patients(site: Site) -> None:
    client, csrf = signed(site, "it.admin")
    chart = client.get(f"/api/patients/{site.patient}")
    assert chart.status_code == 403 and "Martin" not in chart.text
    assert chart.json()["error"] == "the it_admin role may not read identity"
    glass = client.post(f"/api/patients/{site.patient}/break-glass", json=REASON, headers=csrf)
    assert glass.status_code == 403
    history = client.get(f"/api/patients/{site.patient}/access-history")
    assert history.status_code == 403
    assert [(e.action, e.outcome) for e in events(site.db)[-3:]] == [
        ("chart.read", "denied"), ("break_glass", "denied"), ("patient.access_history", "denied"),
    ]  # fmt: skip


def test_outside_my_establishments_a_patient_does_not_exist(site: Site) -> None:
    client, csrf = signed(site, "dr.b")
    for answer in (
        client.get(f"/api/patients/{site.patient}"),
        client.post(f"/api/patients/{site.patient}/break-glass", json=REASON, headers=csrf),
        client.get(f"/api/patients/{site.patient}/access-history"),
    ):
        assert answer.status_code == 404
        assert answer.json() == {
            "error": f"patient #{site.patient} does not exist", "field": "patient_id",
        }  # fmt: skip
    assert [e.outcome for e in events(site.db)[-3:]] == ["denied"] * 3


def test_unknown_patient_is_not_found_and_recorded(site: Site) -> None:
    client, _ = signed(site, "dr.a")
    answer = client.get("/api/patients/424242")
    assert answer.status_code == 404
    event = events(site.db)[-1]
    assert (event.action, event.outcome, event.patient_ids) == ("chart.read", "denied", [424242])


def test_security_officer_reads_identity_not_clinical_content(site: Site) -> None:
    client, _ = signed(site, "rssi.a")
    chart = client.get(f"/api/patients/{site.patient}").json()
    assert set(chart) & {"identity", *CLINICAL, "contact"} == {"identity"}
    assert chart["break_glass_possible"] is False


# --- access history -----------------------------------------------------------------------
def test_security_officer_reads_the_access_history(site: Site) -> None:
    doctor, _ = signed(site, "dr.a")
    doctor.get(f"/api/patients/{site.patient}")
    nurse, csrf = signed(site, "ide.a")
    nurse.post(f"/api/patients/{site.patient}/break-glass", json=REASON, headers=csrf)
    officer, _ = signed(site, "rssi.a")
    answer = officer.get(f"/api/patients/{site.patient}/access-history")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["patient_id"] == site.patient
    assert [(a["who"], a["action"], a["how"]) for a in body["accesses"]] == [
        ("ide.a", "break_glass", "api"), ("dr.a", "chart.read", "api"),
    ]  # fmt: skip
    assert body["accesses"][0]["why"] == "break_the_glass:emergency"
    page = officer.get(f"/api/patients/{site.patient}/access-history.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Historique des accès" in page.text and "ide.a" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    # Reading the history is itself in the history.
    again = officer.get(f"/api/patients/{site.patient}/access-history").json()
    assert [a["action"] for a in again["accesses"][:2]] == ["patient.access_history"] * 2


def test_clinicians_do_not_read_the_access_history(site: Site) -> None:
    client, _ = signed(site, "dr.a")
    for suffix in ("access-history", "access-history.html"):
        answer = client.get(f"/api/patients/{site.patient}/{suffix}")
        assert answer.status_code == 403
        assert "security officer" in answer.json()["error"]
        assert (
            events(site.db)[-1].reason == "not a security officer of the patient's establishments"
        )


# --- review of break-the-glass ------------------------------------------------------------
def test_review_queue(site: Site) -> None:
    nurse, csrf = signed(site, "ide.a")
    grant = nurse.post(
        f"/api/patients/{site.patient}/break-glass", json=REASON, headers=csrf
    ).json()
    officer, officer_csrf = signed(site, "rssi.a")
    pending = officer.get("/api/break-glass/pending").json()["pending"]
    assert [(g["id"], g["patient_id"], g["reason_code"]) for g in pending] == [
        (grant["id"], site.patient, "emergency"),
    ]  # fmt: skip
    url = f"/api/break-glass/{grant['id']}/review"
    bad = officer.post(url, json={"verdict": "maybe", "comment": "?"}, headers=officer_csrf)
    assert (bad.status_code, bad.json()["field"]) == (422, "verdict")
    done = officer.post(
        url,
        json={"verdict": "justified", "comment": "Appel du SAMU confirmé"},
        headers=officer_csrf,
    )
    assert done.status_code == 200
    assert (done.json()["verdict"], done.json()["comment"]) == (
        "justified",
        "Appel du SAMU confirmé",
    )
    event = events(site.db)[-1]
    assert (event.action, event.patient_ids, event.details["verdict"]) == (
        "break_glass.review", [site.patient], "justified",
    )  # fmt: skip
    twice = officer.post(
        url, json={"verdict": "unjustified", "comment": "non"}, headers=officer_csrf
    )
    assert (twice.status_code, twice.json()["field"]) == (409, "grant_id")
    assert officer.get("/api/break-glass/pending").json() == {"pending": []}
    missing = officer.post("/api/break-glass/999/review", json={"verdict": "justified", "comment": "x"},
                           headers=officer_csrf)  # fmt: skip
    assert missing.status_code == 404


def test_only_security_officers_review(site: Site) -> None:
    nurse, csrf = signed(site, "ide.a")
    grant = nurse.post(
        f"/api/patients/{site.patient}/break-glass", json=REASON, headers=csrf
    ).json()
    doctor, doctor_csrf = signed(site, "dr.a")
    assert doctor.get("/api/break-glass/pending").status_code == 403
    answer = doctor.post(
        f"/api/break-glass/{grant['id']}/review", json={"verdict": "justified", "comment": "ok"},
        headers=doctor_csrf,
    )  # fmt: skip
    assert answer.status_code == 403
    assert (events(site.db)[-1].action, events(site.db)[-1].outcome) == (
        "break_glass.review", "denied",
    )  # fmt: skip
