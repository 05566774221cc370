"""FHIR Practitioner, PractitionerRole and Organization: the directory, read and searched
through the gate by any account holding a habilitation valid today (IT administrators and
security officers included), every access recorded without a patient."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from hygie.fhir import systems
from hygie.staff import service as staff
from tests.api.conftest import Site
from tests.factories import DAY0, finess, rpps
from tests.fhir.conftest import events_after
from tests.fhir.test_appointment import pages


def only_access(site: Site, before: int) -> Any:
    (event,) = [e for e in events_after(site.db, before) if e.action != "token.use"]
    return event


def test_metadata_declares_the_directory(site: Site, fhir: Any) -> None:
    rest = fhir("it.admin").get("metadata").json()["rest"][0]
    declared = {r["type"]: {p["name"] for p in r.get("searchParam", [])} for r in rest["resource"]}
    assert declared["Practitioner"] == {"family", "identifier"}
    assert declared["PractitionerRole"] == {"practitioner", "organization"}
    assert declared["Organization"] == {"name", "identifier"}


@pytest.mark.parametrize("who", ["it.admin", "rssi.a", "dr.b"])
def test_read_practitioner(site: Site, fhir: Any, who: str) -> None:
    client = fhir(who)
    before = site.last_event_id()
    answer = client.get(f"Practitioner/{site.world.physician}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["identifier"] == [{"use": "official", "system": systems.RPPS, "value": rpps(1)}]
    assert body["name"] == [{"use": "official", "family": "NomB", "given": ["Prénom"],
                             "prefix": ["Dr"]}]  # fmt: skip
    event = only_access(site, before)
    assert (event.action, event.outcome, event.how, event.patient_ids, event.categories) == (
        "fhir.practitioner.read", "allowed", "api", [], ["directory"],
    )  # fmt: skip
    assert event.details["resource"] == f"practitioner/{site.world.physician}"


def test_practitioner_search_pages_to_the_end(site: Site, fhir: Any) -> None:
    client = fhir("sec.a")
    before = site.last_event_id()
    total, found = pages(client, "Practitioner", {"family": "nom", "_count": 2})
    assert total == 5 and len(found) == 5
    assert [r["name"][0]["family"] for r in found] == ["NomB", "NomC", "NomD", "NomE", "NomF"]
    searches = [e for e in events_after(site.db, before) if e.action == "fhir.practitioner.search"]
    assert [e.record_count for e in searches] == [2, 2, 1]
    assert all(e.patient_ids == [] and e.how == "api" for e in searches)
    by_rpps = client.get("Practitioner", params={"identifier": f"{systems.RPPS}|{rpps(3)}"})
    assert [e["resource"]["id"] for e in by_rpps.json()["entry"]] == [str(site.world.nurse)]
    assert client.get("Practitioner", params={"family": "NomD"}).json()["total"] == 1
    assert client.get("Practitioner", params={"family": "zz"}).json()["total"] == 0


def test_roles(site: Site, fhir: Any) -> None:
    client = fhir("it.admin")
    mine = client.get("PractitionerRole", params={"practitioner": site.world.physician}).json()
    (entry,) = mine["entry"]
    role = entry["resource"]
    assert role["practitioner"] == {"reference": f"Practitioner/{site.world.physician}"}
    assert role["organization"] == {"reference": f"Organization/{site.world.est_a}"}
    assert role["code"][0]["coding"][0]["code"] == "physician" and role["active"] is True
    assert role["period"] == {"start": DAY0.isoformat()}
    before = site.last_event_id()
    assert client.get(f"PractitionerRole/{role['id']}").json() == role
    assert only_access(site, before).action == "fhir.role.read"
    # Accounts without a professional (the IT administrator...) are no PractitionerRole.
    total, found = pages(
        client, "PractitionerRole", {"organization": f"Organization/{site.world.est_a}",
                                     "_count": 2})  # fmt: skip
    assert total == 3
    assert sorted(r["code"][0]["coding"][0]["code"] for r in found) == [
        "nurse", "physician", "secretary",
    ]  # fmt: skip


def test_an_ended_habilitation_is_an_inactive_role(site: Site, fhir: Any) -> None:
    with site.db.transaction() as s:
        user = staff.create_user(s, username="dr.old", display_name="dr.old",
                                 professional_id=site.world.gp)  # fmt: skip
        staff.grant_habilitation(s, user_id=user.id, establishment_id=site.world.est_b,
                                 role="physician", valid_from=DAY0,
                                 valid_until=date(2021, 1, 1))  # fmt: skip
    roles = fhir("sec.a").get("PractitionerRole", params={"practitioner": site.world.gp}).json()
    (entry,) = roles["entry"]
    assert entry["resource"]["active"] is False
    assert entry["resource"]["period"]["end"] == "2021-01-01"


def test_organizations(site: Site, fhir: Any) -> None:
    client = fhir("rssi.a")
    before = site.last_event_id()
    body = client.get(f"Organization/{site.world.est_a}").json()
    assert body["identifier"] == [{"use": "official", "system": systems.FINESS,
                                   "value": finess(1)}]  # fmt: skip
    assert body["name"] == "Clinique A" and body["address"][0]["city"] == "Paris"
    assert only_access(site, before).action == "fhir.organization.read"
    total, found = pages(client, "Organization", {"name": "clinique", "_count": 1})
    assert total == 2 and [r["name"] for r in found] == ["Clinique A", "Clinique B"]
    by_finess = client.get("Organization", params={"identifier": f"{systems.FINESS}|{finess(2)}"})
    assert [e["resource"]["name"] for e in by_finess.json()["entry"]] == ["Clinique B"]
    assert client.get("Organization", params={"name": "boulogne"}).json()["total"] == 0


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("Practitioner", {"identifier": "http://example.org|1"}),
        ("Practitioner", {"name": "x"}),
        ("Practitioner", {"family": ""}),
        ("PractitionerRole", {"practitioner": "Patient/1"}),
        ("Organization", {"identifier": f"{systems.RPPS}|1"}),
        ("Organization", {"type": "prov"}),
    ],
)
def test_bad_searches_are_400(site: Site, fhir: Any, path: str, params: dict[str, Any]) -> None:
    assert fhir("sec.a").get(path, params=params).status_code == 400


@pytest.mark.parametrize("path", ["Practitioner/99999", "PractitionerRole/99999",
                                  "Organization/99999", "Practitioner/x"])  # fmt: skip
def test_missing_entries_are_404_and_recorded(site: Site, fhir: Any, path: str) -> None:
    client = fhir("sec.a")
    before = site.last_event_id()
    assert client.get(path).status_code == 404
    if path[-1].isdigit():
        event = only_access(site, before)
        assert (event.outcome, event.record_count) == ("failed", 0)


def test_an_account_without_a_habilitation_today_is_refused(site: Site, fhir: Any) -> None:
    with site.db.transaction() as s:
        user = staff.create_user(s, username="gone", display_name="gone")
        staff.grant_habilitation(s, user_id=user.id, establishment_id=site.world.est_a,
                                 role="secretary", valid_from=DAY0,
                                 valid_until=date(2021, 1, 1))  # fmt: skip
    client = fhir("gone")
    for path in (f"Organization/{site.world.est_a}", "Practitioner?family=nom"):
        before = site.last_event_id()
        answer = client.get(path)
        assert answer.status_code == 403, answer.text
        event = only_access(site, before)
        assert (event.outcome, event.username, event.how) == ("denied", "gone", "api")
