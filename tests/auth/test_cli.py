"""``hygie user add``, ``hygie user disable`` and ``hygie token issue``, run as a user runs
them: real processes on a SQLite file."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import func, select

from hygie.db import Database
from hygie.models import ApiToken, AuditEvent, Credential, Habilitation, Professional, User
from hygie.organisation import service as org
from tests.factories import finess, rpps

HYGIE = [sys.executable, "-m", "hygie.cli.main"]
PASSWORD = "violet tram under the bridge\n"


def run(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HYGIE_DATABASE_URL": f"sqlite:///{tmp_path / 'hygie.db'}",
        "HYGIE_KEY_FILE": str(tmp_path / "hygie.keys"),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [*HYGIE, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        input=stdin if stdin is not None else "",
        timeout=120,
        check=False,
    )


def clean_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    for word in words:
        assert word.lower() in result.stderr.lower(), result.stderr


@pytest.fixture
def home(tmp_path: Path) -> Path:
    assert run(tmp_path, "keys", "init").returncode == 0
    assert run(tmp_path, "db", "upgrade").returncode == 0
    db = Database.open(f"sqlite:///{tmp_path / 'hygie.db'}")
    with db.transaction() as session:  # no encrypted column: no key needed here
        group = org.create_group(session, name="Groupe CLI")
        for n, city in ((1, "Paris"), (2, "Boulogne")):
            org.create_establishment(
                session,
                group_id=group.id,
                finess=finess(n),
                name=f"Clinique {n}",
                address_line="1 rue A",
                postal_code="75001",
                city=city,
            )
    db.dispose()
    return tmp_path


def counts(home: Path) -> dict[str, int]:
    db = Database.open(f"sqlite:///{home / 'hygie.db'}")
    try:
        with db.sessions() as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (User, Credential, Habilitation, Professional, ApiToken, AuditEvent)
            }
    finally:
        db.dispose()


def test_user_add_with_password_on_stdin(home: Path) -> None:
    result = run(
        home,
        "user", "add", "Marie.Curie", "--role", "physician",
        "--establishment", finess(1), "--establishment", finess(2),
        "--password-stdin", "--rpps", rpps(7), "--family-name", "Curie", "--given-name", "Marie",
        stdin=PASSWORD,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    uri = next(line for line in result.stdout.splitlines() if "otpauth://" in line)
    uri = uri[uri.index("otpauth://") :]
    assert uri.startswith("otpauth://totp/Hygie:marie.curie?")
    assert parse_qs(urlparse(uri).query)["issuer"] == ["Hygie"]
    codes = [line.strip() for line in result.stdout.splitlines() if line.startswith("  ")]
    assert len(codes) == 10
    assert "password:" not in result.stdout  # it was given, so not printed
    db = Database.open(f"sqlite:///{home / 'hygie.db'}")
    with db.sessions() as session:
        user = session.scalars(select(User).where(User.username == "marie.curie")).one()
        assert user.display_name == "Dr Marie Curie"
        professional = session.get(Professional, user.professional_id)
        assert professional is not None and professional.profession == "physician"
        habilitations = session.scalars(select(Habilitation)).all()
        assert {h.role for h in habilitations} == {"physician"} and len(habilitations) == 2
        # (the TOTP secret column is encrypted with the CLI's key file; read the hash only)
        stored = session.scalar(
            select(Credential.password_hash).where(Credential.user_id == user.id)
        )
        assert stored is not None and stored.startswith("$argon2id$")
        actions = [e.action for e in session.scalars(select(AuditEvent))]
        assert actions == ["account.create", "mfa.enrolment_start"]
        assert session.scalars(select(AuditEvent.how)).all() == ["cli", "cli"]
    db.dispose()


def test_user_add_generates_a_password(home: Path) -> None:
    result = run(
        home, "user", "add", "sec.one", "--role", "secretary", "--establishment", finess(1)
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("password: "))
    assert len(line.removeprefix("password: ")) == 24
    assert "otpauth://" in result.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [
        (["--role", "wizard", "--establishment", finess(1)], None, ["role", "physician"]),
        (["--role", "nurse", "--establishment", finess(9)], None, ["establishment", finess(9)]),
        (["--role", "nurse", "--establishment", "123"], None, ["establishment"]),
        (["--role", "nurse", "--establishment", finess(1), "--password-stdin"], "short\n", ["too short"]),
        (["--role", "nurse", "--establishment", finess(1), "--password-stdin"], "password1234\n", ["too common"]),
        (["--role", "nurse", "--establishment", finess(1), "--password-stdin"], "", ["standard input"]),
        (["--role", "nurse", "--establishment", finess(1), "--rpps", "12345678901",
          "--family-name", "X", "--given-name", "Y"], None, ["rpps"]),
        (["--role", "secretary", "--establishment", finess(1), "--rpps", rpps(8),
          "--family-name", "X", "--given-name", "Y"], None, ["rpps"]),
        (["--role", "nurse"], None, ["establishment"]),
    ],
)  # fmt: skip
def test_user_add_refusals_leave_nothing(
    home: Path, args: list[str], stdin: str | None, words: list[str]
) -> None:
    before = counts(home)
    clean_error(run(home, "user", "add", "new.one", *args, stdin=stdin), *words)
    assert counts(home) == before


def test_duplicate_username(home: Path) -> None:
    args = ["user", "add", "dup.user", "--role", "nurse", "--establishment", finess(1)]
    assert run(home, *args).returncode == 0
    before = counts(home)
    clean_error(run(home, *args), "taken")
    assert counts(home) == before


def test_token_issue_and_disable(home: Path) -> None:
    add = ["user", "add", "api.user", "--role", "billing_officer", "--establishment", finess(2)]
    assert run(home, *add).returncode == 0
    result = run(home, "token", "issue", "api.user", "--ttl", "600", "--scope", "write")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("hyg_") and "\n" not in token
    assert "write token for api.user" in result.stderr
    db = Database.open(f"sqlite:///{home / 'hygie.db'}")
    with db.sessions() as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.scope == "write"
        assert (row.expires_at - row.created_at).total_seconds() == 600
        issued = session.scalars(select(AuditEvent).where(AuditEvent.action == "token.issue")).one()
        assert (issued.how, issued.token_id) == ("cli", row.id)

    result = run(home, "user", "disable", "api.user")
    assert result.returncode == 0, result.stderr
    assert "revoked 0 session(s) and 1 token(s)" in result.stdout
    with db.sessions() as session:
        assert session.scalars(select(ApiToken.revoked_at)).one() is not None
        user = session.scalars(select(User).where(User.username == "api.user")).one()
        assert user.active is False
        actions = {e.action for e in session.scalars(select(AuditEvent))}
        assert {"account.disable", "session.revoke_all", "token.revoke_all"} <= actions
    db.dispose()
    clean_error(run(home, "token", "issue", "api.user"), "disabled")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["token", "issue", "nobody"], ["no account"]),
        (["token", "issue", "nobody", "--ttl", "0"], ["ttl"]),
        (["token", "issue", "nobody", "--ttl", "90000"], ["ttl"]),
        (["token", "issue", "nobody", "--ttl", "abc"], ["ttl"]),
        (["token", "issue", "nobody", "--scope", "admin"], ["scope"]),
        (["user", "disable", "nobody"], ["no account"]),
    ],
)
def test_token_and_disable_refusals(home: Path, args: list[str], words: list[str]) -> None:
    before = counts(home)
    result = run(home, *args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in result.stderr.lower(), result.stderr
    # Nothing changes, except that a refused token for a named account is recorded (bad
    # options are refused before anything is looked up).
    refused_token = args[:2] == ["token", "issue"] and words == ["no account"]
    assert counts(home) == {**before, "audit_events": before["audit_events"] + refused_token}
