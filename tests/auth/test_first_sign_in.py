"""First sign-in in a browser (auth.first_sign_in): the password of an account whose
enrolment is pending opens only its enrolment, with a new secret; a first code finishes
it with new recovery codes and a new session; the enrolment session opens nothing else and
lapses; wrong codes are throttled; every step is in the trail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hygie.auth import callers, first_sign_in, totp
from hygie.auth.callers import Client
from hygie.auth.errors import AuthenticationFailed
from hygie.db import Database
from tests.auth.conftest import IP, NOW, PASSWORD, UA, events, make_account

CLIENT = Client.of(IP, UA)


def _begin(db: Database, username: str, password: str = PASSWORD) -> str:
    return first_sign_in.start(db, username=username, password=password, client=CLIENT,
                               now=NOW).cookie_value  # fmt: skip


def test_the_password_opens_the_enrolment_with_a_new_secret(db: Database) -> None:
    account = make_account(db, enrol=False)
    cookie = _begin(db, account.username)
    pending = first_sign_in.pending(db, cookie_value=cookie, now=NOW)
    assert pending.secret != account.secret  # the administrator never knew this one
    assert pending.uri.startswith("otpauth://totp/")
    # The enrolment session is no session for anything else.
    with pytest.raises(AuthenticationFailed):
        callers.from_cookie(db, cookie, csrf_token=None, needs_csrf=False, client=CLIENT,
                            now=NOW, how="web", request_line="GET /")  # fmt: skip
    at = NOW + timedelta(seconds=40)
    done = first_sign_in.finish(
        db, cookie_value=cookie, code=totp.code_at(pending.secret, at),
        csrf_token=pending.csrf_token, client=CLIENT, now=at,
    )  # fmt: skip
    assert len(done.recovery_codes) >= 8
    caller = callers.from_cookie(db, done.cookie_value, csrf_token=None, needs_csrf=False,
                                 client=CLIENT, now=at, how="web", request_line="GET /")  # fmt: skip
    assert caller.actor.username == account.username
    with pytest.raises(AuthenticationFailed):  # the enrolment session is over
        first_sign_in.pending(db, cookie_value=cookie, now=at)
    # The recovery codes handed out now are the ones that work.
    with db.transaction() as session:
        from hygie.auth import service

        service.authenticate(session, username=account.username, password=PASSWORD,
                             recovery_code=done.recovery_codes[0], ip=IP, user_agent=UA,
                             now=at + timedelta(minutes=1))  # fmt: skip
    actions = [e.action for e in events(db)]
    assert "mfa.enrol_start" in actions and "mfa.enrol" in actions


def test_an_enrolled_account_or_a_wrong_password_opens_nothing(db: Database) -> None:
    enrolled = make_account(db)
    with pytest.raises(AuthenticationFailed):
        _begin(db, enrolled.username)
    with pytest.raises(AuthenticationFailed):
        _begin(db, "nobody.here")
    refused = [e for e in events(db, "mfa.enrol_start") if e.outcome == "denied"]
    assert len(refused) == 2


def test_wrong_codes_are_refused_then_blocked_and_the_session_lapses(db: Database) -> None:
    account = make_account(db, enrol=False)
    cookie = _begin(db, account.username)
    pending = first_sign_in.pending(db, cookie_value=cookie, now=NOW)
    messages = set()
    for n in range(12):
        with pytest.raises(AuthenticationFailed) as refused:
            first_sign_in.finish(db, cookie_value=cookie, code="000000",
                                 csrf_token=pending.csrf_token, client=CLIENT,
                                 now=NOW + timedelta(seconds=n))  # fmt: skip
        messages.add(str(refused.value))
    assert any("too many" in m or "blocked" in m.lower() for m in messages), messages
    late = NOW + first_sign_in.ENROLMENT_WINDOW + timedelta(seconds=1)
    with pytest.raises(AuthenticationFailed):
        first_sign_in.pending(db, cookie_value=cookie, now=late)


def test_a_form_without_the_session_token_is_refused(db: Database) -> None:
    account = make_account(db, enrol=False)
    cookie = _begin(db, account.username)
    pending = first_sign_in.pending(db, cookie_value=cookie, now=NOW)
    with pytest.raises(AuthenticationFailed):
        first_sign_in.finish(db, cookie_value=cookie, code=totp.code_at(pending.secret, NOW),
                             csrf_token="forged", client=CLIENT, now=NOW)  # fmt: skip


def test_an_older_enrolment_session_never_sees_the_newer_secret(db: Database) -> None:
    account = make_account(db, enrol=False)
    first = _begin(db, account.username)  # someone else who has the password
    second = _begin(db, account.username)  # the holder
    with pytest.raises(AuthenticationFailed):
        first_sign_in.pending(db, cookie_value=first, now=NOW)
    assert first_sign_in.pending(db, cookie_value=second, now=NOW).secret
