"""Containment end to end, through the API and FHIR on a generated group: a stolen account
harvesting at full speed is stopped before 50 patients' records and 1,000 patients'
summaries, its sessions and tokens stop working at once, the security officer sees the
alert with its evidence and alone can unlock the account, and the trail names exactly the
patients the attacker received."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hygie.app import create_app
from hygie.auth.tokens import issue_token
from hygie.db import Database
from hygie.generate.runner import generate
from hygie.kit.crypto import Keyring
from hygie.models import AuditEvent, Establishment, SecurityAlert, User
from hygie.storage import staff as staff_store
from tests.api.conftest import PASSWORD, USER_AGENT, Login, add_account, give_login

RECORD_BOUND = 50
SUMMARY_BOUND = 1000


@dataclass
class Group:
    db: Database
    establishment: int
    logins: dict[str, Login]
    patients: int

    def client(self) -> TestClient:
        return TestClient(
            create_app(db=self.db), base_url="https://testserver",
            headers={"User-Agent": USER_AGENT},
        )  # fmt: skip

    def sign_in(self, username: str) -> TestClient:
        client = self.client()
        at = datetime.now(UTC)
        answer = client.post(
            "/api/session",
            json={"username": username, "password": PASSWORD,
                  "totp": self.logins[username].code(at)},
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client


@pytest.fixture
def group(db: Database, keyring: Keyring) -> Iterator[Group]:
    generate(db, keyring, establishments=1, patients=600, seed=5, reference_date=datetime.now(UTC).date(),
             workers=1)  # fmt: skip
    with db.sessions() as session:
        est = session.scalars(select(Establishment.id)).first()
    assert est is not None
    add_account(db, "sec.stolen", "secretary", est)
    add_account(db, "rssi.h", "security_officer", est)
    now = datetime.now(UTC) - timedelta(minutes=5)
    logins = {name: give_login(db, name, at=now) for name in ("sec.stolen", "rssi.h")}
    yield Group(db=db, establishment=est, logins=logins, patients=600)


@dataclass
class Haul:
    """What the attacker got: patients seen in lists, patients whose record they read, and
    the refusal that stopped them."""

    summaries: set[int] = field(default_factory=set)
    records: set[int] = field(default_factory=set)
    stopped_by: dict[str, object] | None = None
    status: int | None = None


def prefixes() -> Iterator[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for a, b in itertools.product(letters, letters):
        yield a + b


def refused(haul: Haul, answer: httpx.Response) -> bool:
    """Whether the attacker got nothing from ``answer``; ``haul.stopped_by`` is set when it
    can go no further. Asked to step up or slow down, the attacker (who has no second
    factor and no patience) carries on with the next patient."""
    if answer.status_code == 200:
        return False
    body = answer.json()
    if body.get("containment") in ("step_up", "slow") or _fhir_slowed(answer):
        return True
    haul.stopped_by, haul.status = body, answer.status_code
    return True


def _fhir_slowed(answer: httpx.Response) -> bool:
    return answer.status_code in (401, 429) and "Hygie-Step-Up" in answer.headers.get(
        "WWW-Authenticate", "Hygie-Step-Up" if answer.status_code == 429 else ""
    )


def harvest_by_search_and_charts(client: TestClient) -> Haul:
    """Page through every two-letter search, and read each patient's chart, at full speed."""
    haul = Haul()
    for prefix in prefixes():
        answer = client.get("/api/patients", params={"name": prefix, "limit": 50})
        if refused(haul, answer):
            if haul.stopped_by is not None:
                return haul
            continue
        found = [p["id"] for p in answer.json()["patients"]]
        haul.summaries |= set(found)
        for patient in found:
            if not refused(haul, chart := client.get(f"/api/patients/{patient}")):
                haul.records.add(patient)
            elif haul.stopped_by is not None:
                return haul
            del chart
    return haul


def harvest_fhir(client: TestClient, token: str) -> Haul:
    """The same through FHIR with a token: searches paged to their end, then each Patient."""
    haul = Haul()
    headers = {"Authorization": f"Bearer {token}"}
    for prefix in prefixes():
        url: str | None = f"/fhir/Patient?family={prefix}&_count=100"
        while url:
            answer = client.get(url, headers=headers)
            if refused(haul, answer):
                if haul.stopped_by is not None:
                    return haul
                break
            bundle = answer.json()
            ids = [int(e["resource"]["id"]) for e in bundle.get("entry", [])]
            haul.summaries |= set(ids)
            for patient in ids:
                if not refused(haul, client.get(f"/fhir/Patient/{patient}", headers=headers)):
                    haul.records.add(patient)
                elif haul.stopped_by is not None:
                    return haul
            url = next((link["url"] for link in bundle.get("link", [])
                        if link["relation"] == "next"), None)  # fmt: skip
            if url is not None and url.startswith("http"):
                url = url.split("testserver", 1)[1]
    return haul


