"""The export routes: a bulk export asked by the secretary waits for the security officer's
approval (four eyes), then downloads once, encrypted; a small one downloads at once as
CSV; bad input gets a 422 naming the field; every step is in the trail."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pyrage
import pytest

from tests.api.conftest import Site, add_patient

PASSPHRASE = "une phrase de passe assez longue"


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYGIE_EXPORT_BULK_THRESHOLD", "2")


def ids_in(content: bytes) -> list[int]:
    return [int(r["patient_id"]) for r in csv.DictReader(io.StringIO(content.decode("utf-8")))]


def test_a_bulk_export_goes_through_four_eyes(site: Site) -> None:
    everyone = sorted([site.patient] + [
        add_patient(site.db, site.world, birth_name=name, order=n)
        for n, name in ((2, "Bernard"), (3, "Petit"))
    ])  # fmt: skip
    secretary, signed = site.sign_in("sec.a")
    sec_csrf = {"X-CSRF-Token": signed["csrf_token"]}
    body = {"establishment_id": site.world.est_a, "basis": "files",
            "categories": ["contact", "coverage"],
            "purpose": "Reprise des données par le nouveau logiciel"}  # fmt: skip
    start = site.last_event_id()
    asked = secretary.post("/api/exports", json=body, headers=sec_csrf)
    assert asked.status_code == 201, asked.text
    export = asked.json()
    assert (export["status"], export["bulk"], export["patient_count"]) == ("pending", True, 3)
    route = f"/api/exports/{export['id']}"
    early = secretary.post(f"{route}/download", json={"passphrase": PASSPHRASE}, headers=sec_csrf)
    assert early.status_code == 409 and "approval" in early.json()["error"]

    doctor, signed = site.sign_in("dr.a")
    refused = doctor.post(f"{route}/approve", json={"comment": "Je valide la reprise"},
                          headers={"X-CSRF-Token": signed["csrf_token"]})  # fmt: skip
    assert refused.status_code == 403
    officer, signed = site.sign_in("rssi.a")
    off_csrf = {"X-CSRF-Token": signed["csrf_token"]}
    waiting = officer.get("/api/exports").json()["exports"]
    assert [e["id"] for e in waiting] == [export["id"]]
    short = officer.post(f"{route}/approve", json={"comment": "ok"}, headers=off_csrf)
    assert short.status_code == 422 and short.json()["field"] == "comment"
    approved = officer.post(f"{route}/approve", json={"comment": "Reprise validée par la DSI"},
                            headers=off_csrf)  # fmt: skip
    assert approved.status_code == 200 and approved.json()["status"] == "approved"

    bare = secretary.post(f"{route}/download", json={}, headers=sec_csrf)
    assert bare.status_code == 422 and bare.json()["field"] == "passphrase"
    got = secretary.post(f"{route}/download", json={"passphrase": PASSPHRASE}, headers=sec_csrf)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["cache-control"] == "no-store"
    assert ".csv.age" in got.headers["content-disposition"]
    assert ids_in(pyrage.passphrase.decrypt(got.content, PASSPHRASE)) == everyone
    again = secretary.post(f"{route}/download", json={"passphrase": PASSPHRASE}, headers=sec_csrf)
    assert again.status_code == 409
    mine = secretary.get("/api/exports").json()["exports"]
    assert [(e["id"], e["status"]) for e in mine] == [(export["id"], "downloaded")]

    trail = [(e.action, e.outcome, sorted(e.patient_ids)) for e in site.events_since(start)
             if e.action.startswith("export.")]  # fmt: skip
    assert trail == [
        ("export.request", "allowed", everyone),
        ("export.approve", "denied", []),
        ("export.list", "allowed", []),
        ("export.approve", "allowed", everyone),
        ("export.download", "allowed", everyone),
        ("export.list", "allowed", []),
    ]


def test_a_small_export_downloads_at_once_as_csv(site: Site) -> None:
    secretary, signed = site.sign_in("sec.a")
    csrf = {"X-CSRF-Token": signed["csrf_token"]}
    today = datetime.now(UTC).date()
    body = {"establishment_id": site.world.est_a, "basis": "appointments",
            "start": today.isoformat(), "end": (today + timedelta(days=7)).isoformat(),
            "categories": ["contact"], "purpose": "Rappel des rendez-vous par SMS"}  # fmt: skip
    asked = secretary.post("/api/exports", json=body, headers=csrf)
    assert asked.status_code == 201 and asked.json()["status"] == "ready", asked.text
    got = secretary.post(f"/api/exports/{asked.json()['id']}/download", json={}, headers=csrf)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert got.headers["x-hygie-patients"] == "1"
    assert ids_in(got.content) == [site.patient]


@pytest.mark.parametrize(
    ("change", "field"),
    [({"basis": "everything"}, "basis"), ({"categories": ["notes"]}, "categories"),
     ({"purpose": "liste"}, "purpose"), ({"start": "2026-13-01"}, "start"),
     ({"establishment_id": 0}, "establishment_id"), ({"secret": 1}, "secret")],
)  # fmt: skip
def test_bad_export_requests_name_the_field(
    site: Site, change: dict[str, object], field: str
) -> None:
    secretary, signed = site.sign_in("sec.a")
    body = {"establishment_id": site.world.est_a, "basis": "files", "categories": [],
            "purpose": "Liste des patients du service", **change}  # fmt: skip
    answer = secretary.post(
        "/api/exports", json=body, headers={"X-CSRF-Token": signed["csrf_token"]}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field


def test_somebody_elses_export_is_not_found(site: Site) -> None:
    secretary, signed = site.sign_in("sec.a")
    body = {"establishment_id": site.world.est_a, "basis": "files", "categories": [],
            "purpose": "Liste des patients du service"}  # fmt: skip
    export = secretary.post("/api/exports", json=body,
                            headers={"X-CSRF-Token": signed["csrf_token"]}).json()  # fmt: skip
    doctor, signed = site.sign_in("dr.a")
    stolen = doctor.post(f"/api/exports/{export['id']}/download", json={},
                         headers={"X-CSRF-Token": signed["csrf_token"]})  # fmt: skip
    assert stolen.status_code == 404
    nurse, signed = site.sign_in("ide.a")  # a nurse reads no coverage
    refused = nurse.post("/api/exports", json={**body, "categories": ["coverage"]},
                         headers={"X-CSRF-Token": signed["csrf_token"]})  # fmt: skip
    assert refused.status_code == 403
