"""The attack scripts of ``hygie.simulate.scenarios`` through the HTTP interfaces: the
attacker signs in with the stolen password and second factor (or uses a stolen token) and
makes the same requests through the API and FHIR a browser or a script would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
from fastapi.testclient import TestClient

from hygie.access import exports
from hygie.kit import clock
from hygie.simulate.client import Haul, exported_ids
from hygie.simulate.scenarios import SHADOW_RPPS
from hygie.simulate.world import Person
from tests.api.conftest import PASSWORD, Login

AGENT = "python-requests/2.32.3"


class HttpWorkstation:
    """An attacker's HTTP client on one account (session cookie + CSRF, or bearer token)."""

    def __init__(
        self, http: TestClient, *, token: str | None = None,
        sign_in: Callable[[TestClient], bool] | None = None,
    ) -> None:  # fmt: skip
        self.http = http
        self.token = token
        self.sign_in = sign_in  # signs in again when the session has expired
        self.haul = Haul()

    @property
    def stopped(self) -> bool:
        return self.haul.contained_at is not None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _ok(self, answer: httpx.Response) -> bool:
        """Whether the request was served; a containment or a dead credential stops it."""
        self.haul.requests += 1
        if answer.status_code < 300:
            return True
        body: dict[str, Any] = answer.json() if answer.content else {}
        kind = body.get("containment")
        if kind is None and body.get("resourceType") == "OperationOutcome":
            kind = _fhir_kind(answer, body)
        why = kind or str(answer.status_code)
        self.haul.refusals[why] = self.haul.refusals.get(why, 0) + 1
        if kind == "contain" or (answer.status_code == 401 and kind != "step_up"):
            self.haul.contained_at = clock.now()
        return False

    def get(self, url: str, **params: Any) -> httpx.Response | None:
        return self._send(
            lambda: self.http.get(url, params=params or None, headers=self._headers())
        )

    def post(self, url: str, body: dict[str, Any]) -> httpx.Response | None:
        return self._send(lambda: self.http.post(url, json=body, headers=self._headers()))

    def _send(self, send: Callable[[], httpx.Response]) -> httpx.Response | None:
        """The answer; an expired session is signed in again (an attacker with the password
        and the authenticator does), unless the account is locked."""
        if self.stopped:
            return None
        answer = send()
        expired = answer.status_code == 401 and "containment" not in (
            answer.json() if answer.content else {}
        )
        if expired and self.sign_in is not None and self.sign_in(self.http):
            answer = send()
        return answer

    # --- what the scripts use ------------------------------------------------------------
    def search(self, name: str, *, birth_date: date | None = None, limit: int = 20) -> list[int]:
        params: dict[str, Any] = {"name": name, "limit": limit}
        if birth_date is not None:
            params["birth_date"] = birth_date.isoformat()
        answer = self.get("/api/patients", **params)
        if answer is None or not self._ok(answer):
            return []
        ids = [p["id"] for p in answer.json()["patients"]]
        self.haul.summaries |= set(ids)
        return ids

    def find(self, family: str, *, offset: int = 0, count: int = 100) -> tuple[list[int], int]:
        answer = self.get("/fhir/Patient", family=family, _count=count, _offset=offset)
        if answer is None or not self._ok(answer):
            return [], 0
        bundle = answer.json()
        ids = [int(e["resource"]["id"]) for e in bundle.get("entry", [])]
        self.haul.summaries |= set(ids)
        return ids, int(bundle.get("total", len(ids)))

    def chart(self, patient: int) -> bool:
        url = f"/fhir/Patient/{patient}" if self.token else f"/api/patients/{patient}"
        answer = self.get(url)
        if answer is None or not self._ok(answer):
            return False
        self.haul.records.add(patient)
        return True

    def break_glass(self, patient: int, code: str, text: str) -> bool:
        answer = self.post(
            f"/api/patients/{patient}/break-glass", {"reason_code": code, "reason_text": text}
        )
        return answer is not None and self._ok(answer)

    def cancel(self, appointment: int, patient: int) -> bool:
        answer = self.post(f"/api/appointments/{appointment}/cancel", {"reason": "annulation"})
        if answer is None or not self._ok(answer):
            return False
        self.haul.records.add(patient)
        return True

    def export(self, spec: exports.ExportSpec) -> list[int]:
        body = {k: v.isoformat() if isinstance(v, date) else v
                for k, v in asdict(spec).items() if v is not None}  # fmt: skip
        body["categories"] = list(spec.categories)
        asked = self.post("/api/exports", body)
        if asked is None or not self._ok(asked) or asked.json()["status"] != "ready":
            return []
        made = self.post(f"/api/exports/{asked.json()['id']}/download", {})
        if made is None or not self._ok(made):
            return []
        ids = exported_ids(made.content)
        self.haul.records |= set(ids)
        return ids


