"""The API under test: the application on the ``db`` fixture with a clock the tests move,
a small group whose people can sign in (password + TOTP), and one patient in establishment A
with an appointment with Dr A (so Dr A has a care relationship, the nurse does not)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hygie.api import deps
from hygie.app import create_app
from hygie.auth import passwords, service, totp
from hygie.clinical import service as clinical
from hygie.db import Database
from hygie.models import AuditEvent, Credential
from hygie.patients import service as patients
from hygie.scheduling import service as scheduling
from hygie.staff import service as staff
from hygie.storage import staff as staff_store
from tests.factories import DAY0, World, build_world, nir

PASSWORD = "violet tram under the bridge"
USER_AGENT = "pytest-api"
CLIENT_IP = "testclient"  # what Starlette's test client reports as the peer address


class Clock:
    """The API's notion of now: starts at the real time, moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Login:
    username: str
    secret: str
    recovery_codes: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)  # codes spent (each is accepted once)

    def code(self, at: datetime) -> str:
        return totp.code_at(self.secret, at)


@dataclass
class Site:
    """Everything a test needs: the app, its clock, the group, the patient, the logins."""

    db: Database
    app: FastAPI
    clock: Clock
    world: World
    patient: int
    logins: dict[str, Login]

    def client(self) -> TestClient:
        # https: the session cookie is Secure, so the client sends it back over TLS only.
        return TestClient(
            self.app, base_url="https://testserver", headers={"User-Agent": USER_AGENT}
        )

    def sign_in(self, username: str, **override: Any) -> tuple[TestClient, dict[str, Any]]:
        """A client signed in as ``username`` (one TOTP step later than the last sign-in,
        since a code is accepted once) and the sign-in answer."""
        client = self.client()
        at = self.clock.advance(seconds=30)
        body: dict[str, Any] = {
            "username": username,
            "password": PASSWORD,
            "totp": self.logins[username].code(at),
        }
        body.update(override)
        answer = client.post("/api/session", json=body)
        assert answer.status_code == 200, answer.text
        return client, answer.json()

    def last_event_id(self) -> int:
        with self.db.sessions() as session:
            return session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0))) or 0

    def events_since(self, event_id: int) -> list[AuditEvent]:
        with self.db.sessions() as session:
            return list(
                session.scalars(
                    select(AuditEvent).where(AuditEvent.id > event_id).order_by(AuditEvent.id)
                )
            )


@cache
def password_hash() -> str:
    """One argon2id hash of PASSWORD for every account (hashing costs a third of a second)."""
    return passwords.hash_password(PASSWORD)


def give_login(db: Database, username: str, *, at: datetime, enrolled: bool = True) -> Login:
    """A password and a TOTP secret for an existing account, confirmed an hour before ``at``
    unless ``enrolled`` is false (as if its holder had entered a first code)."""
    with db.transaction() as session:
        user = staff_store.user_by_username(session, username)
        assert user is not None
        credential = Credential(
            user_id=user.id, password_hash=password_hash(), password_changed_at=at
        )
        session.add(credential)
        session.flush()
        enrolment = service.start_enrolment(session, user=user, now=at, how="cli")
        if enrolled:
            credential.totp_enrolled_at = at - timedelta(hours=1)
    return Login(username, enrolment.secret, enrolment.recovery_codes)


def add_account(db: Database, username: str, role: str, establishment_id: int) -> None:
    with db.transaction() as session:
        user = staff.create_user(session, username=username, display_name=username)
        staff.grant_habilitation(
            session, user_id=user.id, establishment_id=establishment_id, role=role,
            valid_from=DAY0,
        )  # fmt: skip


def add_patient(db: Database, world: World, *, birth_name: str = "Martin", order: int = 1) -> int:
    with db.transaction() as s:
        p = patients.create_patient(
            s, establishment_id=world.est_a, birth_name=birth_name, birth_first_names=["Alice"],
            sex="female", birth_date=date(1980, 5, 3), nir=nir(sex=2, order=order), birth_place_code="75056",
            identity_status="qualified",
        ).patient  # fmt: skip
        clinical.record_allergy(
            s, patient_id=p.id, establishment_id=world.est_a, substance="Pénicillines",
            reaction="urticaire", severity="severe", recorded_by_id=world.physician,
        )  # fmt: skip
        clinical.write_note(
            s, patient_id=p.id, establishment_id=world.est_a, author_id=world.physician,
            kind="consultation", text="Suivi : tout va bien.",
        )  # fmt: skip
        scheduling.book_appointment(
            s, patient_id=p.id, practitioner_id=world.physician, establishment_id=world.est_a,
            start_at=datetime.now(UTC) + timedelta(days=2, hours=order), duration_min=20, reason="Suivi",
        )  # fmt: skip
        return p.id


# Who can sign in: Dr A (care relationship), the nurse (none: break-the-glass), the
# secretary, Dr B (establishment B only), the IT administrator, the security officer and
# the billing officer.
SIGNING_IN = ("dr.a", "ide.a", "sec.a", "dr.b", "it.admin", "rssi.a", "fact.a")


@pytest.fixture
def site(db: Database) -> Iterator[Site]:
    with db.transaction() as session:
        world = build_world(session)
    add_account(db, "it.admin", "it_admin", world.est_a)
    add_account(db, "rssi.a", "security_officer", world.est_a)
    add_account(db, "fact.a", "billing_officer", world.est_a)
    patient = add_patient(db, world)
    clock = Clock()
    logins = {name: give_login(db, name, at=clock.now) for name in SIGNING_IN}
    app = create_app(db=db)
    app.dependency_overrides[deps.now] = clock
    yield Site(db=db, app=app, clock=clock, world=world, patient=patient, logins=logins)
    app.dependency_overrides.clear()
