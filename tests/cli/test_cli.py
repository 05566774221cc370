"""The command line, run as a user would run it: a real process, real files."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

HYGIE = [sys.executable, "-m", "hygie.cli.main"]


def run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    base = {
        **os.environ,
        "HYGIE_DATABASE_URL": f"sqlite:///{tmp_path / 'hygie.db'}",
        "HYGIE_KEY_FILE": str(tmp_path / "hygie.keys"),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [*HYGIE, *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=tmp_path,
        timeout=timeout,
        check=False,
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    text = (result.stderr + result.stdout).lower()
    for word in words:
        assert word.lower() in text, text


@pytest.fixture
def ready(tmp_path: Path) -> Path:
    assert run(tmp_path, "keys", "init").returncode == 0
    assert run(tmp_path, "db", "upgrade").returncode == 0
    return tmp_path


def test_keys_init_never_overwrites(tmp_path: Path) -> None:
    assert run(tmp_path, "keys", "init").returncode == 0
    before = (tmp_path / "hygie.keys").read_bytes()
    assert oct((tmp_path / "hygie.keys").stat().st_mode & 0o777) == "0o600"
    assert_clean_error(run(tmp_path, "keys", "init"), "already exists")
    assert (tmp_path / "hygie.keys").read_bytes() == before


def test_generate_then_refuse_a_second_group(ready: Path) -> None:
    result = run(ready, "generate", "--establishments", "2", "--patients", "300", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "patients" in result.stdout
    assert_clean_error(run(ready, "generate", "--patients", "10"), "already holds a group")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["generate", "--patients", "0"], ["patients"]),
        (["generate", "--establishments", "abc"], ["establishments"]),
        (["generate", "--reference-date", "2026-13-45"], ["reference-date"]),
        (["serve", "--port", "70000"], ["port"]),
        (["nonsense"], ["no such command"]),
    ],
)
def test_bad_arguments_are_clear(ready: Path, args: list[str], words: list[str]) -> None:
    assert_clean_error(run(ready, *args), *words)


def test_missing_key_file_is_a_clear_error(ready: Path) -> None:
    (ready / "hygie.keys").unlink()
    assert_clean_error(run(ready, "generate", "--patients", "10"), "key file", "not found")


def test_wrong_key_file_is_a_clear_error(
    ready: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert run(ready, "generate", "--establishments", "1", "--patients", "50").returncode == 0
    other = tmp_path_factory.mktemp("other")
    assert run(other, "keys", "init").returncode == 0
    wrong = {"HYGIE_KEY_FILE": str(other / "hygie.keys")}
    assert_clean_error(run(ready, "keys", "status", env=wrong), "key")
    assert_clean_error(run(ready, "serve", "--port", "1", env=wrong), "key")


def test_corrupt_key_file_is_a_clear_error(ready: Path) -> None:
    (ready / "hygie.keys").write_text("{ not json")
    assert_clean_error(run(ready, "keys", "status"), "not a valid hygie key file")


def test_unmigrated_database_is_a_clear_error(tmp_path: Path) -> None:
    assert run(tmp_path, "keys", "init").returncode == 0
    assert_clean_error(run(tmp_path, "generate", "--patients", "10"), "hygie db upgrade")


def test_bad_database_url_is_a_clear_error(tmp_path: Path) -> None:
    assert_clean_error(
        run(tmp_path, "db", "upgrade", env={"HYGIE_DATABASE_URL": "nope://x"}), "database"
    )
    unreachable = {"HYGIE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    assert_clean_error(run(tmp_path, "db", "upgrade", env=unreachable), "database")


def test_rotate_reencrypts_everything_and_old_data_stays_readable(ready: Path) -> None:
    assert run(ready, "generate", "--establishments", "1", "--patients", "200").returncode == 0
    rotated = run(ready, "keys", "rotate", "--batch-size", "50")
    assert rotated.returncode == 0, rotated.stderr
    assert "active key is now k2" in rotated.stdout
    status = run(ready, "keys", "status")
    assert status.returncode == 0
    assert "k1=" not in status.stdout and "k2=" in status.stdout
    # Everything still decrypts: a second rotation reads every value again.
    again = run(ready, "keys", "rotate", "--resume")
    assert again.returncode == 0 and "re-encrypted 0 values" in again.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_serves_health_and_readiness(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "HYGIE_DATABASE_URL": f"sqlite:///{tmp_path / 'hygie.db'}",
        "HYGIE_KEY_FILE": str(tmp_path / "hygie.keys"),
    }
    proc = subprocess.Popen(
        [*HYGIE, "demo", "--patients", "200", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "demo did not start"
                time.sleep(0.3)
        assert health.status_code == 200
        assert health.headers["content-security-policy"].startswith("default-src 'self'")
        ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5)
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        assert (tmp_path / "hygie.keys").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_generate_command_twice_gives_identical_data(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The acceptance line, as typed: the same command twice, two databases, the same data."""
    from hygie.db import Database
    from hygie.kit.crypto import Keyring
    from tests.generate.test_generate import _dump

    dumps = []
    for name in ("first", "second"):
        home = tmp_path_factory.mktemp(name)
        assert run(home, "keys", "init").returncode == 0
        assert run(home, "db", "upgrade").returncode == 0
        args = ["generate", "--establishments", "5", "--patients", "2000", "--seed", "1",
                "--reference-date", "2026-11-02"]  # fmt: skip
        result = run(home, *args)
        assert result.returncode == 0, result.stderr
        db = Database.open(f"sqlite:///{home / 'hygie.db'}")
        dumps.append(_dump(db, Keyring.load(home / "hygie.keys")))
        db.dispose()
    assert dumps[0] == dumps[1]
    assert len(dumps[0]["patients"]) == 2000


def test_key_file_readable_by_others_is_refused(ready: Path) -> None:
    (ready / "hygie.keys").chmod(0o644)
    assert_clean_error(run(ready, "keys", "status"), "readable by others", "chmod 600")


def test_key_file_that_is_a_directory_is_a_clear_error(ready: Path) -> None:
    (ready / "hygie.keys").unlink()
    (ready / "hygie.keys").mkdir()
    assert_clean_error(run(ready, "keys", "status"), "not a regular file")


def test_demo_never_replaces_a_lost_key_file(ready: Path) -> None:
    assert run(ready, "generate", "--establishments", "1", "--patients", "20").returncode == 0
    (ready / "hygie.keys").unlink()
    assert_clean_error(run(ready, "demo", "--no-serve"), "was encrypted with one")
    assert not (ready / "hygie.keys").exists()


def test_generation_and_rotation_are_in_the_trail(ready: Path) -> None:
    import json

    assert run(ready, "generate", "--establishments", "1", "--patients", "30").returncode == 0
    assert run(ready, "keys", "rotate").returncode == 0
    exported = run(ready, "audit", "export", "--format", "jsonl")
    assert exported.returncode == 0, exported.stderr
    actions = [json.loads(line)["action"] for line in exported.stdout.splitlines() if line.strip()]
    assert actions == ["synthetic.generate", "keys.rotate", "audit.export"]
    verified = run(ready, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
