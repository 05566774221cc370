"""The direct path (``hygie.db_direct``, ``access.chart_direct``): a server's FHIR Patient read
on PostgreSQL goes through asyncio driver connections, not the ORM. It must answer and
record exactly what the ORM path does, refuse and record the same way (by handing the case
to the ORM path), keep row-level security, write every event before answering, and keep
the chain whole when events are written in batches."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hygie.access import trail, trail_pg
from hygie.app import create_app
from hygie.auth import tokens
from hygie.db import Database, check_and_register_keys
from hygie.kit.crypto import Keyring
from hygie.models import AuditEvent
from hygie.patients import service as patients
from hygie.storage import direct as direct_store
from hygie.storage import staff as staff_store
from tests.access.test_row_level_security import app_db, app_role  # noqa: F401 (fixtures)
from tests.api.conftest import Site, add_patient
from tests.factories import build_world
from tests.fhir.conftest import events_after, token
from tests.fhir.live import serving

pytestmark = pytest.mark.postgres

# What an event says about an access, whichever way it was served.
COMPARED = (
    "user_id", "username", "role", "establishment_id", "token_id", "how", "action", "level",
    "patient_ids", "categories", "purpose", "outcome", "reason", "record_count", "details",
)  # fmt: skip


@pytest.fixture
def db(pg_db: Database) -> Database:
    """This module's ``site`` is on PostgreSQL only: the direct path is PostgreSQL's."""
    return pg_db


@pytest.fixture
def served(site: Site) -> Iterator[str]:
    with serving(site.app) as base:
        yield base


@pytest.fixture
def direct_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The patients read the direct way (the server runs in this process)."""
    seen: list[int] = []
    original = direct_store.identity_record

    async def counting(conn: Any, patient_id: int) -> Any:
        seen.append(patient_id)
        return await original(conn, patient_id)

    monkeypatch.setattr(direct_store, "identity_record", counting)
    return seen


def _get(base: str, path: str, secret: str) -> httpx.Response:
    return httpx.get(
        f"{base}/fhir/{path}", headers={"Authorization": f"Bearer {secret}", "User-Agent": "direct"}
    )


def _orm_client(site: Site, secret: str) -> TestClient:
    """The same application without its lifespan: no direct connections, the ORM way."""
    return TestClient(
        site.app, base_url="https://testserver",
        headers={"Authorization": f"Bearer {secret}", "User-Agent": "direct"},
    )  # fmt: skip


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in COMPARED}


def test_the_same_answer_and_the_same_event_as_the_orm_path(
    site: Site, served: str, direct_reads: list[int]
) -> None:
    secret = token(site, "sec.a")  # a secretary sees the full NIR, a physician a masked one
    doctor = token(site, "dr.a")
    for who in (secret, doctor):
        before = site.last_event_id()
        fast = _get(served, f"Patient/{site.patient}", who)
        middle = site.last_event_id()
        slow = _orm_client(site, who).get(f"/fhir/Patient/{site.patient}")
        assert fast.status_code == slow.status_code == 200
        assert fast.json() == slow.json()
        assert fast.headers["etag"] == slow.headers["etag"]
        [fast_event] = [e for e in events_after(site.db, before) if e.id <= middle]
        [slow_event] = events_after(site.db, middle)
        assert _fields(fast_event) == _fields(slow_event)
        assert fast_event.action == "fhir.patient.read" and fast_event.outcome == "allowed"
    assert direct_reads == [site.patient, site.patient]


def test_refusals_are_decided_and_recorded_the_orm_way(
    site: Site, served: str, direct_reads: list[int]
) -> None:
    with site.db.transaction() as s:
        elsewhere = patients.create_patient(
            s, establishment_id=site.world.est_b, birth_name="Ailleurs", birth_first_names=["Zoé"],
            sex="female", birth_date=date(1980, 2, 2),
        ).patient.id  # fmt: skip
    doctor = token(site, "dr.a")
    before = site.last_event_id()
    assert _get(served, f"Patient/{elsewhere}", doctor).status_code == 404
    assert _get(served, "Patient/999999", doctor).status_code == 404
    refusals = events_after(site.db, before)
    assert [(e.action, e.outcome, e.patient_ids) for e in refusals] == [
        ("fhir.patient.read", "denied", [elsewhere]),
        ("fhir.patient.read", "denied", [999999]),
    ]
    assert direct_reads == [elsewhere, 999999]  # tried the direct way, refused the ORM way
    before = site.last_event_id()
    assert _get(served, f"Patient/{site.patient}", "hyg_not-a-token").status_code == 401
    [unknown] = events_after(site.db, before)
    assert (unknown.action, unknown.outcome, unknown.reason) == (
        "token.use", "denied", "unknown token",
    )  # fmt: skip


