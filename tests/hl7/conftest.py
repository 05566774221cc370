"""Fixtures of the HL7 feed tests: a small group, the feed's system account, and the
command line pointed at the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hygie.cli.main import app
from hygie.db import Database
from hygie.kit.crypto import Keyring
from hygie.models import AccountKind
from hygie.staff import service as staff
from tests.factories import DAY0, World, build_world, finess, rpps

FINESS_A, FINESS_B = finess(1), finess(2)
RPPS_A = rpps(1)  # Dr A, physician in establishment A
STRUCTURE = {"A01": "ADT_A01", "A03": "ADT_A03", "A04": "ADT_A01", "A08": "ADT_A01",
             "A40": "ADT_A39"}  # fmt: skip


@pytest.fixture
def world(db: Database) -> World:
    with db.transaction() as s:
        w = build_world(s)
        feed = staff.create_user(s, username="feed.gam", display_name="GAM",
                                 kind=AccountKind.SYSTEM)  # fmt: skip
        staff.grant_habilitation(s, user_id=feed.id, establishment_id=w.est_a, role="interface",
                                 valid_from=DAY0)  # fmt: skip
        both = staff.create_user(s, username="feed.both", display_name="GAM groupe",
                                 kind=AccountKind.SYSTEM)  # fmt: skip
        for est in (w.est_a, w.est_b):
            staff.grant_habilitation(s, user_id=both.id, establishment_id=est,
                                     role="interface", valid_from=DAY0)  # fmt: skip
        so = staff.create_user(s, username="so.a", display_name="RSSI")
        staff.grant_habilitation(s, user_id=so.id, establishment_id=w.est_a,
                                 role="security_officer", valid_from=DAY0)  # fmt: skip
    return w


@pytest.fixture
def env(db: Database, keyring: Keyring, tmp_path: Path) -> dict[str, str]:
    """The environment of a command run on the test database."""
    key_file = tmp_path / "test.keys"
    keyring.save(key_file)
    return {
        "HYGIE_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "HYGIE_KEY_FILE": str(key_file),
        "HYGIE_AUDIT_KEY_FILE": str(tmp_path / "audit.key"),
        "HYGIE_HL7_ACCOUNT": "feed.gam",
        "COLUMNS": "200",
    }


Cli = Callable[..., "CliResult"]


class CliResult:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr

    def acks(self) -> list[dict[str, list[str]]]:
        """Each acknowledgement printed: segment name -> its fields (MSH keeps MSH-1)."""
        found = []
        for block in self.stdout.strip().split("\n\n"):
            segments: dict[str, list[str]] = {}
            for line in block.strip().splitlines():
                segments[line[:3]] = line.split("|")
            if segments:
                found.append(segments)
        return found


@pytest.fixture
def cli(env: dict[str, str], tmp_path: Path) -> Cli:
    def run(*args: str, extra_env: dict[str, str] | None = None) -> CliResult:
        result = CliRunner().invoke(app, list(args), env={**env, **(extra_env or {})})
        assert "Traceback" not in result.stdout + result.stderr
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


def when(delta: timedelta = timedelta(0)) -> str:
    """An HL7 date and time (UTC, with its offset), ``delta`` from now."""
    return (datetime.now(UTC) + delta).strftime("%Y%m%d%H%M%S+0000")


def adt(trigger: str, control_id: str, *segments: str, facility: str = FINESS_A,
        version: str = "2.5", kind: str = "ADT") -> str:  # fmt: skip
    msh = (f"MSH|^~\\&|GAM|CLINIQUE|HYGIE|{facility}|{when()}||{kind}^{trigger}^"
           f"{STRUCTURE.get(trigger, '')}|{control_id}|P|{version}|||||FRA|8859/1")  # fmt: skip
    return "\r".join([msh, f"EVN||{when()}", *segments])


def pid(
    *, ipp: str | None = None, ins: str | None = None,
    names: str = "MARTIN^Alice^Alice Marie^^^^L", birth: str = "19800503", sex: str = "F",
    address: str = "", phones: str = "",
) -> str:  # fmt: skip
    ids = []
    if ipp:
        ids.append(f"{ipp}^^^CLINIQUEA&{FINESS_A}&M^PI")
    if ins:
        ids.append(f"{ins}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS")
    return f"PID|1||{'~'.join(ids)}||{names}||{birth}|{sex}|||{address}||{phones}"


def pv1(*, klass: str = "I", unit: str = "MED", bed: str = "", doctor: str = RPPS_A,
        admit: str = "", discharge: str = "", visit: str = "V0001") -> str:  # fmt: skip
    fields = [""] * 46
    fields[0], fields[1], fields[2] = "PV1", "1", klass
    fields[3] = f"{unit}^^{bed}^{FINESS_A}" if unit else ""
    fields[7] = f"{doctor}^DOC^Jean" if doctor else ""
    fields[19] = visit
    fields[44], fields[45] = admit, discharge
    return "|".join(fields).rstrip("|")
