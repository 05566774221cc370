"""FHIR Patient through the gate: read, search with paging, create, update; every
interaction recorded with how = api; errors as OperationOutcome."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from hygie.fhir import systems
from hygie.patients import service as patients
from tests.api.conftest import Site
from tests.factories import finess, nir
from tests.fhir.conftest import events_after, outcome_of


def test_metadata_tells_what_is_supported(site: Site, fhir: Any) -> None:
    body = fhir("dr.a").get("metadata").json()
    assert body["fhirVersion"] == "4.0.1"
    (rest,) = body["rest"]
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    assert {i["code"] for i in patient["interaction"]} == {
        "read",
        "search-type",
        "create",
        "update",
    }
    assert {p["name"] for p in patient["searchParam"]} >= {"family", "given", "name", "birthdate",
                                                          "identifier", "gender"}  # fmt: skip
    assert "X-Break-Glass-Reason" in rest["security"]["description"]


def test_read_is_audited_and_hides_the_nir_from_physicians(site: Site, fhir: Any) -> None:
    client = fhir("dr.a")
    before = site.last_event_id()
    answer = client.get(f"Patient/{site.patient}")
    assert answer.status_code == 200 and answer.headers["etag"].startswith('W/"')
    body = answer.json()
    assert body["name"][0] == {"use": "official", "family": "Martin", "given": ["Alice"]}
    assert body["birthDate"] == "1980-05-03" and body["gender"] == "female"
    assert not any(i["system"] == systems.INS_NIR for i in body["identifier"])
    assert any(i["system"] == systems.ipp_system(finess(1)) for i in body["identifier"])
    (read,) = events_after(site.db, before)  # one event: the access names its token
    assert (read.action, read.outcome, read.how, read.level, read.patient_ids) == (
        "fhir.patient.read", "allowed", "api", "record", [site.patient],
    )  # fmt: skip
    assert read.token_id is not None and read.ip and read.user_agent == "pytest-fhir"


def test_a_request_refused_before_the_gate_is_recorded_too(site: Site, fhir: Any) -> None:
    client = fhir("sec.a")
    before = site.last_event_id()
    assert client.get("Patient", params={"colour": "blue"}).status_code == 400
    (event,) = events_after(site.db, before)
    assert (event.action, event.outcome, event.reason) == ("fhir.request", "failed", "HTTP 400")
    assert event.details["request"] == "GET /fhir/Patient?colour=blue" and event.token_id


def test_refused_tokens_are_recorded(site: Site, fhir: Any) -> None:
    before = site.last_event_id()
    answer = site.client().get("/fhir/Patient/1", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401
    (event,) = events_after(site.db, before)
    assert (event.action, event.outcome) == ("token.use", "denied")


def test_secretary_gets_the_nir(site: Site, fhir: Any) -> None:
    body = fhir("sec.a").get(f"Patient/{site.patient}").json()
    ins = [i for i in body["identifier"] if i["system"] == systems.INS_NIR]
    assert [i["value"] for i in ins] == [nir(sex=2)]


@pytest.mark.parametrize(("who", "status"), [("dr.b", 404), ("it.admin", 403)])
def test_read_refused_outside_scope_or_role(site: Site, fhir: Any, who: str, status: int) -> None:
    client = fhir(who)
    before = site.last_event_id()
    answer = client.get(f"Patient/{site.patient}")
    assert answer.status_code == status
    assert answer.json()["issue"][0]["code"] == ("not-found" if status == 404 else "forbidden")
    assert events_after(site.db, before)[-1].outcome == "denied"


def test_unknown_ids_and_paths_are_404_outcomes(site: Site, fhir: Any) -> None:
    client = fhir("dr.a")
    assert client.get("Patient/abc").status_code == 404
    assert client.get("Patient/99999999999").status_code == 404
    assert client.get("Nothing/1").status_code == 404


def test_no_token_is_401_with_an_outcome(site: Site) -> None:
    answer = site.client().get(f"/fhir/Patient/{site.patient}")
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")
    assert "Bearer" in outcome_of(answer)


@pytest.fixture
def dupont(site: Site) -> list[int]:
    ids = []
    with site.db.transaction() as s:
        for i in range(7):
            ids.append(
                patients.create_patient(
                    s, establishment_id=site.world.est_a, birth_name="Dupont",
                    birth_first_names=[f"Jean{chr(65 + i)}"], sex="male",
                    birth_date=date(1960 + i, 2, 1),
                ).patient.id
            )  # fmt: skip
    return ids


def test_search_pages_to_the_end(site: Site, fhir: Any, dupont: list[int]) -> None:
    client = fhir("sec.a")
    before = site.last_event_id()
    bundle = client.get("Patient", params={"family": "dupont", "_count": 3}).json()
    assert bundle["type"] == "searchset" and bundle["total"] == 7
    seen = [e["resource"]["id"] for e in bundle["entry"]]
    while nxt := next((lk["url"] for lk in bundle["link"] if lk["relation"] == "next"), None):
        bundle = client.get(nxt.split("/fhir/", 1)[1]).json()
        seen += [e["resource"]["id"] for e in bundle.get("entry", [])]
    assert sorted(map(int, seen)) == sorted(dupont)
    first = bundle["entry"][0]["resource"]
    assert first["meta"]["tag"][0]["code"] == "SUBSETTED"
    assert set(first) <= {"resourceType", "id", "meta", "name", "gender", "birthDate",
                          "managingOrganization"}  # fmt: skip
    searches = [e for e in events_after(site.db, before) if e.action == "fhir.patient.search"]
    assert [e.record_count for e in searches] == [3, 3, 1]
    assert all(e.level == "summary" and e.how == "api" for e in searches)


def test_search_parameters(site: Site, fhir: Any, dupont: list[int]) -> None:
    client = fhir("sec.a")
    one = client.get(
        "Patient", params={"family": "dupont", "given": "jeanb", "birthdate": "1961-02-01"}
    )
    assert [e["resource"]["id"] for e in one.json()["entry"]] == [str(dupont[1])]
    by_nir = client.get("Patient", params={"identifier": f"{systems.INS_NIR}|{nir(sex=2)}"})
    assert by_nir.json()["total"] == 1
    assert client.get("Patient", params={"name": "dupont", "gender": "female"}).json()["total"] == 0
    assert client.get("Patient", params={"_count": 500, "family": "dupont"}).json()["total"] == 7


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"birthdate": "1961-02-01"},
        {"family": "d"},
        {"family": "dupont", "birthdate": "ge1961-02-01"},
        {"family": "dupont", "birthdate": "1961-13-01"},
        {"family": "dupont", "colour": "blue"},
        {"identifier": "http://example.org|123"},
        {"family": "dupont", "_count": -1},
        {"family": "dupont", "gender": "other"},
    ],
)
def test_bad_searches_are_400(site: Site, fhir: Any, params: dict[str, Any]) -> None:
    answer = fhir("sec.a").get("Patient", params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["issue"][0]["severity"] == "error"


def new_patient(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": "Lefèvre", "given": ["Zoé", "Anne"]}],
        "gender": "female",
        "birthDate": "1992-07-14",
        "telecom": [{"system": "phone", "value": "0612345678", "use": "mobile"}],
        "address": [{"line": ["3 rue des Lilas"], "postalCode": "75011", "city": "Paris"}],
        **extra,
    }


def test_create_then_update_contact(site: Site, fhir: Any) -> None:
    client = fhir("sec.a", "write")
    before = site.last_event_id()
    created = client.post("Patient", new_patient())
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"].endswith(f"/fhir/Patient/{body['id']}")
    assert body["address"][0]["city"] == "Paris"
    actions = [
        (e.action, e.outcome) for e in events_after(site.db, before) if e.action != "token.use"
    ]
    assert actions == [("patient.create", "allowed"), ("fhir.patient.read", "allowed")]
    body["telecom"] = [{"system": "email", "value": "zoe@example.org"}]
    updated = client.put(
        f"Patient/{body['id']}", body, headers={"If-Match": created.headers["etag"]}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["telecom"] == [
        {"system": "email", "value": "zoe@example.org", "use": "home"}
    ]
    stale = client.put(f"Patient/{body['id']}", body, headers={"If-Match": created.headers["etag"]})
    assert stale.status_code == 412


def test_writes_need_a_write_token(site: Site, fhir: Any) -> None:
    answer = fhir("sec.a", "read").post("Patient", new_patient())
    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("resource", "status"),
    [
        (new_patient(gender="other"), 422),
        (new_patient(birthDate="1992"), 422),
        (new_patient(name=[{"use": "official", "given": ["Zoé"]}]), 422),
        (new_patient(birthDate="not a date"), 400),
        ({"resourceType": "Observation", "status": "final"}, 400),
        (new_patient(managingOrganization={"reference": "Organization/9999"}), 403),
    ],
)
def test_bad_resources_are_refused_and_nothing_is_written(
    site: Site, fhir: Any, resource: dict[str, Any], status: int
) -> None:
    client = fhir("sec.a", "write")
    answer = client.post("Patient", resource)
    assert answer.status_code == status, answer.text
    assert client.get("Patient", params={"family": "lefevre"}).json()["total"] == 0


def test_not_json_is_400(site: Site, fhir: Any) -> None:
    client = fhir("sec.a", "write")
    answer = client.request(
        "POST", "Patient", content=b"{nope", headers={"Content-Type": "application/fhir+json"}
    )
    assert answer.status_code == 400


def test_update_corrects_identity_traits_and_records_it(site: Site, fhir: Any) -> None:
    client = fhir("sec.a", "write")
    created = client.post("Patient", new_patient()).json()
    created["name"] = [{"use": "official", "family": "Lefebvre", "given": ["Zoé", "Anne"]},
                       {"use": "usual", "family": "Martin", "given": ["Zoé"]}]  # fmt: skip
    before = site.last_event_id()
    answer = client.put(f"Patient/{created['id']}", created)
    assert answer.status_code == 200, answer.text
    assert [n["family"] for n in answer.json()["name"]] == ["Lefebvre", "Martin"]
    writes = [e.action for e in events_after(site.db, before) if e.action.startswith("patient.")]
    assert writes == ["patient.identity.update"]


def test_a_qualified_identity_keeps_its_traits(site: Site, fhir: Any) -> None:
    client = fhir("sec.a", "write")
    body = client.get(f"Patient/{site.patient}").json()
    body["birthDate"] = "1981-05-03"
    answer = client.put(f"Patient/{site.patient}", body)
    assert answer.status_code == 409, answer.text  # the INS service is its source
    assert client.get(f"Patient/{site.patient}").json()["birthDate"] == "1980-05-03"


def test_a_nurse_may_not_correct_an_identity(site: Site, fhir: Any) -> None:
    body = fhir("sec.a").get(f"Patient/{site.patient}").json()
    body["gender"] = "male"
    answer = fhir("ide.a", "write").put(f"Patient/{site.patient}", body)
    assert answer.status_code in (403, 422)