def test_a_revoked_or_expired_token_is_refused_at_once(site: Site, served: str) -> None:
    doctor = token(site, "dr.a")
    assert _get(served, f"Patient/{site.patient}", doctor).status_code == 200
    with site.db.transaction() as s:
        user = staff_store.user_by_username(s, "dr.a")
        assert user is not None
        tokens.revoke_user_tokens(s, user=user, now=datetime.now(UTC), how="cli", reason="test")
    before = site.last_event_id()
    assert _get(served, f"Patient/{site.patient}", doctor).status_code == 401
    [refused] = events_after(site.db, before)
    assert (refused.action, refused.outcome, refused.reason) == (
        "token.use", "denied", "revoked token",
    )  # fmt: skip


def test_no_event_no_data(site: Site, served: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def failing(conn: Any, batch: list[dict[str, Any]]) -> list[int]:
        raise RuntimeError("the trail's disk is full")

    monkeypatch.setattr(trail_pg, "write_events_async", failing)
    secret = token(site, "sec.a")
    before = site.last_event_id()
    answer = _get(served, f"Patient/{site.patient}", secret)
    assert answer.status_code == 500
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert "Martin" not in answer.text
    assert [e.action for e in events_after(site.db, before)] == ["fhir.request"]


def test_concurrent_reads_are_each_recorded_and_the_chain_holds(
    site: Site, served: str, direct_reads: list[int]
) -> None:
    secret = token(site, "dr.a")
    before = site.last_event_id()
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(
            pool.map(lambda _: _get(served, f"Patient/{site.patient}", secret), range(120))
        )
    assert [a.status_code for a in answers] == [200] * 120
    events = events_after(site.db, before)
    assert len(events) == 120 and {e.action for e in events} == {"fhir.patient.read"}
    assert len(direct_reads) == 120
    report = trail.verify(site.db, grace=None)
    assert report.finding is None, report.finding


def test_a_connection_serves_each_actor_in_its_own_scope(
    site: Site, served: str, direct_reads: list[int]
) -> None:
    """Connections keep the scope they declared between uses: actors of two establishments
    taking turns on them each see their own patients only."""
    with site.db.transaction() as s:
        of_b = patients.create_patient(
            s, establishment_id=site.world.est_b, birth_name="Bdeux", birth_first_names=["Yan"],
            sex="male", birth_date=date(1970, 3, 3),
        ).patient.id  # fmt: skip
    doctor_a, doctor_b = token(site, "dr.a"), token(site, "dr.b")
    for _ in range(10):
        assert _get(served, f"Patient/{site.patient}", doctor_a).status_code == 200
        assert _get(served, f"Patient/{of_b}", doctor_a).status_code == 404
        assert _get(served, f"Patient/{of_b}", doctor_b).status_code == 200
        assert _get(served, f"Patient/{site.patient}", doctor_b).status_code == 404


def test_row_level_security_binds_the_direct_path(
    pg_db: Database,
    app_db: Database,  # noqa: F811
    keyring: Keyring,
    direct_reads: list[int],
) -> None:
    """As the application role, which row-level security binds (the suite's other tests
    connect as a superuser, which it does not): a direct connection sees a patient only in
    the scope it declared, and the served read works within it."""
    with pg_db.transaction() as session:
        world = build_world(session)
    patient = add_patient(pg_db, world)
    check_and_register_keys(app_db, keyring)

    async def scoped_reads() -> list[bool]:
        await app_db.open_direct()
        try:
            assert app_db.direct is not None
            seen = []
            for scope in (str(world.est_b), "", str(world.est_a), str(world.est_b)):
                async with app_db.direct.connection(scope) as conn:
                    seen.append(await direct_store.identity_record(conn, patient) is not None)
            return seen
        finally:
            await app_db.close_direct()

    assert asyncio.run(scoped_reads()) == [False, False, True, False]
    with pg_db.transaction() as session:
        user = staff_store.user_by_username(session, "dr.a")
        assert user is not None
        secret = tokens.issue_token(
            session, user=user, scope="read", ttl=timedelta(hours=1), now=datetime.now(UTC),
            how="cli",
        ).secret  # fmt: skip
    direct_reads.clear()
    with serving(create_app(db=app_db)) as base:
        assert _get(base, f"Patient/{patient}", secret).status_code == 200
    assert direct_reads == [patient]
    with pg_db.sessions() as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert (last.action, last.outcome, last.patient_ids) == (
        "fhir.patient.read",
        "allowed",
        [patient],
    )


def test_without_the_lifespan_the_route_goes_the_orm_way(
    site: Site, direct_reads: list[int]
) -> None:
    assert site.db.direct is None
    answer = _orm_client(site, token(site, "dr.a")).get(f"/fhir/Patient/{site.patient}")
    assert answer.status_code == 200
    assert direct_reads == []


SEARCHES: list[dict[str, str]] = [
    {"family": "bern"}, {"family": "bernard", "given": "paul"}, {"name": "paul"},
    {"family": "bern", "birthdate": "1952-03-01"}, {"family": "bern", "gender": "male"},
    {"family": "bern", "_count": "4", "_offset": "8"}, {"family": "bern", "_count": "0"},
    {"family": "bern", "_offset": "400"}, {"family": "zz"}, {"name": "dup"},
    {"family": "bern", "name": "leg"},
]  # fmt: skip


def test_searches_find_and_record_what_the_orm_path_does(
    site: Site, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with site.db.transaction() as s:
        for i in range(12):
            patients.create_patient(
                s, establishment_id=site.world.est_a if i % 3 else site.world.est_b,
                birth_name="Bernard" if i % 4 else "Dupuis", used_name="Legrand" if i % 5 == 0 else None,
                birth_first_names=[f"Paul{chr(65 + i)}"], sex="male" if i % 2 else "female",
                birth_date=date(1950 + i % 4, 3, 1),
            )  # fmt: skip
    calls: list[int] = []
    original = direct_store.find

    async def counting(conn: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return await original(conn, **kwargs)

    monkeypatch.setattr(direct_store, "find", counting)
    secret = token(site, "sec.a")
    for params in SEARCHES:
        before = site.last_event_id()
        fast = httpx.get(
            f"{served}/fhir/Patient", params=params, headers={"Authorization": f"Bearer {secret}"}
        )
        middle = site.last_event_id()
        slow = _orm_client(site, secret).get("/fhir/Patient", params=params)
        assert fast.status_code == slow.status_code == 200, (params, fast.text)
        fast_body, slow_body = fast.json(), slow.json()
        assert fast_body["total"] == slow_body["total"], params
        assert [e["resource"] for e in fast_body.get("entry", [])] == [
            e["resource"] for e in slow_body.get("entry", [])
        ], params
        [fast_event] = [e for e in events_after(site.db, before) if e.id <= middle]
        [slow_event] = events_after(site.db, middle)
        assert _fields(fast_event) == _fields(slow_event), params
    assert len(calls) == len(SEARCHES)


def test_an_event_the_database_refuses_fails_its_own_request_only(
    site: Site, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with site.db.transaction() as s:
        other = patients.create_patient(
            s, establishment_id=site.world.est_a, birth_name="Autre", birth_first_names=["Lou"],
            sex="female", birth_date=date(1991, 1, 1),
        ).patient.id  # fmt: skip
    original = trail_pg.write_events_async

    async def refusing(conn: Any, batch: list[dict[str, Any]]) -> list[int]:
        if any(v["patient_ids"] == [other] for v in batch):
            raise RuntimeError("refused")
        return await original(conn, batch)

    monkeypatch.setattr(trail_pg, "write_events_async", refusing)
    secret = token(site, "dr.a")
    targets = [site.patient, other] * 20
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda p: (p, _get(served, f"Patient/{p}", secret)), targets))
    assert {a.status_code for p, a in answers if p == site.patient} == {200}
    assert {a.status_code for p, a in answers if p == other} == {500}
