"""The trail of a session that exercised every command of the command line: an event for
every access the commands made, in order, and nothing else (the HTTP half of this is
tests/api/test_trail.py). Commands that read or change no data (key and database set-up)
leave nothing; everything else leaves its event, refusals included."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.test_cli import assert_clean_error, run

PASSWORD = "violet tram under the bridge"


def _run(home: Path, *args: str, stdin: str | None = None) -> str:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "HYGIE_DATABASE_URL": f"sqlite:///{home / 'hygie.db'}",
        "HYGIE_KEY_FILE": str(home / "hygie.keys"),
        "HYGIE_AUDIT_KEY_FILE": str(home / "hygie-audit.key"),
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-m", "hygie.cli.main", *args], input=stdin, capture_output=True,
        text=True, env=env, cwd=home, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout


def test_every_command_leaves_its_events_and_nothing_else(tmp_path: Path) -> None:
    home = tmp_path
    for setup in (("keys", "init"), ("db", "upgrade"), ("audit", "init-key")):
        _run(home, *setup)
    expected: list[tuple[str, str]] = []

    _run(home, "generate", "--establishments", "1", "--patients", "30", "--seed", "3")
    expected.append(("synthetic.generate", "allowed"))
    with sqlite3.connect(home / "hygie.db") as conn:  # read-only look-up for the test
        (finess,) = conn.execute("SELECT finess FROM establishments").fetchone()
    _run(home, "user", "add", "ide.new", "--role", "nurse", "--establishment", finess,
         "--family-name", "Nouvelle", "--given-name", "Infirmière", "--rpps", "10000000991")  # fmt: skip
    expected += [("account.create", "allowed"), ("mfa.enrolment_start", "allowed")]
    _run(home, "token", "issue", "ide.new", "--scope", "read", "--ttl", "600")
    expected.append(("token.issue", "allowed"))
    _run(home, "user", "disable", "ide.new")
    expected += [("account.disable", "allowed"), ("session.revoke_all", "allowed"),
                 ("token.revoke_all", "allowed")]  # fmt: skip
    assert_clean_error(run(home, "token", "issue", "ide.new"), "disabled")
    expected.append(("token.issue", "denied"))
    _run(home, "keys", "rotate")
    expected.append(("keys.rotate", "allowed"))
    _run(home, "audit", "checkpoint")
    expected.append(("audit.checkpoint", "allowed"))
    _run(home, "audit", "verify")
    expected.append(("audit.verify", "allowed"))
    exported = _run(home, "audit", "export", "--format", "jsonl")
    expected.append(("audit.export", "allowed"))

    # The export holds the trail up to and including itself.
    trail = [json.loads(line) for line in exported.splitlines() if line.strip()]
    assert [(e["action"], e["outcome"]) for e in trail] == expected
    assert {e["how"] for e in trail} == {"cli"}
    denied = [e for e in trail if e["outcome"] == "denied"]
    assert denied and all(e["reason"] for e in denied)
