"""``hygie audit`` run as an operator would: a real process on a SQLite file."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from hygie.db import Database
from tests.access.trail_helpers import fill

HYGIE = [sys.executable, "-m", "hygie.cli.main"]
# RFC 5424: <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]
SYSLOG = re.compile(
    r"^<(?P<pri>\d{1,3})>1 (?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)) "
    r"(?P<host>[!-~]{1,255}) (?P<app>[!-~]{1,48}) (?P<proc>[!-~]{1,128}) (?P<msgid>[!-~]{1,32}) "
    r"(?P<sd>-|(\[[^ =\]\"]+( [^ =\]\"]{1,32}=\"([^\"\\\]]|\\[\"\\\]])*\")*\])+)"
    r"( (?P<msg>.*))?$"
)
AT_SEQ = "(SELECT event_id FROM audit_seals WHERE seq = {})"
PARAM = re.compile(r'([^ =\]"]{1,32})="((?:[^"\\\]]|\\["\\\]])*)"')


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HYGIE_DATABASE_URL": f"sqlite:///{home / 'hygie.db'}",
        "HYGIE_KEY_FILE": str(home / "hygie.keys"),
        "HYGIE_AUDIT_KEY_FILE": str(home / "hygie-audit.key"),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [*HYGIE, *args], capture_output=True, text=True, env=env, cwd=home, timeout=120, check=False
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word.lower() in (result.stderr + result.stdout).lower(), result.stderr


@pytest.fixture
def home(tmp_path: Path) -> Path:
    assert run(tmp_path, "keys", "init").returncode == 0
    assert run(tmp_path, "db", "upgrade").returncode == 0
    db = Database.open(f"sqlite:///{tmp_path / 'hygie.db'}")
    fill(db, 8)
    db.dispose()
    return tmp_path


def test_verify_checkpoint_then_a_tampered_event_is_named(home: Path) -> None:
    ok = run(home, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "checked 8 events" in ok.stdout and "events/s" in ok.stdout
    assert "no checkpoint" in ok.stderr  # warned: no key, no checkpoint

    signed = run(home, "audit", "checkpoint")
    assert signed.returncode == 0, signed.stderr
    assert "checkpoint #1: seq 9" in signed.stdout  # the 8 events and the verification
    assert oct((home / "hygie-audit.key").stat().st_mode & 0o777) == "0o600"
    assert_clean_error(run(home, "audit", "init-key"), "already exists")

    ok = run(home, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "checked 10 events" in ok.stdout and "checkpoints verified: 1" in ok.stdout

    with sqlite3.connect(home / "hygie.db") as conn:  # the attacker, with the file
        conn.execute("DROP TRIGGER audit_events_no_update")
        conn.execute("UPDATE audit_events SET username = 'someone' WHERE id = " + AT_SEQ.format(3))
    bad = run(home, "audit", "verify")
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert "modified" in bad.stderr and "seq 3" in bad.stderr
    # A checkpoint checks the chain since the previous one before signing it.
    with sqlite3.connect(home / "hygie.db") as conn:
        conn.execute("UPDATE audit_events SET ip = '6.6.6.6' WHERE id = " + AT_SEQ.format(10))
    assert_clean_error(run(home, "audit", "checkpoint"), "not intact", "seq 10")


def test_a_truncated_tail_is_named_by_the_command(home: Path) -> None:
    assert run(home, "audit", "checkpoint").returncode == 0
    with sqlite3.connect(home / "hygie.db") as conn:
        for table in ("audit_events", "audit_patients", "audit_seals"):
            conn.execute(f"DROP TRIGGER {table}_no_delete")
        doomed = "(SELECT event_id FROM audit_seals WHERE seq > 5)"
        conn.execute(f"DELETE FROM audit_patients WHERE event_id IN {doomed}")
        events = [row[0] for row in conn.execute(doomed[1:-1])]
        conn.execute("DELETE FROM audit_seals WHERE seq > 5")
        conn.executemany("DELETE FROM audit_events WHERE id = ?", [(e,) for e in events])
        conn.execute(
            "UPDATE audit_head SET seq = 5, hash = (SELECT hash FROM audit_seals WHERE seq = 5)"
        )
    bad = run(home, "audit", "verify")
    assert bad.returncode == 2
    assert "seq 6" in bad.stderr and "truncated" in bad.stderr and "checkpoint #1" in bad.stderr


def test_export_jsonl(home: Path) -> None:
    result = run(home, "audit", "export")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    # The 8 events, and the export's own, recorded before anything is written out.
    assert [e["seq"] for e in events] == list(range(1, 10))
    assert events[-1]["action"] == "audit.export" and events[-1]["how"] == "cli"
    assert events[0]["username"] == "dr.lefèvre" and events[0]["patient_ids"] == [3, 42]
    assert events[1]["prev_hash"] == events[0]["hash"]
    assert datetime.fromisoformat(events[0]["at"]).utcoffset() is not None

    window = run(
        home,
        "audit",
        "export",
        "--since",
        "2026-11-02T08:30:02",
        "--until",
        "2026-11-02T09:30:04+01:00",
    )
    assert [json.loads(line)["seq"] for line in window.stdout.splitlines()] == [3, 4]

    out = home / "trail.jsonl"
    assert run(home, "audit", "export", "--output", str(out)).returncode == 0
    assert len(out.read_text().splitlines()) == 11  # and the three exports
    assert_clean_error(run(home, "audit", "export", "--output", str(out)), "already exists")


def test_export_syslog_lines_are_rfc5424(home: Path) -> None:
    result = run(home, "audit", "export", "--format", "syslog")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 9  # and the export itself
    for line in lines:
        match = SYSLOG.match(line)
        assert match, line
        assert int(match["pri"]) // 8 == 13
        datetime.fromisoformat(match["ts"])
    first = SYSLOG.match(lines[0])
    assert first is not None
    params = {k: re.sub(r'\\(["\\\]])', r"\1", v) for k, v in PARAM.findall(first["sd"])}
    assert params["user_agent"] == 'Mozilla/5.0 "quoted" ]bracket\\ é'
    assert params["patients"] == "3,42" and params["seq"] == "1"
    assert json.loads(params["details"])["nested"] == {"a": [1.5, None, True], "b": 1}
    assert int(SYSLOG.match(lines[2])["pri"]) % 8 == 4  # type: ignore[index]  # denied: warning


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--format", "xml"], ["--format", "jsonl or syslog"]),
        (["--since", "yesterday"], ["--since", "not an iso"]),
        (["--since", "2026-11-03", "--until", "2026-11-02"], ["--until", "after --since"]),
    ],
)
def test_export_refuses_bad_input(home: Path, args: list[str], words: list[str]) -> None:
    assert_clean_error(run(home, "audit", "export", *args), *words)


def test_verify_without_a_database_is_one_clear_line(tmp_path: Path) -> None:
    assert_clean_error(run(tmp_path, "audit", "verify"), "error")


def test_seal_and_a_stalled_sealing_named_by_verify(home: Path) -> None:
    """An event written behind the sealer's back (as if sealing had stopped) and old enough
    makes verify exit 3 naming it; ``hygie audit seal`` chains it."""
    with sqlite3.connect(home / "hygie.db") as conn:
        cursor = conn.execute(
            "INSERT INTO audit_events (at, how, action, patient_ids, categories, outcome, "
            "record_count, details) VALUES ('2026-11-02 07:00:00.000000', 'web', 'chart.read', "
            "'[7]', '[]', 'allowed', 1, '{}')"
        )
        stalled = cursor.lastrowid
    bad = run(home, "audit", "verify")
    assert bad.returncode == 3, bad.stderr
    assert "Traceback" not in bad.stderr
    assert "not sealed yet: 1 events" in bad.stdout
    assert "SEALING STOPPED" in bad.stderr and f"event id {stalled}" in bad.stderr
    assert run(home, "audit", "verify", "--grace", str(10**9)).returncode == 0

    # Recording the verification (SQLite seals in the writer's transaction) chained the
    # stalled event behind the 8 others: seq 9, then the two verifications.
    sealed = run(home, "audit", "seal")
    assert sealed.returncode == 0, sealed.stderr
    assert "sealed 0 events; the chain ends at seq 11" in sealed.stdout
    ok = run(home, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "checked 11 events" in ok.stdout and "not sealed yet: 0 events" in ok.stdout
