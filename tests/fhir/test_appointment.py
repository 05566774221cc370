"""FHIR Appointment through the gate: read, search (a patient's list, a practitioner's
agenda) with paging to the end, create and update (move, cancel, status) with their
refusals; every access recorded with how = api."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from hygie.kit.time import PARIS
from hygie.scheduling import service as scheduling
from tests.api.conftest import Site
from tests.fhir.conftest import events_after, outcome_of

ESTABLISHMENT = "https://hygie.invalid/fhir/StructureDefinition/establishment"


def later(site: Site, days: int, hour: int = 10) -> datetime:
    """A day ``days`` ahead of the site's clock, at ``hour`` (Paris)."""
    day = (site.clock.now.astimezone(PARIS) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


def pages(client: Any, path: str, params: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """Every resource of a search, page after page by the next links; and the total."""
    bundle = client.get(path, params=params).json()
    total, found = bundle["total"], [e["resource"] for e in bundle.get("entry", [])]
    while nxt := next((lk["url"] for lk in bundle["link"] if lk["relation"] == "next"), None):
        bundle = client.get(nxt.split("/fhir/", 1)[1]).json()
        found += [e["resource"] for e in bundle.get("entry", [])]
    return total, found


@pytest.fixture
def agenda(site: Site) -> list[int]:
    """Six more appointments of the site's patient with Dr A, days 10 to 15 ahead."""
    ids = []
    with site.db.transaction() as s:
        for n in range(6):
            ids.append(
                scheduling.book_appointment(
                    s, patient_id=site.patient, practitioner_id=site.world.physician,
                    establishment_id=site.world.est_a, start_at=later(site, 10 + n),
                    duration_min=30, reason=f"Contrôle {n}",
                ).id
            )  # fmt: skip
    return ids


def first_appointment(site: Site, client: Any) -> dict[str, Any]:
    bundle = client.get("Appointment", params={"patient": site.patient, "_count": 1}).json()
    return dict(bundle["entry"][0]["resource"])


def test_metadata_declares_appointment(site: Site, fhir: Any) -> None:
    rest = fhir("dr.a").get("metadata").json()["rest"][0]
    spec = next(r for r in rest["resource"] if r["type"] == "Appointment")
    assert {i["code"] for i in spec["interaction"]} == {"read", "search-type", "create", "update"}
    assert {p["name"] for p in spec["searchParam"]} == {"patient", "date", "practitioner", "status"}


def test_read_is_audited(site: Site, fhir: Any) -> None:
    client = fhir("dr.a")
    appointment = first_appointment(site, client)
    before = site.last_event_id()
    answer = client.get(f"Appointment/{appointment['id']}")
    assert answer.status_code == 200 and answer.headers["etag"].startswith('W/"')
    body = answer.json()
    assert body["status"] == "booked" and body["minutesDuration"] == 20
    actors = [p["actor"]["reference"] for p in body["participant"]]
    assert actors == [f"Patient/{site.patient}", f"Practitioner/{site.world.physician}"]
    assert body["extension"][0]["valueReference"]["reference"] == f"Organization/{site.world.est_a}"
    assert body["reasonCode"] == [{"text": "Suivi"}]
    (read,) = [e for e in events_after(site.db, before) if e.action != "token.use"]
    assert (read.action, read.outcome, read.how, read.level, read.patient_ids) == (
        "fhir.appointment.read", "allowed", "api", "record", [site.patient],
    )  # fmt: skip


def test_patient_search_pages_to_the_end(site: Site, fhir: Any, agenda: list[int]) -> None:
    client = fhir("sec.a")
    before = site.last_event_id()
    total, found = pages(client, "Appointment", {"patient": f"Patient/{site.patient}",
                                                 "_count": 3})  # fmt: skip
    assert total == 7 and len(found) == 7
    assert [int(r["id"]) for r in found][1:] == agenda  # by start time
    searches = [e for e in events_after(site.db, before) if e.action == "fhir.appointment.search"]
    assert [e.record_count for e in searches] == [3, 3, 1]
    assert all(
        e.level == "record" and e.how == "api" and e.patient_ids == [site.patient] for e in searches
    )
    assert searches[0].details["criteria"] == {"patient_id": site.patient}


def test_practitioner_agenda_is_a_summary_list(site: Site, fhir: Any, agenda: list[int]) -> None:
    client = fhir("sec.a")
    before = site.last_event_id()
    day = later(site, 12).date()
    params = {"practitioner": f"Practitioner/{site.world.physician}", "date": [
        f"ge{day.isoformat()}", f"lt{(day + timedelta(days=2)).isoformat()}"]}  # fmt: skip
    bundle = client.get("Appointment", params=params).json()
    assert bundle["total"] == 2
    assert [int(e["resource"]["id"]) for e in bundle["entry"]] == agenda[2:4]
    (event,) = [e for e in events_after(site.db, before) if e.action == "fhir.appointment.search"]
    assert (event.level, event.patient_ids, event.record_count) == ("summary", [site.patient], 2)
    assert event.details["criteria"]["start"] == day.isoformat()
    one_day = client.get("Appointment", params={"practitioner": site.world.physician,
                                                "date": day.isoformat()}).json()  # fmt: skip
    assert one_day["total"] == 1


def test_status_filter(site: Site, fhir: Any, agenda: list[int]) -> None:
    client = fhir("sec.a", "write")
    current = client.get(f"Appointment/{agenda[0]}").json()
    current["status"] = "cancelled"
    current["cancelationReason"] = {"text": "Empêchement du patient"}
    assert client.put(f"Appointment/{agenda[0]}", current).status_code == 200
    cancelled = client.get("Appointment", params={"patient": site.patient, "status": "cancelled"})
    assert [e["resource"]["id"] for e in cancelled.json()["entry"]] == [str(agenda[0])]
    either = client.get(
        "Appointment", params={"patient": site.patient, "status": "booked,cancelled"}
    )
    assert either.json()["total"] == 7


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"date": "2026-01-01"},
        {"patient": "abc"},
        {"patient": "Practitioner/1"},
        {"patient": "1", "date": "ne2026-01-01"},
        {"patient": "1", "date": "2026-13-01"},
        {"patient": "1", "status": "proposed"},
        {"patient": "1", "colour": "blue"},
        {"patient": "1", "_count": -1},
    ],
)
def test_bad_searches_are_400(site: Site, fhir: Any, params: dict[str, Any]) -> None:
    answer = fhir("sec.a").get("Appointment", params=params)
    assert answer.status_code == 400, answer.text


