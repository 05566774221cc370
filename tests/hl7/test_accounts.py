"""The feed's account: ``hygie user add --system`` creates a system account (no password,
no second factor, the interface role only), and ``hygie hl7`` refuses to run without a
usable one, with a message that says what to do."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from hygie.db import Database
from hygie.models import AccountKind, AuditEvent, Credential, Habilitation, User
from tests.factories import World
from tests.hl7.conftest import FINESS_A, FINESS_B, Cli, adt, pid, pv1


def test_user_add_system_creates_an_account_without_credentials(
    db: Database, world: World, cli: Cli
) -> None:
    done = cli("user", "add", "feed.lab", "--role", "interface", "--establishment", FINESS_A,
               "--establishment", FINESS_B, "--system")  # fmt: skip
    assert done.code == 0, done.stderr
    assert "TOTP" not in done.stdout and "password" not in done.stdout.lower()
    assert done.stdout.strip() == ""
    assert "system account feed.lab" in done.stderr
    with db.sessions() as s:
        user = s.scalars(select(User).where(User.username == "feed.lab")).one()
        assert user.kind == AccountKind.SYSTEM and user.professional_id is None
        assert s.get(Credential, user.id) is None
        roles = {(h.establishment_id, h.role.value) for h in
                 s.scalars(select(Habilitation).where(Habilitation.user_id == user.id))}  # fmt: skip
        assert roles == {(world.est_a, "interface"), (world.est_b, "interface")}
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "account.create")).one()
        assert event.details["kind"] == "system" and event.username == "feed.lab"


def test_system_and_human_roles_do_not_mix(db: Database, world: World, cli: Cli) -> None:
    cases = [
        (("user", "add", "feed.x", "--role", "nurse", "--establishment", FINESS_A, "--system"),
         "interface role only"),
        (("user", "add", "sec.x", "--role", "interface", "--establishment", FINESS_A),
         "--system"),
        (("user", "add", "feed.y", "--role", "interface", "--establishment", FINESS_A,
          "--system", "--password-stdin"), "--password-stdin"),
        (("user", "add", "feed.z", "--role", "interface", "--establishment", "123", "--system"),
         "finess"),
    ]  # fmt: skip
    for args, words in cases:
        done = cli(*args)
        assert done.code == 1, args
        assert words.lower() in done.stderr.lower(), (args, done.stderr)
    with db.sessions() as s:
        names = set(s.scalars(select(User.username)))
    assert not names & {"feed.x", "sec.x", "feed.y", "feed.z"}


def _one_file(tmp_path: Path) -> str:
    path = tmp_path / "one.hl7"
    path.write_text(adt("A04", "ACC-1", pid(names="LEBLANC^Paul^^^^^L", sex="M"),
                        pv1(klass="O", unit="")), encoding="utf-8")  # fmt: skip
    return str(path)


def test_the_feed_needs_a_usable_system_account(
    db: Database, world: World, cli: Cli, tmp_path: Path
) -> None:
    file = _one_file(tmp_path)
    cases = [
        ((), {"HYGIE_HL7_ACCOUNT": ""}, "HYGIE_HL7_ACCOUNT"),
        (("--account", "nobody"), {}, "no active account"),
        (("--account", "sec.a"), {}, "system account"),
        (("--establishment", FINESS_B), {}, "no interface habilitation"),
        ((), {}, None),  # the account of HYGIE_HL7_ACCOUNT, its only establishment
    ]
    for options, extra, words in cases:
        done = cli("hl7", "import", file, *options, extra_env=extra)
        if words is None:
            assert done.code == 0, done.stderr
            continue
        assert done.code == 1 and words.lower() in done.stderr.lower(), (options, done.stderr)
        assert done.stdout == ""  # nothing was read, so nothing is acknowledged


def test_an_account_with_several_establishments_needs_to_know_which(
    db: Database, world: World, cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "none.hl7"
    path.write_text(adt("A04", "WHERE-1", pid(names="LEBLANC^Paul^^^^^L", sex="M"),
                        pv1(klass="O", unit=""), facility="HOPITAL"), encoding="utf-8")  # fmt: skip
    done = cli("hl7", "import", str(path), "--account", "feed.both")
    assert done.code == 1
    [ack] = done.acks()
    assert ack["MSA"][1] == "AE" and ack["ERR"][2] == "MSH^1^6"
    assert "--establishment" in ack["ERR"][8]
    chosen = cli("hl7", "import", str(path), "--account", "feed.both", "--establishment",
                 FINESS_B)  # fmt: skip
    assert chosen.code == 0, chosen.stderr
    with db.sessions() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.outcome == "allowed",
                                                   AuditEvent.how == "hl7")).one()  # fmt: skip
    assert event.establishment_id == world.est_b


def test_unreadable_files_are_a_clear_error(db: Database, world: World, cli: Cli,
                                            tmp_path: Path) -> None:  # fmt: skip
    done = cli("hl7", "import", str(tmp_path / "missing.hl7"))
    assert done.code == 1 and "cannot read" in done.stderr
    empty = tmp_path / "empty.hl7"
    empty.write_text("\n", encoding="utf-8")
    done = cli("hl7", "import", str(empty))
    assert done.code == 1 and "no HL7 message" in done.stderr
