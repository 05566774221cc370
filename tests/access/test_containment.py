"""Containment inside the gate: the request that would cross the line is refused before
the data leaves, the refusal and its alert are recorded, and an account contained stays
stopped (its sessions and tokens revoked, the board marked) until an officer unlocks it.
Decoy patients (honey records) raise alerts and contain."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from hygie.access import alerts, containment, gateway, honey
from hygie.access.actor import Actor, load_actor
from hygie.access.containment import Contained, Guard
from hygie.access.detection import Detector, Norms, Response
from hygie.db import Database
from hygie.errors import ConflictError
from hygie.kit import clock
from hygie.models import AuditEvent, SecurityAlert, User, WebSession
from hygie.patients import service as patients
from hygie.staff import service as staff
from hygie.storage import staff as staff_store
from tests.factories import DAY0, World

T0 = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)


@pytest.fixture(autouse=True)
def steady_clock() -> Iterator[None]:
    """Time as the gate reads it moves 0.2 s at each reading: the windows see the same
    pace however loaded the machine is (a real minute could hold fewer reads)."""
    now = [T0]

    def read() -> datetime:
        now[0] += timedelta(milliseconds=200)
        return now[0]

    with clock.virtual(read):
        yield


def actor(db: Database, username: str, session_id: int | None = None) -> Actor:
    with db.sessions() as s:
        return load_actor(s, username=username, how="web", session_id=session_id,
                          ip="10.1.1.1", user_agent="pytest")  # fmt: skip


@pytest.fixture
def people(db: Database, world: World) -> list[int]:
    ids = []
    with db.transaction() as s:
        for i in range(40):
            ids.append(
                patients.create_patient(
                    s, establishment_id=world.est_a, birth_name=f"Durand{chr(65 + i % 26)}",
                    birth_first_names=[f"Jean{chr(65 + i // 26)}{chr(97 + i % 26)}"], sex="male", birth_date=date(1950 + i, 1, 1),
                ).patient.id
            )  # fmt: skip
        officer = staff.create_user(s, username="rssi.a", display_name="RSSI")
        staff.grant_habilitation(s, user_id=officer.id, establishment_id=world.est_a,
                                 role="security_officer", valid_from=DAY0)  # fmt: skip
    return ids


def harvest(db: Database, who: Actor, people: list[int]) -> Response | None:
    """Read every chart, carrying on when asked to step up or slow down; the response that
    stopped the harvest."""
    for patient in people:
        try:
            gateway.read_chart(db, who, patient)
        except Contained as refused:
            if refused.response == Response.CONTAIN:
                return refused.response
    return None


def events(db: Database, **where: object) -> list[AuditEvent]:
    with db.sessions() as s:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return list(s.scalars(query))


def user(db: Database, username: str) -> User:
    with db.sessions() as s:
        found = staff_store.user_by_username(s, username)
        assert found is not None
        return found


def test_reads_past_the_line_are_refused_before_the_data_leaves(
    db: Database, world: World, people: list[int]
) -> None:
    """A token's reads (no step-up possible): alert, then slowed down, then contained; the
    refused reads leave the trail as refusals, never as allowed."""
    sec = actor(db, "sec.a")
    sec = Actor(**{**sec.__dict__, "session_id": None, "token_id": 1})
    got, refusals = [], []
    for patient in people:
        try:
            gateway.read_chart(db, sec, patient)
            got.append(patient)
        except Contained as refused:
            refusals.append(refused.response)
            if refused.response == Response.CONTAIN:
                break
    assert refusals[-1] == Response.CONTAIN and Response.SLOW in refusals
    assert len(got) < 20
    allowed = {p for e in events(db, username="sec.a", outcome="allowed", action="chart.read")
               for p in e.patient_ids}  # fmt: skip
    assert allowed == set(got)
    contained = events(db, username="sec.a", outcome="contained")
    assert len(contained) == 1 and contained[0].details["response"] == "contain"
    assert user(db, "sec.a").locked_at is not None
    # The board stops any request already past authentication, on every instance.
    with pytest.raises(Contained):
        gateway.read_chart(db, sec, got[0])
    with db.sessions() as s:
        alert_rows = list(s.scalars(select(SecurityAlert).order_by(SecurityAlert.id)))
    assert [a.response for a in alert_rows][-1] == "contain"
    assert {a.response for a in alert_rows} >= {"alert", "slow", "contain"}


def test_a_contained_accounts_sessions_are_revoked(
    db: Database, world: World, people: list[int]
) -> None:
    with db.transaction() as s:
        row = WebSession(id_hash="x" * 64, user_id=world.physician_user, csrf_secret="0" * 64)
        s.add(row)
        s.flush()
        session_id = row.id
    doctor = actor(db, "dr.a", session_id=session_id)
    containment.install(db, Guard(detector=Detector(norms=Norms({(None, None, "records.1m"): 1}))))
    assert harvest(db, doctor, people) == Response.CONTAIN
    with db.sessions() as s:
        revoked = s.get(WebSession, session_id)
        assert revoked is not None and revoked.revoked_at is not None
        assert "contained" in (revoked.revoked_reason or "")


def test_a_step_up_refusal_is_waived_after_a_fresh_second_factor(
    db: Database, world: World, people: list[int]
) -> None:
    guard = containment.install(db, Guard())
    sec = actor(db, "sec.a", session_id=5)
    responses = []
    for patient in reversed(people[:14]):  # not a sweep up the ids: volume alone
        try:
            gateway.read_chart(db, sec, patient)
            responses.append(None)
        except Contained as refused:
            responses.append(refused.response)
    assert Response.STEP_UP in responses
    guard.stepped_up(sec.user_id, clock.now())
    gateway.read_chart(db, sec, people[14])  # let through, with an alert


def test_decoys_alert_in_lists_and_contain_when_opened(
    db: Database, world: World, people: list[int]
) -> None:
    planted = honey.plant(db, per_establishment=2, seed=3)
    assert len(planted) == 4 and honey.count(db) == 4
    # Decoys look like anyone: a file, an identity, nothing else.
    sec = actor(db, "sec.a")
    decoy = next(p for p in planted if p in _patients_of(db, world.est_a))
    chart = _decoy_name(db, decoy)
    found = gateway.search_patients(db, sec, name=chart)
    assert decoy in [p.id for p in found]
    with db.sessions() as s:
        listed = s.scalars(
            select(SecurityAlert).where(SecurityAlert.rule == "honey.summaries.1d")
        ).all()
    assert len(listed) == 1 and listed[0].response == "alert"
    with pytest.raises(Contained):
        gateway.read_chart(db, sec, decoy)
    assert user(db, "sec.a").locked_at is not None
    with db.sessions() as s:
        opened = s.scalars(select(SecurityAlert).where(SecurityAlert.rule == "honey.record")).one()
    assert opened.severity == "critical"
    assert events(db, action="honey.plant")[0].patient_ids == sorted(planted)


def test_only_an_officer_unlocks_with_a_reason(
    db: Database, world: World, people: list[int]
) -> None:
    containment.install(db, Guard(detector=Detector(norms=Norms({(None, None, "records.1m"): 1}))))
    sec = actor(db, "sec.a")
    assert harvest(db, sec, people) == Response.CONTAIN
    with pytest.raises(gateway.AccessDenied):
        alerts.unlock_account(db, actor(db, "dr.a"), username="sec.a", reason="je le connais bien")
    officer = actor(db, "rssi.a")
    listed = alerts.list_alerts(db, officer)
    assert any(a.username == "sec.a" and a.locked for a in listed)
    alerts.unlock_account(db, officer, username="sec.a", reason="appel au poste vérifié")
    assert user(db, "sec.a").locked_at is None
    with pytest.raises(ConflictError):
        alerts.unlock_account(db, officer, username="sec.a", reason="appel au poste vérifié")
    gateway.read_chart(db, sec, people[0])  # reads again (the board was cleared)
    closed = alerts.close_alert(
        db, officer, alert_id=listed[0].id, comment="faux positif : tournée"
    )
    assert closed.status == "closed" and closed.reviewed_by == "rssi.a"
    unlock = events(db, action="account.unlock", outcome="allowed")
    assert unlock[0].username == "rssi.a" and unlock[0].details["account"] == "sec.a"


def test_a_patient_read_again_and_again_never_contains(
    db: Database, world: World, people: list[int]
) -> None:
    sec = actor(db, "sec.a")
    for _ in range(60):
        gateway.read_chart(db, sec, people[0])
    with db.sessions() as s:
        assert s.scalars(select(SecurityAlert)).first() is None


def _patients_of(db: Database, establishment: int) -> set[int]:
    with db.sessions() as s:
        from hygie.models import PatientRegistration

        return set(s.scalars(select(PatientRegistration.patient_id).where(
            PatientRegistration.establishment_id == establishment)))  # fmt: skip


def _decoy_name(db: Database, patient: int) -> str:
    with db.sessions() as s:
        from hygie.models import Patient

        found = s.get(Patient, patient)
        assert found is not None
        return found.birth_name