def test_billing_officer_is_refused_and_the_refusal_recorded(site: Site, fhir: Any) -> None:
    appointment = first_appointment(site, fhir("dr.a"))
    client = fhir("fact.a")
    for path, params in [
        ("Appointment", {"patient": site.patient}),
        ("Appointment", {"practitioner": site.world.physician}),
        (f"Appointment/{appointment['id']}", {}),
    ]:
        before = site.last_event_id()
        answer = client.get(path, params=params)
        assert answer.status_code == 403, answer.text
        assert answer.json()["issue"][0]["code"] == "forbidden"
        denial = events_after(site.db, before)[-1]
        assert (denial.outcome, denial.how, denial.username) == ("denied", "api", "fact.a")
        assert denial.action in ("fhir.appointment.search", "fhir.appointment.read")


def test_outside_the_establishment_nothing_is_found(site: Site, fhir: Any) -> None:
    appointment = first_appointment(site, fhir("dr.a"))
    client = fhir("dr.b")
    before = site.last_event_id()
    assert client.get("Appointment", params={"patient": site.patient}).json()["total"] == 0
    denial = events_after(site.db, before)[-1]
    assert (denial.action, denial.outcome) == ("fhir.appointment.search", "denied")
    agenda = client.get("Appointment", params={"practitioner": site.world.physician}).json()
    assert agenda["total"] == 0 and "entry" not in agenda
    answer = client.get(f"Appointment/{appointment['id']}")
    assert answer.status_code == 404
    assert events_after(site.db, before)[-1].outcome == "denied"


