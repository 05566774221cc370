"""``hygie demo`` prints one account per role with this start's password and how to get
its codes; ``hygie user totp`` gives a demo account's current code, and refuses on a
database that `hygie demo` did not create (production has no demo accounts)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from hygie.auth import totp
from tests.cli.test_cli import assert_clean_error, run

SIGN_IN = """
import sys
from datetime import UTC, datetime
from hygie.auth import service
from hygie.db import Database, check_and_register_keys
from hygie.kit.crypto import Keyring
from pathlib import Path
folder, username, password, code = sys.argv[1:]
db = Database.open(f"sqlite:///{folder}/hygie.db")
check_and_register_keys(db, Keyring.load(Path(folder) / "hygie.keys"))
with service.unit_of_work(db) as session:
    user = service.authenticate(session, username=username, password=password, totp_code=code,
                                ip=None, user_agent="pytest", now=datetime.now(UTC))
    print(user.username)
"""


def test_demo_prints_its_accounts_and_their_codes_work(tmp_path: Path) -> None:
    first = run(tmp_path, "demo", "--no-serve", "--patients", "60", timeout=300)
    assert first.returncode == 0, first.stderr
    printed = first.stdout
    assert "/login" in printed and "hygie user totp" in printed
    rows = {m[0]: (m[1], m[2]) for m in re.findall(r"│ (\w+)\s+│ ([\w.-]+)\s+│ (\S+)\s+│", printed)}
    for role in ("physician", "nurse", "secretary", "it_admin", "security_officer"):
        assert role in rows, printed
    username, password = rows["secretary"]

    code = run(tmp_path, "user", "totp", username)
    assert code.returncode == 0, code.stderr
    assert re.fullmatch(r"[0-9]{6}\n", code.stdout)
    # The printed password and code sign in (in a process of its own: the key file).
    signed = subprocess.run(
        [sys.executable, "-c", SIGN_IN, str(tmp_path), username, password, code.stdout.strip()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert signed.returncode == 0 and signed.stdout.strip() == username, signed.stderr

    again = run(tmp_path, "demo", "--no-serve", timeout=300)  # a new start: new passwords
    assert again.returncode == 0
    assert password not in again.stdout


def test_user_totp_is_refused_outside_a_demo(tmp_path: Path) -> None:
    assert run(tmp_path, "keys", "init").returncode == 0
    assert run(tmp_path, "db", "upgrade").returncode == 0
    assert_clean_error(run(tmp_path, "user", "totp", "anyone"), "not created by `hygie demo`")


def test_totp_steps_are_thirty_seconds() -> None:
    assert totp.STEP_SECONDS == 30
