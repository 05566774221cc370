"""Signing in to the web application in a real browser: a wrong code is refused with the
username kept, the right one opens the home page (back to the page asked for while signed
out), signing out ends the session."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import PASSWORD
from tests.web.conftest import Group, fresh_code

REFUSED = "status of 401"  # the refused sign-in's page is answered 401, on purpose


def test_signing_in_with_totp_and_a_wrong_code(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    login = group.login("secretary")
    v = visit(expect=(REFUSED,))
    page = v.page

    # Asked for the home page while signed out: sent to sign-in, and back after it.
    v.go("/")
    assert "/login?next=/" in page.url

    page.fill("#username", login.username)
    page.fill("#password", PASSWORD)
    page.fill("#totp", "000000")
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#sign-in-error")).to_contain_text("Connexion refusée")
    expect(page.locator("#username")).to_have_value(login.username)  # what was typed stays
    v.shot("wrong-code")

    page.fill("#password", PASSWORD)
    page.fill("#totp", fresh_code(login))
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#who")).to_have_text(login.username)
    assert page.url == f"{v.base}/"
    expect(page.locator("#posts")).to_contain_text("Secrétaire médicale")
    v.shot("home")

    page.click("text=Se déconnecter")
    expect(page.locator("h1")).to_have_text("Connexion")
    v.go("/")  # the session is over: back to sign-in
    assert "/login" in page.url


def test_the_pages_speak_english_on_request(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    v = visit()
    v.sign_in(group.login("nurse"))
    v.page.click("button[name=language][value=en]")
    expect(v.page.locator("#sign-out")).to_have_text("Sign out")
    expect(v.page.locator("html")).to_have_attribute("lang", "en")
    v.page.click("button[name=language][value=fr]")
    expect(v.page.locator("#sign-out")).to_have_text("Se déconnecter")


def test_an_expired_session_returns_to_the_page_after_sign_in(group: Group, visit: Any) -> None:
    from datetime import timedelta

    from playwright.sync_api import expect
    from sqlalchemy import select

    from hygie.auth.sessions import DEFAULT_POLICY
    from hygie.models import WebSession

    login = group.login("physician")
    v = visit()
    v.sign_in(login)
    v.go("/mine")
    # The session goes idle for longer than the policy allows.
    with group.db.transaction() as session:
        idle = DEFAULT_POLICY.idle + timedelta(minutes=1)
        for row in session.scalars(select(WebSession)):
            row.last_seen_at -= idle
            row.created_at -= idle
    v.go("/mine")
    assert "/login?next=/mine" in v.page.url
    v.page.fill("#username", login.username)
    v.page.fill("#password", PASSWORD)
    code = fresh_code(login)
    v.page.fill("#totp", code)
    login.used.add(code)
    v.page.click("#sign-in button[type=submit]")
    expect(v.page.locator("h1")).to_have_text("Mon activité")
    assert v.page.url.endswith("/mine")
