"""Containment across server processes: two real servers (uvicorn) on one PostgreSQL
database and one Redis. A harvest spread over both, with one session, is counted as one
and contained within the same bound as on one server; once the account is locked, its
session and its token stop working on both servers at once."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hygie.access.detection import DEFAULT_NORMS, Ladder
from hygie.access.maintenance import generate_group
from hygie.auth.tokens import issue_token
from hygie.db import Database
from hygie.kit.crypto import Keyring
from hygie.models import Establishment
from hygie.storage import staff as staff_store
from tests.api.conftest import PASSWORD, add_account, give_login

pytestmark = pytest.mark.postgres

RECORD_BOUND = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def servers(
    pg_db: Database, pg_url: str, keyring: Keyring, redis_url: str, tmp_path: Path
) -> Iterator[list[str]]:
    """Two servers on the test database, counting in one Redis under a prefix of their own."""
    generate_group(pg_db, keyring, establishments=1, patients=300, seed=4,
                   reference_date=datetime.now(UTC).date(), workers=1)  # fmt: skip
    keys = tmp_path / "hygie.keys"
    keyring.save(keys)
    env = {
        **os.environ, "HYGIE_DATABASE_URL": pg_url, "HYGIE_KEY_FILE": str(keys),
        "HYGIE_REDIS_URL": redis_url, "HYGIE_REDIS_PREFIX": f"hygie-test:{uuid.uuid4().hex}",
        "HYGIE_AUDIT_KEY_FILE": str(tmp_path / "audit.key"),
    }  # fmt: skip
    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "hygie.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, proc in zip(urls, procs, strict=True):
            _wait_ready(url, proc)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never became ready")


def test_a_harvest_spread_over_two_servers_is_contained_on_both(
    servers: list[str], pg_db: Database
) -> None:
    with pg_db.sessions() as session:
        est = session.query(Establishment.id).first()
    assert est is not None
    add_account(pg_db, "sec.twice", "secretary", est[0])
    login = give_login(pg_db, "sec.twice", at=datetime.now(UTC) - timedelta(minutes=5))
    with pg_db.transaction() as session:
        user = staff_store.user_by_username(session, "sec.twice")
        assert user is not None
        token = issue_token(session, user=user, scope="read", ttl=timedelta(hours=1),
                            now=datetime.now(UTC), how="cli").secret  # fmt: skip
    a, b = (httpx.Client(base_url=url, timeout=10) for url in servers)
    signed = a.post("/api/session", json={"username": "sec.twice", "password": PASSWORD,
                                         "totp": login.code(datetime.now(UTC))})  # fmt: skip
    assert signed.status_code == 200, signed.text
    cookie = {"Cookie": f"hygie_session={signed.cookies['hygie_session']}"}

    received: set[int] = set()
    stopped = None
    servers_used = itertools.cycle([a, b])
    for prefix in ("MA", "BE", "DU", "LE", "RO", "GA", "BO", "PE", "MO", "LA"):
        found = next(servers_used).get("/api/patients", params={"name": prefix, "limit": 50},
                                       headers=cookie)  # fmt: skip
        if found.status_code != 200:
            stopped = found
            break
        for patient in [p["id"] for p in found.json()["patients"]]:
            answer = next(servers_used).get(f"/api/patients/{patient}", headers=cookie)
            if answer.status_code == 200:
                received.add(patient)
            elif answer.json().get("containment") not in ("step_up", "slow"):
                stopped = answer  # contained (403), or the session is dead (401)
                break
        if stopped is not None:
            break
    assert stopped is not None, "the harvest was never stopped"
    assert 0 < len(received) < RECORD_BOUND
    # Counted once for both servers: no more than one server alone lets through before
    # asking for a fresh second factor (each would let as many through if they counted apart).
    one_server = int(DEFAULT_NORMS["records.1m"]["secretary"] * Ladder().step_up)
    assert len(received) <= one_server
    # Both servers: the session and the token are dead at once.
    for server in (a, b):
        assert server.get("/api/session", headers=cookie).status_code == 401
        bearer = {"Authorization": f"Bearer {token}"}
        assert server.get(f"/fhir/Patient/{min(received)}", headers=bearer).status_code == 401
    with pg_db.sessions() as session:
        user = staff_store.user_by_username(session, "sec.twice")
        assert user is not None and user.locked_at is not None
