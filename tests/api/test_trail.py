"""The trail of a session that exercised every entry point of the API contains an event for
every access it made, and nothing else; every denied access is in it with its reason.

The test drives clients through every /api route (refusals and a failed sign-in included),
keeping its own list of the events each request should leave — (action, outcome,
patient ids) — then reads the trail and compares the two lists, in order."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from hygie.api import patient_routes, review_routes, session_routes, token_routes, write_routes
from hygie.models import AuditEvent
from tests.api.conftest import CLIENT_IP, PASSWORD, USER_AGENT, Site
from tests.api.test_sessions import api_routes
from tests.factories import nir

Expected = tuple[str, str, list[int]]
REASON = {"reason_code": "emergency", "reason_text": "Malaise en salle d'attente"}
# The routers whose every route this test must exercise.
COVERED = (
    session_routes.router, token_routes.router, patient_routes.router, review_routes.router,
    *write_routes.ROUTERS,
)  # fmt: skip


@dataclass
class Caller:
    client: TestClient
    csrf: str | None = None


@dataclass(frozen=True)
class Step:
    request: str  # "METHOD /route/{template}"
    status: int
    events: list[Expected]


@dataclass
class Script:
    """Makes requests and keeps the events each one should leave."""

    site: Site
    steps: list[Step] = field(default_factory=list)

    @property
    def expected(self) -> list[Expected]:
        return [event for step in self.steps for event in step.events]

    @property
    def exercised(self) -> set[tuple[str, str]]:
        return {(s.request.split(" ")[0], s.request.split(" ")[1]) for s in self.steps}

    def per_step(self, trail: list[AuditEvent]) -> list[tuple[Step, list[AuditEvent]]]:
        """The trail cut into the events of each step (it matched ``expected``)."""
        cut, at = [], 0
        for step in self.steps:
            cut.append((step, trail[at : at + len(step.events)]))
            at += len(step.events)
        return cut

    def anonymous(self) -> Caller:
        return Caller(self.site.client())

    def bearer(self, secret: str) -> Caller:
        return Caller(
            TestClient(
                self.site.app, base_url="https://testserver",
                headers={"Authorization": f"Bearer {secret}", "User-Agent": USER_AGENT},
            )
        )  # fmt: skip

    def call(
        self,
        who: Caller,
        method: str,
        route: str,
        *,
        status: int,
        events: list[Expected],
        csrf: bool = True,
        json: Any = None,
        params: dict[str, Any] | None = None,
        **ids: int,
    ) -> Any:
        headers = {"X-CSRF-Token": who.csrf} if csrf and who.csrf else {}
        path = route.format_map(defaultdict(lambda: 0, ids))
        answer = who.client.request(method, path, json=json, params=params, headers=headers)
        assert answer.status_code == status, (method, path, answer.text)
        self.steps.append(Step(f"{method} {route}", status, list(events)))
        return answer.json() if "json" in answer.headers.get("content-type", "") else answer.text

    def sign_in(self, username: str) -> Caller:
        at = self.site.clock.advance(seconds=30)
        code = self.site.logins[username].code(at)
        caller = self.anonymous()
        body = self.call(
            caller, "POST", "/api/session", status=200,
            json={"username": username, "password": PASSWORD, "totp": code},
            events=[("auth.login", "allowed", []), ("session.create", "allowed", [])],
        )  # fmt: skip
        caller.csrf = body["csrf_token"]
        return caller


def run_every_entry_point(script: Script) -> None:
    site, call = script.site, script.call
    p, nobody = site.patient, 999_999
    anon = script.anonymous()

    # Signing in: a failure, a misplaced enrolment, anonymous calls that reach nothing.
    call(anon, "POST", "/api/session", status=401,
         json={"username": "dr.a", "password": "not the password at all", "totp": "000000"},
         events=[("auth.login", "denied", [])])  # fmt: skip
    call(anon, "POST", "/api/session/enrol", status=401,
         json={"username": "dr.a", "password": PASSWORD, "totp": "000000"},
         events=[("mfa.enrol", "denied", [])])  # fmt: skip
    call(anon, "GET", "/api/session", status=401, events=[])
    call(anon, "GET", "/api/patients/{patient_id}", status=401, events=[], patient_id=p)

    doctor = script.sign_in("dr.a")
    doctor_session = call(doctor, "GET", "/api/session", status=200, events=[])["session_id"]
    call(doctor, "GET", "/api/sessions", status=200, events=[])
    call(doctor, "GET", "/api/patients", status=200, params={"name": "mart"},
         events=[("patient.search", "allowed", [p])])  # fmt: skip
    call(doctor, "GET", "/api/patients", status=422, params={"name": "m"}, events=[])
    call(doctor, "GET", "/api/patients/{patient_id}", status=200, patient_id=p,
         events=[("chart.read", "allowed", [p])])  # fmt: skip
    call(doctor, "GET", "/api/patients/{patient_id}", status=404, patient_id=nobody,
         events=[("chart.read", "denied", [nobody])])  # fmt: skip
    call(doctor, "GET", "/api/patients/{patient_id}", status=422, patient_id=-1, events=[])
    for route in ("/api/patients/{patient_id}/access-history",
                  "/api/patients/{patient_id}/access-history.html"):  # fmt: skip
        call(doctor, "GET", route, status=403, patient_id=p,
             events=[("patient.access_history", "denied", [p])])  # fmt: skip

    # Tokens: CSRF refusal, issue, list, use within and beyond scope, revoke, use revoked.
    call(doctor, "POST", "/api/tokens", status=403, csrf=False, json={"scope": "read"},
         events=[("request.csrf", "denied", [])])  # fmt: skip
    token = call(doctor, "POST", "/api/tokens", status=201, json={"scope": "read"},
                 events=[("token.issue", "allowed", [])])  # fmt: skip
    call(doctor, "GET", "/api/tokens", status=200, events=[])
    reader = script.bearer(token["token"])
    call(reader, "GET", "/api/patients/{patient_id}", status=200, patient_id=p,
         events=[("token.use", "allowed", []), ("chart.read", "allowed", [p])])  # fmt: skip
    call(reader, "POST", "/api/patients/{patient_id}/break-glass", status=403, patient_id=p,
         json=REASON, events=[("token.use", "denied", [])])  # fmt: skip
    call(doctor, "DELETE", "/api/tokens/{token_id}", status=200, token_id=token["id"],
         events=[("token.revoke", "allowed", [])])  # fmt: skip
    call(reader, "GET", "/api/session", status=401, events=[("token.use", "denied", [])])
    call(script.bearer("hyg_forged"), "GET", "/api/patients", status=401,
         params={"name": "mart"}, events=[("token.use", "denied", [])])  # fmt: skip

    # Break-the-glass by a nurse without a care relationship; sessions on other devices.
    nurse = script.sign_in("ide.a")
    call(nurse, "GET", "/api/patients/{patient_id}", status=200, patient_id=p,
         events=[("chart.read", "allowed", [p])])  # fmt: skip
    grant = call(nurse, "POST", "/api/patients/{patient_id}/break-glass", status=201,
                 patient_id=p, json=REASON, events=[("break_glass", "allowed", [p])])  # fmt: skip
    call(nurse, "GET", "/api/patients/{patient_id}", status=200, patient_id=p,
         events=[("chart.read", "allowed", [p])])  # fmt: skip
    call(nurse, "DELETE", "/api/sessions/{session_id}", status=404, session_id=doctor_session,
         events=[("session.revoke", "denied", [])])  # fmt: skip
    phone = script.sign_in("ide.a")
    phone_session = call(phone, "GET", "/api/session", status=200, events=[])["session_id"]
    call(nurse, "DELETE", "/api/sessions/{session_id}", status=200, session_id=phone_session,
         events=[("session.revoke", "allowed", [])])  # fmt: skip
    script.sign_in("ide.a")
    call(
        nurse, "DELETE", "/api/sessions", status=200, events=[("session.revoke_all", "allowed", [])]
    )

    # Roles that the gate refuses.
    secretary = script.sign_in("sec.a")
    call(secretary, "POST", "/api/patients/{patient_id}/break-glass", status=403, patient_id=p,
         json=REASON, events=[("break_glass", "denied", [p])])  # fmt: skip
    admin = script.sign_in("it.admin")
    call(admin, "GET", "/api/patients", status=403, params={"name": "mart"},
         events=[("patient.search", "denied", [])])  # fmt: skip
    elsewhere = script.sign_in("dr.b")
    call(elsewhere, "GET", "/api/patients/{patient_id}", status=404, patient_id=p,
         events=[("chart.read", "denied", [p])])  # fmt: skip

    # The security officer: the queue, the history, the review.
    officer = script.sign_in("rssi.a")
    call(officer, "GET", "/api/break-glass/pending", status=200,
         events=[("break_glass.pending", "allowed", [p])])  # fmt: skip
    call(doctor, "GET", "/api/break-glass/pending", status=403,
         events=[("break_glass.pending", "denied", [])])  # fmt: skip
    for route in ("/api/patients/{patient_id}/access-history",
                  "/api/patients/{patient_id}/access-history.html"):  # fmt: skip
        call(officer, "GET", route, status=200, patient_id=p,
             events=[("patient.access_history", "allowed", [p])])  # fmt: skip
    review = {"verdict": "justified", "comment": "Appel du SAMU confirmé"}
    call(doctor, "POST", "/api/break-glass/{grant_id}/review", status=403, grant_id=grant["id"],
         json=review, events=[("break_glass.review", "denied", [])])  # fmt: skip
    call(officer, "POST", "/api/break-glass/{grant_id}/review", status=200,
         grant_id=grant["id"], json=review, events=[("break_glass.review", "allowed", [p])])  # fmt: skip

    run_every_write(script, secretary=secretary, doctor=doctor, nurse=nurse, admin=admin)

    # Signing out; the ended session reaches nothing.
    call(doctor, "DELETE", "/api/session", status=200, events=[("session.revoke", "allowed", [])])
    call(doctor, "GET", "/api/patients/{patient_id}", status=401, patient_id=p, events=[])


def run_every_write(
    script: Script, *, secretary: Caller, doctor: Caller, nurse: Caller, admin: Caller
) -> None:
    """Every write route once allowed, and refusals: each leaves one event naming the
    patient it changed (a new identity: the id the answer gives)."""
    site, call = script.site, script.call
    w, p = site.world, site.patient
    soon = site.clock.now.replace(minute=0, second=0, microsecond=0) + timedelta(days=4)

    def created(answer: dict[str, Any], action: str) -> int:
        """The id a creation answered, now known: fill in its expected event."""
        last = script.steps[-1]
        script.steps[-1] = Step(last.request, last.status, [(action, "allowed", [answer["id"]])])
        return int(answer["id"])

    # Reception: a duplicate identity, contact, status, coverage, the merge.
    twin = created(call(secretary, "POST", "/api/patients", status=201, events=[],
                        json={"establishment_id": w.est_a, "birth_name": "Martin",
                              "birth_first_names": ["Alice"], "sex": "female",
                              "birth_date": "1980-05-03"}), "patient.create")  # fmt: skip
    call(secretary, "PUT", "/api/patients/{patient_id}/contact", status=200, patient_id=p,
         json={"city": "Paris", "phone_mobile": "0612345678"},
         events=[("patient.contact.update", "allowed", [p])])  # fmt: skip
    call(secretary, "POST", "/api/patients/{patient_id}/identity-status", status=200,
         patient_id=p, json={"status": "qualified"},
         events=[("patient.identity_status", "allowed", [p])])  # fmt: skip
    call(secretary, "POST", "/api/patients/{patient_id}/coverages/amo", status=201, patient_id=p,
         json={"regime_code": "01", "fund_code": "751", "fund_name": "CPAM de Paris",
               "insured_nir": nir(sex=2), "beneficiary": "insured", "valid_from": "2020-01-01"},
         events=[("coverage.record", "allowed", [p])])  # fmt: skip
    call(secretary, "POST", "/api/patients/{patient_id}/coverages/amc", status=201, patient_id=p,
         json={"organism_number": "12345678", "organism_name": "Mutuelle", "member_number": "A1",
               "valid_from": "2020-01-01"},
         events=[("coverage.record", "allowed", [p])])  # fmt: skip
    call(secretary, "POST", "/api/patients/{patient_id}/merge", status=200, patient_id=p,
         json={"merged_id": twin, "reason": "Doublon créé à l'accueil"},
         events=[("patient.merge", "allowed", [p, twin])])  # fmt: skip

    # Agenda and stays.
    booked = call(secretary, "POST", "/api/patients/{patient_id}/appointments", status=201,
                  patient_id=p, events=[("appointment.book", "allowed", [p])],
                  json={"establishment_id": w.est_a, "practitioner_id": w.physician,
                        "start_at": soon.isoformat(), "duration_min": 20, "reason": "Contrôle"})  # fmt: skip
    later = (soon + timedelta(hours=3)).isoformat()
    call(secretary, "POST", "/api/appointments/{appointment_id}/move", status=200,
         appointment_id=booked["id"], json={"start_at": later},
         events=[("appointment.move", "allowed", [p])])  # fmt: skip
    call(secretary, "POST", "/api/appointments/{appointment_id}/status", status=409,
         appointment_id=booked["id"], json={"status": "done"},
         events=[("appointment.status", "failed", [p])])  # fmt: skip
    call(secretary, "POST", "/api/appointments/{appointment_id}/cancel", status=200,
         appointment_id=booked["id"], json={"reason": "Empêchement"},
         events=[("appointment.cancel", "allowed", [p])])  # fmt: skip
    stay = call(secretary, "POST", "/api/patients/{patient_id}/stays", status=201, patient_id=p,
                json={"establishment_id": w.est_a, "department_id": w.dept_a,
                      "responsible_id": w.physician, "reason": "Bilan",
                      "at": (site.clock.now - timedelta(hours=1)).isoformat()},
                events=[("stay.admit", "allowed", [p])])  # fmt: skip
    call(secretary, "POST", "/api/stays/{encounter_id}/transfer", status=200,
         encounter_id=stay["id"], json={"department_id": w.dept_a2,
                                         "at": (site.clock.now - timedelta(minutes=30)).isoformat()},
         events=[("stay.transfer", "allowed", [p])])  # fmt: skip
    call(secretary, "POST", "/api/stays/{encounter_id}/discharge", status=200,
         encounter_id=stay["id"], json={"at": site.clock.now.isoformat()},
         events=[("stay.discharge", "allowed", [p])])  # fmt: skip

    # Clinical content: the physician (care relationship); the nurse may not prescribe.
    clinical = {"establishment_id": w.est_a}
    call(doctor, "POST", "/api/patients/{patient_id}/allergies", status=201, patient_id=p,
         json={**clinical, "substance": "Latex", "reaction": "eczéma", "severity": "moderate"},
         events=[("allergy.record", "allowed", [p])])  # fmt: skip
    call(doctor, "POST", "/api/patients/{patient_id}/conditions", status=201, patient_id=p,
         json={**clinical, "code": "E11.9"}, events=[("condition.add", "allowed", [p])])  # fmt: skip
    call(doctor, "POST", "/api/patients/{patient_id}/notes", status=201, patient_id=p,
         json={**clinical, "kind": "consultation", "text": "Examen sans particularité."},
         events=[("note.write", "allowed", [p])])  # fmt: skip
    order = {**clinical, "drug_code": "D0001", "dose": "1 g", "frequency": "toutes les 6 h",
             "duration_days": 5}  # fmt: skip
    call(doctor, "POST", "/api/patients/{patient_id}/prescriptions", status=201, patient_id=p,
         json=order, events=[("prescription.write", "allowed", [p])])  # fmt: skip
    call(nurse, "POST", "/api/patients/{patient_id}/prescriptions", status=403, patient_id=p,
         json=order, events=[("prescription.write", "denied", [p])])  # fmt: skip
    call(nurse, "POST", "/api/patients/{patient_id}/death", status=403, patient_id=p,
         json={"died_at": site.clock.now.isoformat(), "place": "Domicile"},
         events=[("patient.death", "denied", [p])])  # fmt: skip

    # Billing: the billing officer records an act, invoices it and reads it back.
    billing = script.sign_in("fact.a")
    call(billing, "POST", "/api/patients/{patient_id}/acts", status=201, patient_id=p,
         json={**clinical, "code": "G", "practitioner_id": w.physician,
               "performed_on": (site.clock.now - timedelta(days=1)).date().isoformat()},
         events=[("billing.act", "allowed", [p])])  # fmt: skip
    call(billing, "POST", "/api/patients/{patient_id}/invoices", status=201, patient_id=p,
         json=clinical, events=[("billing.invoice", "allowed", [p])])  # fmt: skip
    call(billing, "GET", "/api/patients/{patient_id}/billing", status=200, patient_id=p,
         events=[("billing.read", "allowed", [p])])  # fmt: skip
    call(doctor, "GET", "/api/patients/{patient_id}/billing", status=403, patient_id=p,
         events=[("billing.read", "denied", [p])])  # fmt: skip

    # Accounts: the IT administrator, never a clinician.
    call(admin, "GET", "/api/accounts", status=200, params={"establishment_id": w.est_a},
         events=[("account.list", "allowed", [])])  # fmt: skip
    account = {"username": "sec.new", "role": "secretary", "establishments": ["750000010"]}
    call(admin, "POST", "/api/accounts", status=201, json=account,
         events=[("account.create", "allowed", [])])  # fmt: skip
    call(doctor, "POST", "/api/accounts", status=403, json={**account, "username": "sec.other"},
         events=[("account.create", "denied", [])])  # fmt: skip


def test_the_trail_holds_every_access_and_nothing_else(site: Site) -> None:
    script = Script(site)
    start = site.last_event_id()
    run_every_entry_point(script)

    trail = site.events_since(start)
    assert [(e.action, e.outcome, sorted(e.patient_ids)) for e in trail] == script.expected

    # Every route of the API was exercised (a new route needs its step above).
    routes = {
        (method, route.path)
        for router in COVERED
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    assert routes <= api_routes(site) and len(routes) >= 15
    assert routes - script.exercised == set()

    # Every event says where it came from, and what it went through.
    for event in trail:
        assert (event.how, event.ip, event.user_agent) == ("api", CLIENT_IP, USER_AGENT), (
            event.action
        )
        if event.action not in ("auth.login", "mfa.enrol", "token.use") and event.username:
            assert event.session_id or event.token_id, event.action
    for event in trail:
        if event.action in (
            "chart.read",
            "patient.search",
            "break_glass",
            "patient.access_history",
        ):
            assert event.session_id or event.token_id


def test_every_denied_access_is_in_the_trail_with_its_reason(site: Site) -> None:
    script = Script(site)
    start = site.last_event_id()
    run_every_entry_point(script)
    trail = site.events_since(start)
    assert len(trail) == len(script.expected)
    refused = 0
    for step, events in script.per_step(trail):
        if step.status not in (403, 404):
            continue
        refused += 1
        denied = [e for e in events if e.outcome == "denied"]
        assert len(denied) == 1, step.request
        assert denied[0].reason, step.request
    assert refused >= 10
    # Failed sign-ins say in the trail what the client was not told.
    assert all(e.reason for e in trail if e.outcome == "denied")
    assert {e.reason for e in trail if e.action in ("auth.login", "mfa.enrol")} >= {
        "wrong password", "no TOTP enrolment pending",
    }  # fmt: skip
