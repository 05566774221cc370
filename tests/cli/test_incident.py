"""``hygie incident impact`` run as an operator would: a real process on the test database
(SQLite and PostgreSQL), after the scenario of ``tests/access/test_impact.py``."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hygie.cli.incident import CSV_COLUMNS
from hygie.db import Database
from hygie.kit.time import PARIS
from hygie.models import AuditEvent
from tests.access.test_impact import Scenario, build_scenario

HYGIE = [sys.executable, "-m", "hygie.cli.main"]


def run(db: Database, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HYGIE_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "HYGIE_KEY_FILE": str(home / "hygie.keys"),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [*HYGIE, "incident", "impact", *args], capture_output=True, text=True, env=env,
        cwd=home, timeout=120, check=False,
    )  # fmt: skip


def period(sc: Scenario) -> list[str]:
    return ["--account", "dr.a", "--since", sc.since.isoformat(), "--until", sc.until.isoformat()]


def rows(text: str) -> dict[int, dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return {int(row["patient_id"]): row for row in reader}


def expected_rows(sc: Scenario) -> dict[int, tuple[str, str]]:
    """patient id -> (level, categories as the CSV writes them)."""
    return {
        sc.ids[name]: (level, ";".join(sorted(categories)))
        for name, (level, categories) in sc.expected.items()
    }


@pytest.fixture
def scenario(db: Database) -> Scenario:
    return build_scenario(db)


def test_the_csv_file_and_the_summary(db: Database, scenario: Scenario, tmp_path: Path) -> None:
    sc = scenario
    done = run(db, tmp_path, *period(sc))
    assert done.returncode == 0, done.stderr
    (written,) = tmp_path.glob("incident-dr.a-*Z.csv")
    assert oct(written.stat().st_mode & 0o777) == "0o600"  # it names patients
    found = rows(written.read_text(encoding="utf-8"))
    assert {pid: (r["level"], r["categories"]) for pid, r in found.items()} == expected_rows(sc)
    eve, alice = found[sc.ids["eve"]], found[sc.ids["alice"]]
    files = eve["establishments"].split(";")
    assert [f.split(":")[0] for f in files] == [str(sc.world.est_a), str(sc.world.est_b)]
    assert all(f.split(":")[1] for f in files)  # each file with its IPP
    assert (alice["birth_name"], alice["used_name"], alice["first_name"]) == (
        "Martin", "Durand", "Alice",
    )  # fmt: skip
    assert alice["birth_date"] == "1970-03-01" and alice["accesses"] == "3"
    assert found[sc.ids["bernard"]]["channels"] == "api;web"
    first = datetime.fromisoformat(alice["first_access"])
    assert first.utcoffset() == timedelta(0) and sc.since < first < sc.until
    text = done.stdout
    for line in (
        "Compte : dr.a",
        "Patients exposés : 6 — dossier (record) : 3, identité en liste seulement (summary) : 3",
        "Accès comptés : 5",
        "Canaux (accès) : web 4, api 1",
        "Adresses IP : 2 (10.0.0.7, 10.0.0.8)",
        "Sessions : 1 (11) ; jetons d'API : 1 (5)",
        "identity 5",
        f"Liste des patients (CSV) : {written.name}",
    ):
        assert line in text, text
    assert "CNIL dans les 72 heures" in text and "art. 34" in text


def test_csv_on_standard_output_and_the_summary_as_json(
    db: Database, scenario: Scenario, tmp_path: Path
) -> None:
    sc = scenario
    done = run(db, tmp_path, *period(sc), "--csv", "-", "--json")
    assert done.returncode == 0, done.stderr
    found = rows(done.stdout)  # nothing else on standard output
    assert {pid: (r["level"], r["categories"]) for pid, r in found.items()} == expected_rows(sc)
    summary = json.loads(done.stderr)
    assert (summary["account"], summary["patients"], summary["events"]) == ("dr.a", 6, 5)
    assert summary["patients_by_level"] == {"record": 3, "summary": 3}
    assert summary["patients_by_category"]["allergies"] == 1
    assert summary["channels"] == {"api": 1, "web": 4}
    assert summary["addresses"] == ["10.0.0.7", "10.0.0.8"]
    assert (summary["sessions"], summary["tokens"], summary["csv"]) == ([11], [5], "-")
    assert datetime.fromisoformat(summary["since"]) == sc.since
    assert list(tmp_path.glob("*.csv")) == []

    target = tmp_path / "dr.a.csv"
    done = run(db, tmp_path, *period(sc), "--csv", str(target), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["csv"] == str(target)
    assert rows(target.read_text(encoding="utf-8")).keys() == found.keys()

    done = run(db, tmp_path, *period(sc), "--csv", "-")
    assert done.returncode == 0, done.stderr
    assert rows(done.stdout).keys() == found.keys()
    assert "Patients exposés : 6" in done.stderr


def test_paris_times_and_whole_days(db: Database, scenario: Scenario, tmp_path: Path) -> None:
    sc = scenario

    def local(at: datetime) -> str:
        return at.astimezone(PARIS).replace(tzinfo=None).isoformat()

    done = run(db, tmp_path, "--account", "dr.a", "--since", local(sc.since), "--until",
               local(sc.until), "--csv", "-")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert rows(done.stdout).keys() == expected_rows(sc).keys()
    # Dates: from the start of the first day to the end of the last, in Paris: the reads
    # before and after the period are in, and Claire's chart makes her a record.
    today = datetime.now(UTC).astimezone(PARIS).date()
    done = run(db, tmp_path, "--account", "dr.a", "--since", str(today - timedelta(days=1)),
               "--until", str(today), "--csv", "-", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert rows(done.stdout)[sc.ids["claire"]]["level"] == "record"
    assert json.loads(done.stderr)["events"] == 7


def test_the_run_is_in_the_trail(db: Database, scenario: Scenario, tmp_path: Path) -> None:
    done = run(db, tmp_path, *period(scenario), "--csv", "-")
    assert done.returncode == 0, done.stderr
    with db.sessions() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event is not None
    assert (event.action, event.outcome, event.how, event.level) == (
        "incident.impact", "allowed", "cli", "summary",
    )  # fmt: skip
    assert event.patient_ids == sorted(expected_rows(scenario))
    assert event.details["account"] == "dr.a" and event.details["patients"] == 6


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--account", "nobody", "--since", "2020-01-01"], ["no account named nobody"]),
        (["--account", "dr.a", "--since", "yesterday"], ["--since", "ISO 8601"]),
        (["--account", "dr.a", "--since", "2026-11-02T10:00", "--until", "2026-11-02T09:00"],
         ["--until", "must be after --since"]),
        (["--account", "dr.a", "--since", "2999-01-01"], ["--since", "future"]),
        (["--since", "2020-01-01"], ["--account"]),
        (["--account", "dr.a", "--since", "2020-01-01", "--csv", "taken.csv"],
         ["taken.csv", "already exists"]),
        (["--account", "dr.a", "--since", "2020-01-01", "--csv", "no/such/dir/x.csv"],
         ["--csv", "no folder"]),
    ],
)  # fmt: skip
def test_bad_input_is_one_clear_message(
    db: Database, tmp_path: Path, args: list[str], words: list[str]
) -> None:
    (tmp_path / "taken.csv").write_text("kept\n", encoding="utf-8")
    done = run(db, tmp_path, *args)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    for word in words:
        assert word.lower() in done.stderr.lower(), done.stderr
    assert [p.name for p in tmp_path.glob("*.csv")] == ["taken.csv"]  # nothing written
    assert (tmp_path / "taken.csv").read_text(encoding="utf-8") == "kept\n"