def _fhir_kind(answer: httpx.Response, body: dict[str, Any]) -> str | None:
    if answer.status_code == 429:
        return "slow"
    if answer.status_code == 401 and "Hygie-Step-Up" in answer.headers.get("WWW-Authenticate", ""):
        return "step_up"
    code = (body.get("issue") or [{}])[0].get("code")
    return "contain" if answer.status_code == 403 and code == "security" else None


class HttpThieves:
    """The attacker's way in through HTTP: sign in with what was stolen (password and the
    authenticator's secret), or use a stolen API token."""

    def __init__(self, app: Any, logins: dict[str, Login], tokens: dict[str, str]) -> None:
        self.app, self.logins, self.tokens = app, logins, tokens

    def _client(self, ip: str, agent: str = AGENT) -> TestClient:
        # The test client's address is always "testclient": the header says which was meant.
        return TestClient(self.app, base_url="https://testserver",
                          headers={"User-Agent": agent, "X-Forwarded-For": ip})  # fmt: skip

    def steal(self, person: Person, ip: str, agent: str, *, n: int, token: bool) -> HttpWorkstation:
        http = self._client(ip, agent)
        name = person.member.username
        if token:
            return HttpWorkstation(http, token=self.tokens[name])
        secret = self.logins[name].secret

        def sign_in(client: TestClient) -> bool:
            signed = client.post("/api/session", json={
                "username": name, "password": PASSWORD, "totp": pyotp.TOTP(secret).at(clock.now()),
            })  # fmt: skip
            if signed.status_code != 200:
                return False
            client.headers["X-CSRF-Token"] = signed.json()["csrf_token"]
            return True

        assert sign_in(http), f"{name} could not sign in"
        return HttpWorkstation(http, sign_in=sign_in)

    def shadow(self, admin: Person, ip: str, username: str) -> tuple[HttpWorkstation, int] | None:
        """The administrator creates a physician account through the API, then enrols it."""
        boss = self.steal(admin, ip, AGENT, n=0, token=False)
        finess = _finess(boss, admin.establishment)
        made = boss.http.post("/api/accounts", json={
            "username": username, "role": "physician", "establishments": [finess],
            "display_name": "Dr Shadow", "family_name": "Shadow", "given_name": "Jean",
            "rpps": SHADOW_RPPS,
        })  # fmt: skip
        assert made.status_code == 201, made.text
        answer = made.json()
        secret = parse_qs(urlparse(answer["totp_provisioning_uri"]).query)["secret"][0]
        http = self._client(ip)
        enrolled = http.post("/api/session/enrol", json={
            "username": username, "password": answer["password"], "totp": pyotp.TOTP(secret).at(clock.now()),
        })  # fmt: skip
        assert enrolled.status_code == 200, enrolled.text
        http.headers["X-CSRF-Token"] = enrolled.json()["csrf_token"]
        return HttpWorkstation(http), 0  # the caller looks the new account's id up


def _finess(boss: HttpWorkstation, establishment: int) -> str:
    who = boss.http.get("/api/session").json()
    return next(e["finess"] for e in who["establishments"] if e["id"] == establishment)
