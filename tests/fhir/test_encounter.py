"""FHIR Encounter through the gate: read and search of a patient's stays (consultations and
hospital stays) by day and status, with paging to the end; refusals recorded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from hygie.kit.time import PARIS
from hygie.stays import service as stays
from tests.api.conftest import Site
from tests.fhir.conftest import events_after
from tests.fhir.test_appointment import pages


def days_ago(site: Site, days: int, hour: int = 9) -> datetime:
    day = (site.clock.now.astimezone(PARIS) - timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


@pytest.fixture
def visits(site: Site) -> dict[str, Any]:
    """Five past consultations (days 50, 40, 30, 20, 10 ago) and a stay in progress
    (admitted five days ago) of the site's patient, all in establishment A."""
    w = site.world
    with site.db.transaction() as s:
        done = [
            stays.record_visit(
                s, patient_id=site.patient, establishment_id=w.est_a, department_id=w.dept_a,
                responsible_id=w.physician, at=days_ago(site, d), duration_min=30,
                reason=f"Consultation {d}",
            ).id
            for d in (50, 40, 30, 20, 10)
        ]  # fmt: skip
        stay = stays.admit(
            s, patient_id=site.patient, establishment_id=w.est_a, department_id=w.dept_a,
            responsible_id=w.physician, at=days_ago(site, 5), reason="Pneumopathie",
        ).id  # fmt: skip
    return {"done": done, "stay": stay}


def test_read_is_audited(site: Site, fhir: Any, visits: dict[str, Any]) -> None:
    client = fhir("ide.a")  # a nurse reads stays without a care relationship (not clinical)
    before = site.last_event_id()
    answer = client.get(f"Encounter/{visits['stay']}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "in-progress" and body["class"]["code"] == "IMP"
    assert body["subject"] == {"reference": f"Patient/{site.patient}"}
    assert body["serviceProvider"] == {"reference": f"Organization/{site.world.est_a}"}
    assert body["participant"][0]["individual"] == {
        "reference": f"Practitioner/{site.world.physician}"
    }
    assert "end" not in body["period"] and body["reasonCode"] == [{"text": "Pneumopathie"}]
    (read,) = [e for e in events_after(site.db, before) if e.action != "token.use"]
    assert (read.action, read.outcome, read.how, read.level, read.patient_ids) == (
        "fhir.encounter.read", "allowed", "api", "record", [site.patient],
    )  # fmt: skip
    visit = client.get(f"Encounter/{visits['done'][0]}").json()
    assert visit["status"] == "finished" and visit["class"]["code"] == "AMB"
    assert "end" in visit["period"]


def test_search_pages_to_the_end(site: Site, fhir: Any, visits: dict[str, Any]) -> None:
    client = fhir("sec.a")
    before = site.last_event_id()
    total, found = pages(client, "Encounter", {"patient": site.patient, "_count": 4})
    assert total == 6
    assert [int(r["id"]) for r in found] == [*visits["done"], visits["stay"]]
    searches = [e for e in events_after(site.db, before) if e.action == "fhir.encounter.search"]
    assert [e.record_count for e in searches] == [4, 2]
    assert all(e.level == "record" and e.how == "api" for e in searches)
    assert searches[0].details["total"] == 6


def test_date_and_status(site: Site, fhir: Any, visits: dict[str, Any]) -> None:
    client = fhir("sec.a")

    def ids(**params: Any) -> list[int]:
        bundle = client.get("Encounter", params={"patient": site.patient, **params}).json()
        return [int(e["resource"]["id"]) for e in bundle.get("entry", [])]

    since = days_ago(site, 25).date().isoformat()
    assert ids(date=f"ge{since}") == [*visits["done"][3:], visits["stay"]]
    assert (
        ids(date=[f"ge{since}", f"lt{days_ago(site, 6).date().isoformat()}"]) == visits["done"][3:]
    )
    assert ids(date=days_ago(site, 30).date().isoformat()) == [visits["done"][2]]
    # The stay in progress overlaps today.
    assert ids(date=site.clock.now.astimezone(PARIS).date().isoformat()) == [visits["stay"]]
    assert ids(status="in-progress") == [visits["stay"]]
    assert ids(status="finished") == visits["done"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"status": "finished"},
        {"patient": "1", "status": "planned"},
        {"patient": "1", "date": "sa2026-01-01"},
        {"patient": "1", "practitioner": "1"},
        {"patient": "Encounter/1"},
    ],
)
def test_bad_searches_are_400(site: Site, fhir: Any, params: dict[str, Any]) -> None:
    assert fhir("sec.a").get("Encounter", params=params).status_code == 400


def test_refusals(site: Site, fhir: Any, visits: dict[str, Any]) -> None:
    billing = fhir("fact.a")
    before = site.last_event_id()
    assert billing.get("Encounter", params={"patient": site.patient}).status_code == 403
    assert billing.get(f"Encounter/{visits['stay']}").status_code == 403
    denials = [e for e in events_after(site.db, before) if e.action != "token.use"]
    assert [(e.action, e.outcome) for e in denials] == [
        ("fhir.encounter.search", "denied"), ("fhir.encounter.read", "denied"),
    ]  # fmt: skip
    outside = fhir("dr.b")
    assert outside.get("Encounter", params={"patient": site.patient}).json()["total"] == 0
    assert outside.get(f"Encounter/{visits['stay']}").status_code == 404
    assert outside.get("Encounter/99999").status_code == 404


def test_no_writes(site: Site, fhir: Any) -> None:
    client = fhir("sec.a", "write")
    answer = client.post("Encounter", {"resourceType": "Encounter", "status": "planned",
                                       "class": {"code": "AMB"}})  # fmt: skip
    assert answer.status_code == 405
