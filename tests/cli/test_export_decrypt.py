"""``hygie export decrypt`` opens a bulk export's file with its passphrase, into a new file
only its owner can read; a wrong passphrase or an existing target is a clear error."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pyrage

HYGIE = [sys.executable, "-m", "hygie.cli.main"]
PASSPHRASE = "une phrase de passe assez longue"
CSV = b"patient_id,birth_name\r\n1,MARTIN\r\n2,BERNARD\r\n"


def decrypt(tmp: Path, secret: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HYGIE, "export", "decrypt", *args], input=secret + "\n", capture_output=True,
        text=True, cwd=tmp, timeout=120, check=False,
    )  # fmt: skip


def test_the_right_passphrase_opens_the_file(tmp_path: Path) -> None:
    sealed = tmp_path / "hygie-export-1.csv.age"
    sealed.write_bytes(pyrage.passphrase.encrypt(CSV, PASSPHRASE))
    done = decrypt(tmp_path, PASSPHRASE, str(sealed), "--out", "plain.csv")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "plain.csv").read_bytes() == CSV
    assert stat.S_IMODE((tmp_path / "plain.csv").stat().st_mode) == 0o600
    assert "2 patients written" in done.stderr
    again = decrypt(tmp_path, PASSPHRASE, str(sealed), "--out", "plain.csv")
    assert again.returncode == 1 and "exists" in again.stderr


def test_a_wrong_passphrase_is_a_clear_error(tmp_path: Path) -> None:
    sealed = tmp_path / "export.csv.age"
    sealed.write_bytes(pyrage.passphrase.encrypt(CSV, PASSPHRASE))
    done = decrypt(tmp_path, "not the passphrase", str(sealed), "--out", "plain.csv")
    assert done.returncode == 1
    assert "wrong passphrase" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "plain.csv").exists()
    missing = decrypt(tmp_path, PASSPHRASE, "nowhere.age", "--out", "plain.csv")
    assert missing.returncode == 1 and "no such file" in missing.stderr
