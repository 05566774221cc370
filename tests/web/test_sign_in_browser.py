"""Signing in to the web application in a real browser (Debian's Chromium driven by
Playwright), against a server started by the test on the test database (SQLite and
PostgreSQL): a wrong code is refused with the username kept, the right one opens the home
page, signing out ends the session, and a page asked for while signed out comes back
after sign-in. The CSP header is asserted and the console must show no error (a CSP
violation is one). Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn

from hygie.app import create_app
from hygie.db import Database
from tests.api.conftest import PASSWORD, Login, add_account, give_login
from tests.factories import build_world

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def server(db: Database) -> Iterator[tuple[str, Login]]:
    """A server on ``db`` with a secretary who can sign in; its base URL and her login."""
    with db.transaction() as session:
        world = build_world(session)
    add_account(db, "rssi.web", "security_officer", world.est_a)
    login = give_login(db, "sec.a", at=datetime.now(UTC))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(db=db), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}", login
    finally:
        running.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium): browser tests did not run")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )  # fmt: skip
        try:
            yield launched
        finally:
            launched.close()


def fresh_code(login: Login, after: str | None) -> str:
    """A TOTP code not used yet (a code is accepted once): wait for the next step if the
    current one was."""
    code = login.code(datetime.now(UTC))
    while code == after:
        time.sleep(0.5)
        code = login.code(datetime.now(UTC))
    return code


def test_signing_in_with_totp_in_a_real_browser(
    server: tuple[str, Login], browser: object, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    base, login = server
    ARTIFACTS.mkdir(exist_ok=True)
    shot = request.node.name.replace("[", "-").replace("]", "")
    page = browser.new_page(locale="fr-FR")
    problems: list[str] = []
    refused_sign_in = "status of 401"  # the refused sign-in's page is answered 401, on purpose

    def console(message: object) -> None:
        text, kind = getattr(message, "text", ""), getattr(message, "type", "")
        if kind == "error" and refused_sign_in not in text:
            problems.append(text)

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(str(e)))

    # Asked for the home page while signed out: sent to sign-in, and back after it.
    answer = page.goto(f"{base}/")
    assert answer is not None and "/login?next=/" in page.url
    csp = answer.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp

    page.fill("#username", "sec.a")
    page.fill("#password", PASSWORD)
    page.fill("#totp", "000000")
    page.click("button[type=submit]")
    expect(page.locator("#sign-in-error")).to_contain_text("Connexion refusée")
    expect(page.locator("#username")).to_have_value("sec.a")  # what was typed stays
    page.screenshot(path=str(ARTIFACTS / f"{shot}-wrong-code.png"), full_page=True)

    page.fill("#password", PASSWORD)
    page.fill("#totp", fresh_code(login, None))
    page.click("button[type=submit]")
    expect(page.locator("#who")).to_have_text("sec.a")
    assert page.url == f"{base}/"
    expect(page.locator("#posts")).to_contain_text("secretary")
    page.screenshot(path=str(ARTIFACTS / f"{shot}-home.png"), full_page=True)

    page.click("text=Se déconnecter")
    expect(page.locator("h1")).to_have_text("Connexion")
    page.goto(f"{base}/")  # the session is over: back to sign-in
    assert "/login" in page.url
    assert problems == [], problems
