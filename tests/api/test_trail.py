"""The trail of a session that exercised every entry point of the API contains an event for
every access it made, and nothing else; every denied access is in it with its reason.

The test drives clients through every /api route (refusals and a failed sign-in included),
keeping its own list of the events each request should leave — (action, outcome,
patient ids) — then reads the trail and compares the two lists, in order."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from hygie.api import patient_routes, review_routes, session_routes, token_routes
from hygie.models import AuditEvent
from tests.api.conftest import CLIENT_IP, PASSWORD, USER_AGENT, Site
from tests.api.test_sessions import api_routes

Expected = tuple[str, str, list[int]]
REASON = {"reason_code": "emergency", "reason_text": "Malaise en salle d'attente"}
# The route modules whose every route this test must exercise. The write routes
# (access.writes) join them, with their steps, when they land.
COVERED = (session_routes, token_routes, patient_routes, review_routes)


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

    # Signing out; the ended session reaches nothing.
    call(doctor, "DELETE", "/api/session", status=200, events=[("session.revoke", "allowed", [])])
    call(doctor, "GET", "/api/patients/{patient_id}", status=401, patient_id=p, events=[])


def test_the_trail_holds_every_access_and_nothing_else(site: Site) -> None:
    script = Script(site)
    start = site.last_event_id()
    run_every_entry_point(script)

    trail = site.events_since(start)
    assert [(e.action, e.outcome, sorted(e.patient_ids)) for e in trail] == script.expected

    # Every route of the API was exercised (a new route needs its step above).
    routes = {
        (method, route.path)
        for module in COVERED
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
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
