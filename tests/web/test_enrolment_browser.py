"""First sign-in in a real browser: the password of an account whose enrolment is pending
opens the enrolment page (a QR code drawn by the server and the secret in text, for a new
secret only the holder's app knows), a wrong first code is refused, the right one shows
the recovery codes once and opens a normal session; the enrolment session itself opens
nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hygie.auth import totp
from tests.api.conftest import PASSWORD, give_login
from tests.web.conftest import Group

REFUSED = "status of 401"


def test_first_sign_in_enrols_totp_and_shows_recovery_codes(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    username = group.usernames["nurse"][1]
    handed = give_login(group.db, username, at=datetime.now(UTC) - timedelta(minutes=5),
                        enrolled=False)  # fmt: skip
    v = visit(expect=(REFUSED,))
    page = v.page
    v.go("/login?next=/mine")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#sign-in button[type=submit]")  # no code: a first sign-in
    expect(page.locator("h1")).to_have_text("Première connexion")
    expect(page.locator("#qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert secret and secret != handed.secret  # a new secret, drawn for the holder alone
    v.shot("enrolment-qr")

    # The enrolment session opens nothing else.
    v.go("/")
    assert "/login" in page.url
    v.go("/enrol?next=/mine")

    page.fill("#totp", "000000")
    page.click("#enrol button[type=submit]")
    expect(page.locator("#enrol-error")).to_contain_text("Code incorrect")

    page.fill("#totp", totp.code_at(secret, datetime.now(UTC)))
    page.click("#enrol button[type=submit]")
    expect(page.locator("h1")).to_have_text("Codes de secours")
    codes = page.locator("#recovery-codes li")
    assert codes.count() >= 8
    v.shot("recovery-codes")
    page.click("#continue")
    expect(page.locator("#who")).to_have_text(username)
    assert page.url.endswith("/mine")


def test_an_enrolled_account_cannot_skip_its_code(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    login = group.login("secretary")
    v = visit(expect=(REFUSED,))
    v.go("/login")
    v.page.fill("#username", login.username)
    v.page.fill("#password", PASSWORD)
    v.page.click("#sign-in button[type=submit]")
    expect(v.page.locator("#sign-in-error")).to_contain_text("Connexion refusée")


def test_mine_shows_my_sessions_and_accesses_and_ends_the_others(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    login = group.login("physician")
    elsewhere = visit()
    elsewhere.sign_in(login)
    here = visit()
    here.sign_in(login)
    here.go("/mine")
    expect(here.page.locator("#sessions tbody tr")).to_have_count(2)
    expect(here.page.locator("#accesses")).to_contain_text("Connexion")
    here.shot("mine")
    here.page.click("#end-others")
    expect(here.page.locator("#sessions tbody tr")).to_have_count(1)
    elsewhere.go("/")  # that session was ended
    assert "/login" in elsewhere.page.url