def received_per_trail(db: Database, username: str) -> tuple[set[int], set[int]]:
    """Patients in the account's allowed accesses, by level, as the trail has them."""
    with db.sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.username == username, AuditEvent.outcome == "allowed"
            )
        ).all()
    summaries = {p for e in events if e.level == "summary" for p in e.patient_ids}
    records = {p for e in events if e.level == "record" for p in e.patient_ids}
    return summaries, records


def locked(db: Database, username: str) -> bool:
    with db.sessions() as session:
        user = staff_store.user_by_username(session, username)
        assert user is not None
        return user.locked_at is not None


def test_a_full_speed_harvest_through_the_api_is_contained(group: Group) -> None:
    client = group.sign_in("sec.stolen")
    haul = harvest_by_search_and_charts(client)

    assert haul.status == 403 and haul.stopped_by is not None
    assert haul.stopped_by["containment"] == "contain"
    assert 0 < len(haul.records) < RECORD_BOUND
    assert 0 < len(haul.summaries) < SUMMARY_BOUND
    assert locked(group.db, "sec.stolen")
    # The session stops working at once, and signing in again is refused.
    assert client.get("/api/session").status_code == 401
    assert client.get("/api/patients", params={"name": "MA"}).status_code == 401
    again = group.client().post(
        "/api/session",
        json={"username": "sec.stolen", "password": PASSWORD,
              "totp": group.logins["sec.stolen"].code(datetime.now(UTC) + timedelta(seconds=30))},
    )  # fmt: skip
    assert again.status_code == 401
    # The trail names exactly what the attacker received, no more, no fewer.
    assert received_per_trail(group.db, "sec.stolen") == (haul.summaries, haul.records)

    # The security officer sees the alert and its evidence, and unlocks with a reason.
    officer = group.sign_in("rssi.h")
    alerts = officer.get("/api/alerts").json()["alerts"]
    contained = [a for a in alerts if a["username"] == "sec.stolen" and a["response"] == "contain"]
    assert len(contained) == 1 and contained[0]["locked"] is True
    assert contained[0]["severity"] == "critical"
    assert contained[0]["evidence"]["findings"] and contained[0]["evidence"]["recent_events"]
    refused = officer.post("/api/accounts/sec.stolen/unlock", json={"reason": "court"})
    assert refused.status_code == 422 and refused.json()["field"] == "reason"
    done = officer.post(
        "/api/accounts/sec.stolen/unlock", json={"reason": "Identité vérifiée, mot de passe changé"}
    )
    assert done.status_code == 200, done.text
    assert not locked(group.db, "sec.stolen")
    # The revoked session stays revoked: its owner signs in again.
    assert client.get("/api/session").status_code == 401
    with group.db.sessions() as session:
        unlock = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "account.unlock")
        ).one()
    assert unlock.username == "rssi.h" and unlock.details["account"] == "sec.stolen"


def test_a_full_speed_harvest_through_fhir_with_a_token_is_contained(group: Group) -> None:
    with group.db.transaction() as session:
        user = staff_store.user_by_username(session, "sec.stolen")
        assert user is not None
        issued = issue_token(session, user=user, ttl=timedelta(hours=1), scope="read",
                             now=datetime.now(UTC), how="cli")  # fmt: skip
    client = group.client()
    haul = harvest_fhir(client, issued.secret)

    assert haul.status == 403 and haul.stopped_by is not None
    assert haul.stopped_by["resourceType"] == "OperationOutcome"
    assert 0 < len(haul.records) < RECORD_BOUND
    assert len(haul.summaries) < SUMMARY_BOUND
    assert locked(group.db, "sec.stolen")
    # The token stops working at once.
    headers = {"Authorization": f"Bearer {issued.secret}"}
    assert client.get(f"/fhir/Patient/{min(haul.records)}", headers=headers).status_code == 401
    assert received_per_trail(group.db, "sec.stolen") == (haul.summaries, haul.records)
    with group.db.sessions() as session:
        alert = session.scalars(
            select(SecurityAlert).where(SecurityAlert.response == "contain")
        ).one()
        user = session.scalars(select(User).where(User.username == "sec.stolen")).one()
    assert alert.user_id == user.id and "contained" in (user.locked_reason or "")
