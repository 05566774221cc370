"""Signing in: password + TOTP or recovery code, replay refusal, enrolment, refusals that
all look the same, throttling and lockout, and the audit trail of every attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from hygie.auth import service
from hygie.auth.errors import SIGN_IN_BLOCKED, SIGN_IN_FAILED, AuthenticationFailed
from hygie.auth.throttle import ThrottlePolicy
from hygie.db import Database
from hygie.models import AccountKind, Credential, User
from hygie.staff import service as staff
from tests.auth.conftest import NOW, PASSWORD, Account, code, events, make_account, sign_in


def refused(db: Database, account: Account, at=NOW, **overrides: object) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(AuthenticationFailed) as failure:
        sign_in(db, account, at, **overrides)
    return str(failure.value)


def test_password_and_totp_sign_in(db: Database, account: Account) -> None:
    assert sign_in(db, account, NOW) == account.user_id
    with db.sessions() as session:
        user = session.get(User, account.user_id)
        assert user is not None and user.last_login_at == NOW
    last = events(db, "auth.login")[-1]
    assert (last.outcome, last.user_id, last.username) == (
        "allowed",
        account.user_id,
        "marie.curie",
    )
    assert (last.ip, last.user_agent, last.how) == ("198.51.100.7", "pytest", "web")
    assert last.details["factor"] == "totp"


def test_username_is_case_and_space_insensitive(db: Database, account: Account) -> None:
    assert sign_in(db, account, NOW, username="  Marie.Curie ") == account.user_id


def test_a_code_is_accepted_once(db: Database, account: Account) -> None:
    first = code(account, NOW)
    assert sign_in(db, account, NOW, totp_code=first) == account.user_id
    assert refused(db, account, NOW + timedelta(seconds=5), totp_code=first) == SIGN_IN_FAILED
    assert events(db, "auth.login")[-1].reason == "TOTP code already used"
    # The next step's code still works.
    assert sign_in(db, account, NOW + timedelta(seconds=30)) == account.user_id


def test_window_of_one_step(db: Database, account: Account) -> None:
    late = code(account, NOW - timedelta(seconds=30))
    assert sign_in(db, account, NOW, totp_code=late) == account.user_id
    too_old = code(account, NOW + timedelta(seconds=60 - 90))  # two steps before NOW + 60 s
    at = NOW + timedelta(seconds=60)
    if too_old not in {code(account, at + timedelta(seconds=s)) for s in (-30, 0, 30)}:
        assert refused(db, account, at, totp_code=too_old) == SIGN_IN_FAILED


def test_every_refusal_says_the_same(db: Database, account: Account) -> None:
    cases = {
        "wrong password": {"password": PASSWORD + "!"},
        "unknown account or no password": {"username": "nobody.here"},
        "wrong TOTP code": {"totp_code": "000000" if code(account, NOW) != "000000" else "111111"},
        "second factor missing": {"totp_code": None},
    }
    for reason, overrides in cases.items():
        assert refused(db, account, **overrides) == SIGN_IN_FAILED
        last = events(db, "auth.login")[-1]
        assert (last.outcome, last.reason) == ("denied", reason)
    unknown = [e for e in events(db, "auth.login") if e.user_id is None]
    assert unknown[0].details["attempted_username"] == "nobody.here"


def test_a_password_typed_as_username_is_not_kept(db: Database, account: Account) -> None:
    refused(db, account, username="Tr0ub4dor&3 horse")
    assert events(db, "auth.login")[-1].details["attempted_username"] == "(malformed)"


def test_disabled_and_system_accounts_cannot_sign_in(db: Database, account: Account) -> None:
    with db.transaction() as session:
        service.disable_account(session, username=account.username, now=NOW, how="cli")
    assert refused(db, account) == SIGN_IN_FAILED
    assert events(db, "auth.login")[-1].reason == "account disabled"

    robot = make_account(db, "feed.robot", enrol=True) if False else None
    assert robot is None
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.username == account.username)).one()
        user.active = True
        user.kind = AccountKind.SYSTEM
    assert refused(db, account, NOW + timedelta(seconds=30)) == SIGN_IN_FAILED
    assert events(db, "auth.login")[-1].reason == "system account"


def test_mfa_is_mandatory_until_enrolment_is_completed(db: Database) -> None:
    account = make_account(db, enrol=False)
    assert refused(db, account) == SIGN_IN_FAILED
    assert events(db, "auth.login")[-1].reason == "TOTP not enrolled"
    assert refused(db, account, NOW, recovery_code=account.recovery_codes[0]) == SIGN_IN_FAILED

    def enrol(at, totp_code):  # type: ignore[no-untyped-def]
        with service.unit_of_work(db) as session:
            service.complete_enrolment(
                session,
                username=account.username,
                password=PASSWORD,
                totp_code=totp_code,
                ip="198.51.100.7",
                user_agent="pytest",
                now=at,
            )

    with pytest.raises(AuthenticationFailed):
        enrol(NOW, "000000" if code(account, NOW) != "000000" else "111111")
    enrol(NOW + timedelta(seconds=30), code(account, NOW + timedelta(seconds=30)))
    assert [e.outcome for e in events(db, "mfa.enrol")] == ["denied", "allowed"]
    with pytest.raises(AuthenticationFailed):  # nothing pending any more
        enrol(NOW + timedelta(seconds=60), code(account, NOW + timedelta(seconds=60)))
    assert sign_in(db, account, NOW + timedelta(seconds=90)) == account.user_id


def test_recovery_codes_work_once(db: Database, account: Account) -> None:
    first, second = account.recovery_codes[:2]
    assert sign_in(db, account, NOW, recovery_code=first.upper()) == account.user_id
    used = events(db, "mfa.recovery_code_used")
    assert len(used) == 1 and used[0].details == {"codes_left": 9}
    assert events(db, "auth.login")[-1].details["factor"] == "recovery_code"
    assert refused(db, account, NOW, recovery_code=first) == SIGN_IN_FAILED
    assert events(db, "auth.login")[-1].reason == "wrong or used recovery code"
    assert sign_in(db, account, NOW, recovery_code=second) == account.user_id
    with db.sessions() as session:
        cred = session.get(Credential, account.user_id)
        assert cred is not None
        assert first not in cred.password_hash


def test_account_lockout(db: Database, account: Account, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="hygie.security")
    for i in range(5):
        assert refused(db, account, NOW + timedelta(minutes=i), password="wrong" * 3) == (
            SIGN_IN_FAILED
        )
    lockouts = events(db, "auth.lockout")
    assert len(lockouts) == 1
    assert (lockouts[0].outcome, lockouts[0].user_id) == ("contained", account.user_id)
    alerts = [r.getMessage() for r in caplog.records if r.name == "hygie.security"]
    assert len(alerts) == 1 and "sign-in lockout: account" in alerts[0]
    # Locked: even the right password and code are refused, with the lockout message.
    at = NOW + timedelta(minutes=5)
    assert refused(db, account, at) == SIGN_IN_BLOCKED
    assert events(db, "auth.login")[-1].reason == "blocked after too many failures"
    with db.sessions() as session:
        cred = session.get(Credential, account.user_id)
        assert cred is not None and cred.failed_logins == 5 and cred.locked_until is not None
    # Attempts while locked do not extend the lock: it ends 15 minutes after the 5th failure.
    assert sign_in(db, account, NOW + timedelta(minutes=19, seconds=1)) == account.user_id
    with db.sessions() as session:
        cred = session.get(Credential, account.user_id)
        assert cred is not None and cred.failed_logins == 0 and cred.locked_until is None


def test_failures_outside_the_window_do_not_add_up(db: Database, account: Account) -> None:
    for i in range(8):
        refused(db, account, NOW + timedelta(minutes=4 * i), password="wrong" * 3)
    assert events(db, "auth.lockout") == []


def test_unknown_names_lock_the_same_way(db: Database, account: Account) -> None:
    ghost = Account(0, "ghost.user", account.secret, [], NOW)
    messages = [refused(db, ghost, NOW + timedelta(seconds=i)) for i in range(6)]
    assert messages == [SIGN_IN_FAILED] * 5 + [SIGN_IN_BLOCKED]
    assert events(db, "auth.lockout")[0].details["key"] == "user:ghost.user"


def test_address_block(db: Database, account: Account) -> None:
    spray = [f"user{i:02d}" for i in range(20)]
    for i, name in enumerate(spray):
        refused(db, account, NOW + timedelta(seconds=i), username=name)
    lockouts = events(db, "auth.lockout")
    assert [e.details["key"] for e in lockouts] == ["ip:198.51.100.7"]
    assert lockouts[0].user_id is None
    at = NOW + timedelta(minutes=1)
    assert refused(db, account, at) == SIGN_IN_BLOCKED
    # The account itself is not locked: from another address it signs in.
    assert sign_in(db, account, at, ip="203.0.113.9") == account.user_id
    # A success does not reset the address counter.
    assert refused(db, account, at + timedelta(seconds=30)) == SIGN_IN_BLOCKED


def test_ipv6_addresses_are_counted_per_64(db: Database, account: Account) -> None:
    policy = ThrottlePolicy(address_failures=4)
    for i in range(4):
        ip = f"2001:db8:1:2::{i + 1:x}"
        refused(db, account, NOW, username=f"user{i:02d}", ip=ip, policy=policy)
    assert events(db, "auth.lockout")[0].details["key"] == "ip:2001:db8:1:2::/64"


def test_old_hash_is_upgraded_at_sign_in(db: Database, account: Account) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with db.transaction() as session:
        cred = session.get(Credential, account.user_id)
        assert cred is not None
        cred.password_hash = old
    assert sign_in(db, account, NOW) == account.user_id
    with db.sessions() as session:
        cred = session.get(Credential, account.user_id)
        assert cred is not None
        assert cred.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert events(db, "auth.login")[-1].details["rehashed"] is True


def test_login_opens_a_new_session_each_time(db: Database, account: Account) -> None:
    kwargs = {"username": account.username, "password": PASSWORD, "ip": "198.51.100.7"}
    _, first = service.login(db, **kwargs, totp_code=code(account, NOW), user_agent="a", now=NOW)
    later = NOW + timedelta(seconds=30)
    _, second = service.login(
        db, **kwargs, totp_code=code(account, later), user_agent="a", now=later
    )
    assert first.cookie_value != second.cookie_value
    assert len(events(db, "session.create")) == 2
    with pytest.raises(AuthenticationFailed):
        service.login(db, **kwargs, totp_code=None, user_agent="a", now=later)
    # The refusal was committed although the call failed.
    assert events(db, "auth.login")[-1].outcome == "denied"


def test_failed_attempt_trace_survives_the_refusal(db: Database, account: Account) -> None:
    refused(db, account, password="wrong" * 3)
    with db.sessions() as session:
        cred = session.get(Credential, account.user_id)
        assert cred is not None and cred.failed_logins == 1


def test_account_creation_is_audited(db: Database, account: Account) -> None:
    created = events(db, "account.create")
    assert len(created) == 1 and created[0].user_id == account.user_id
    assert created[0].details["role"] == "physician"
    assert len(events(db, "mfa.enrolment_start")) == 1


def test_staff_service_still_owns_usernames(db: Database, account: Account) -> None:
    with db.transaction() as session, pytest.raises(Exception, match="taken"):
        staff.create_user(session, username="marie.curie", display_name="x")