def new_appointment(site: Site, start: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "start": start.isoformat(),
        "minutesDuration": 30,
        "reasonCode": [{"text": "Première consultation"}],
        "participant": [
            {"actor": {"reference": f"Patient/{site.patient}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{site.world.physician}"},
             "status": "accepted"},
        ],
        **extra,
    }  # fmt: skip


def test_create_then_conflict(site: Site, fhir: Any) -> None:
    client = fhir("sec.a", "write")
    start = later(site, 20, 9)
    before = site.last_event_id()
    created = client.post("Appointment", new_appointment(site, start))
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"].endswith(f"/fhir/Appointment/{body['id']}")
    assert datetime.fromisoformat(body["start"]) == start
    assert datetime.fromisoformat(body["end"]) == start + timedelta(minutes=30)
    actions = [(e.action, e.outcome, e.how) for e in events_after(site.db, before)
               if e.action != "token.use"]  # fmt: skip
    assert actions == [("appointment.book", "allowed", "api"),
                       ("fhir.appointment.read", "allowed", "api")]  # fmt: skip
    # The same practitioner, overlapping: refused, recorded as failed, nothing written.
    before = site.last_event_id()
    clash = client.post("Appointment", new_appointment(site, start + timedelta(minutes=15)))
    assert clash.status_code == 409 and "already has appointment" in outcome_of(clash)
    failed = [e for e in events_after(site.db, before) if e.action == "appointment.book"]
    assert [e.outcome for e in failed] == ["failed"]
    assert client.get("Appointment", params={"patient": site.patient}).json()["total"] == 2


def test_create_with_end_and_an_explicit_establishment(site: Site, fhir: Any) -> None:
    client = fhir("sec.a", "write")
    start = later(site, 21, 14)
    resource = new_appointment(site, start, end=(start + timedelta(minutes=45)).isoformat(),
                               extension=[{"url": ESTABLISHMENT, "valueReference": {
                                   "reference": f"Organization/{site.world.est_a}"}}])  # fmt: skip
    del resource["minutesDuration"]
    created = client.post("Appointment", resource)
    assert created.status_code == 201, created.text
    assert created.json()["minutesDuration"] == 45


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"status": "proposed"}, 422),
        ({"reasonCode": None}, 422),
        ({"minutesDuration": None}, 422),
        ({"start": "2030-01-01T10:00:00"}, 400),  # no time zone: not a FHIR instant
        ({"minutesDuration": 2}, 422),  # too short for the domain
        ({"participant": [{"actor": {"reference": "Patient/1"}, "status": "accepted"}]}, 422),
        ({"status": "not-a-status"}, 422),
        ({"resourceType": "Patient"}, 400),
        ({"extension": [{"url": ESTABLISHMENT,
                         "valueReference": {"reference": "Organization/999"}}]}, 403),
    ],
)  # fmt: skip
def test_bad_appointments_are_refused_and_nothing_is_written(
    site: Site, fhir: Any, change: dict[str, Any], status: int
) -> None:
    client = fhir("sec.a", "write")
    resource = {**new_appointment(site, later(site, 22)), **change}
    resource = {k: v for k, v in resource.items() if v is not None}
    answer = client.post("Appointment", resource)
    assert answer.status_code == status, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert client.get("Appointment", params={"patient": site.patient}).json()["total"] == 1


def test_writes_need_a_write_token_and_a_role(site: Site, fhir: Any) -> None:
    resource = new_appointment(site, later(site, 23))
    assert fhir("sec.a", "read").post("Appointment", resource).status_code == 403
    before = site.last_event_id()
    refused = fhir("fact.a", "write").post("Appointment", resource)
    assert refused.status_code == 403
    denial = events_after(site.db, before)[-1]
    assert (denial.action, denial.outcome, denial.how) == ("appointment.book", "denied", "api")


