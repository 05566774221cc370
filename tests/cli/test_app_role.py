"""`hygie db grant-app-role`, and the operator's commands on PostgreSQL as in production:
the schema owned by an ordinary role (row-level security FORCEd on it too), the
application connected as the role the command grants."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.cli.test_cli import assert_clean_error, run
from tests.conftest import PG_ADMIN_URL

pytestmark = pytest.mark.postgres


@dataclass(frozen=True)
class Installation:
    name: str
    owner: str
    app: str

    def url(self, user: str) -> str:
        host = PG_ADMIN_URL.split("@", 1)[1].rsplit("/", 1)[0]
        return f"postgresql+psycopg://{user}@{host}/{self.name}"

    def as_user(self, user: str) -> dict[str, str]:
        return {"HYGIE_DATABASE_URL": self.url(user)}

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}", autocommit=True)


@pytest.fixture
def installation(pg_url: str) -> Iterator[Installation]:
    """A database owned by a fresh ordinary role (``pg_url``: skips without PostgreSQL)."""
    suffix = uuid.uuid4().hex[:10]
    inst = Installation(f"hygie_cli_{suffix}", f"hygie_owner_{suffix}", f"hygie_app_{suffix}")
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{inst.owner}" LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB')
        conn.execute(f'CREATE DATABASE "{inst.name}" OWNER "{inst.owner}"')
    try:
        yield inst
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{inst.name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{inst.app}"')
            conn.execute(f'DROP ROLE IF EXISTS "{inst.owner}"')


@pytest.mark.slow
def test_owner_operates_and_the_application_role_is_walled(
    tmp_path: Path, installation: Installation
) -> None:
    inst = installation
    owner, root = inst.as_user(inst.owner), inst.as_user("root")
    assert run(tmp_path, "keys", "init").returncode == 0
    assert run(tmp_path, "db", "upgrade", env=owner).returncode == 0
    made = run(tmp_path, "generate", "--establishments", "2", "--patients", "300",
               "--workers", "1", env=owner)  # fmt: skip
    assert made.returncode == 0, made.stderr
    with inst.admin() as conn:  # COPY needed FORCE lifted; it is back
        assert conn.execute(
            "SELECT relforcerowsecurity FROM pg_class WHERE relname = 'patients'"
        ).fetchone() == (True,)

    granted = run(tmp_path, "db", "grant-app-role", inst.app, env=root)
    assert granted.returncode == 0, granted.stderr
    assert f'CREATE ROLE "{inst.app}" LOGIN NOSUPERUSER NOBYPASSRLS' in granted.stdout
    assert f'GRANT SELECT, INSERT ON "audit_events" TO "{inst.app}";' in granted.stdout
    assert f'GRANT SELECT, UPDATE ON "audit_head" TO "{inst.app}";' in granted.stdout
    again = run(tmp_path, "db", "grant-app-role", inst.app, env=inst.as_user(inst.owner))
    assert again.returncode == 0, again.stderr  # the owner may re-grant after a migration
    assert "CREATE ROLE" not in again.stdout

    with psycopg.connect(inst.url(inst.app).replace("+psycopg", "")) as conn:
        assert conn.execute("SELECT count(*) FROM patients").fetchone() == (0,)
        conn.execute("SELECT set_config('hygie.establishments', '*', true)")
        assert conn.execute("SELECT count(*) FROM patients").fetchone() == (300,)

    rotated = run(tmp_path, "keys", "rotate", "--batch-size", "100", env=owner)
    assert rotated.returncode == 0, rotated.stderr
    reencrypted = int(rotated.stdout.split("re-encrypted ")[1].split()[0])
    assert reencrypted >= 300  # every NIR at least: rotation saw every row under FORCE
    status = run(tmp_path, "keys", "status", env=inst.as_user(inst.app))
    assert status.returncode == 0, status.stderr
    assert "patients.nir: k2=" in status.stdout and "k1=" not in status.stdout
    verified = run(tmp_path, "audit", "verify", env=inst.as_user(inst.app))
    assert verified.returncode == 0, verified.stderr + verified.stdout
    assert "trail intact" in verified.stdout


def test_roles_that_could_bypass_are_refused(tmp_path: Path, installation: Installation) -> None:
    inst = installation
    owner, root = inst.as_user(inst.owner), inst.as_user("root")
    assert run(tmp_path, "keys", "init").returncode == 0
    assert run(tmp_path, "db", "upgrade", env=owner).returncode == 0
    assert_clean_error(run(tmp_path, "db", "grant-app-role", "root", env=root), "superuser")
    assert_clean_error(run(tmp_path, "db", "grant-app-role", inst.owner, env=root), "owns")
    assert_clean_error(run(tmp_path, "db", "grant-app-role", "Bad-Name", env=root), "role")
    # The owner may not create roles here: a clear line, nothing half done.
    assert_clean_error(
        run(tmp_path, "db", "grant-app-role", inst.app, env=owner), "permission denied"
    )
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        created = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (inst.app,))
        assert created.fetchone() is None


def test_grant_app_role_needs_postgresql(tmp_path: Path) -> None:
    assert run(tmp_path, "keys", "init").returncode == 0
    assert run(tmp_path, "db", "upgrade").returncode == 0
    assert_clean_error(run(tmp_path, "db", "grant-app-role", "hygie_app"), "PostgreSQL only")