def test_move_with_if_match_then_stale_is_412(site: Site, fhir: Any) -> None:
    client = fhir("sec.a", "write")
    appointment = first_appointment(site, client)
    read = client.get(f"Appointment/{appointment['id']}")
    body = read.json()
    new_start = later(site, 30, 11)
    body["start"] = new_start.isoformat()
    body.pop("end")
    before = site.last_event_id()
    moved = client.put(
        f"Appointment/{body['id']}", body, headers={"If-Match": read.headers["etag"]}
    )
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["start"]) == new_start
    actions = [e.action for e in events_after(site.db, before) if e.action != "token.use"]
    assert actions == ["fhir.appointment.read", "appointment.move", "fhir.appointment.read"]
    stale = client.put(
        f"Appointment/{body['id']}", body, headers={"If-Match": read.headers["etag"]}
    )
    assert stale.status_code == 412 and stale.json()["issue"][0]["code"] == "conflict"


def test_cancel_needs_a_reason_then_is_final(site: Site, fhir: Any) -> None:
    client = fhir("sec.a", "write")
    body = first_appointment(site, client)
    body["status"] = "cancelled"
    missing = client.put(f"Appointment/{body['id']}", body)
    assert missing.status_code == 422 and "cancelationReason" in outcome_of(missing)
    assert client.get(f"Appointment/{body['id']}").json()["status"] == "booked"
    body["cancelationReason"] = {"text": "Patient hospitalisé ailleurs"}
    before = site.last_event_id()
    cancelled = client.put(f"Appointment/{body['id']}", body)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["participant"][0]["status"] == "declined"
    assert "appointment.cancel" in [e.action for e in events_after(site.db, before)]
    again = cancelled.json()
    again["status"] = "booked"
    assert client.put(f"Appointment/{body['id']}", again).status_code == 409


def test_status_changes_follow_the_domain(site: Site, fhir: Any) -> None:
    client = fhir("sec.a", "write")
    body = first_appointment(site, client)
    body["status"] = "noshow"  # it has not begun: refused by the domain
    early = client.put(f"Appointment/{body['id']}", body)
    assert early.status_code == 409, early.text
    body["status"] = "checked-in"
    assert client.put(f"Appointment/{body['id']}", body).status_code == 422
    site.clock.advance(days=3)  # past the start (and past the token's hour: a new one)
    client = fhir("sec.a", "write")
    body["status"] = "noshow"
    answer = client.put(f"Appointment/{body['id']}", body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "noshow"


def test_update_refuses_what_does_not_change(site: Site, fhir: Any) -> None:
    client = fhir("sec.a", "write")
    body = first_appointment(site, client)
    both = {**body, "status": "cancelled", "cancelationReason": {"text": "x"},
            "start": later(site, 31).isoformat()}  # fmt: skip
    both.pop("end")
    assert client.put(f"Appointment/{body['id']}", both).status_code == 422
    other = {**body, "participant": [{"actor": {"reference": f"Practitioner/{site.world.gp}"},
                                      "status": "accepted"}]}  # fmt: skip
    assert client.put(f"Appointment/{body['id']}", other).status_code == 422
    reason = {**body, "reasonCode": [{"text": "Autre chose"}]}
    assert client.put(f"Appointment/{body['id']}", reason).status_code == 422
    wrong_id = {**body, "id": "999"}
    assert client.put(f"Appointment/{body['id']}", wrong_id).status_code == 400
    assert (
        client.get(f"Appointment/{body['id']}").json()
        == client.get(f"Appointment/{body['id']}").json()
    )
    unknown = client.put("Appointment/99999", {**body, "id": "99999"})
    assert unknown.status_code == 404


def test_a_patient_list_covers_the_actors_establishments_only(site: Site, fhir: Any) -> None:
    """The patient also has an appointment in establishment B: Dr B sees that one only,
    Dr A (establishment A) does not see it."""
    with site.db.transaction() as s:
        in_b = scheduling.book_appointment(
            s, patient_id=site.patient, practitioner_id=site.world.physician_b,
            establishment_id=site.world.est_b, start_at=later(site, 8), duration_min=15,
            reason="Avis",
        ).id  # fmt: skip
    seen_by_b = fhir("dr.b").get("Appointment", params={"patient": site.patient}).json()
    assert [e["resource"]["id"] for e in seen_by_b["entry"]] == [str(in_b)]
    seen_by_a = fhir("dr.a").get("Appointment", params={"patient": site.patient}).json()
    assert seen_by_a["total"] == 1 and seen_by_a["entry"][0]["resource"]["id"] != str(in_b)
