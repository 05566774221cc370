"""The web tests' world: a generated group (one establishment) served by uvicorn in a
thread on the test database (SQLite and PostgreSQL), Debian's Chromium driven by
Playwright, and a ``visit`` that signs people in, saves screenshots under
test-artifacts/, and fails the test on any console error (a CSP violation is one) or any
page answered without the strict CSP."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from hygie.app import create_app
from hygie.db import Database
from hygie.generate.runner import generate
from hygie.keys import Keyring
from hygie.models import Establishment
from tests.api.conftest import PASSWORD, Login, give_login

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# One account per role, signed in by the tests (generated usernames are looked up by role).
ROLES = ("physician", "nurse", "secretary", "it_admin", "security_officer", "billing_officer")


@dataclass
class Group:
    db: Database
    establishment: int
    usernames: dict[str, list[str]]  # role -> generated accounts holding it
    logins: dict[str, Login] = field(default_factory=dict)  # username -> password + TOTP

    def login(self, role: str, n: int = 0) -> Login:
        """The ``n``-th account of ``role``, given a password and a TOTP secret."""
        username = self.usernames[role][n]
        if username not in self.logins:
            at = datetime.now(UTC) - timedelta(minutes=5)
            self.logins[username] = give_login(self.db, username, at=at)
        return self.logins[username]


@pytest.fixture
def group(db: Database, keyring: Keyring) -> Group:
    report = generate(db, keyring, establishments=1, patients=60, seed=11,
                      reference_date=datetime.now(UTC).date(), workers=1)  # fmt: skip
    assert report.plan is not None
    with db.sessions() as session:
        est = session.scalars(select(Establishment.id)).first()
    assert est is not None
    return Group(db=db, establishment=est, usernames=dict(report.plan.usernames))


@pytest.fixture
def server(db: Database) -> Iterator[str]:
    """The application on ``db``, served on a free loopback port; its base URL."""
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
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=20)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
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


def fresh_code(login: Login, after: str | None = None) -> str:
    """A TOTP code not used yet (a code is accepted once): wait for the next step if the
    current one was."""
    code = login.code(datetime.now(UTC))
    while code == after or code in login.used:
        time.sleep(0.5)
        code = login.code(datetime.now(UTC))
    return code


class Visit:
    """One browser context (its own cookies) on the test's server."""

    def __init__(self, browser: Any, base: str, name: str, expected: tuple[str, ...]) -> None:
        self.base = base
        self.name = name
        self.context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.expected = expected  # console lines a test provokes on purpose (a 4xx page)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("response", self._response)
        self.shots = 0

    def _console(self, message: Any) -> None:
        if message.type == "error" and not any(e in message.text for e in self.expected):
            self.problems.append(f"console: {message.text}")

    def _response(self, response: Any) -> None:
        if response.request.resource_type != "document":
            return
        csp = response.headers.get("content-security-policy", "")
        if "default-src 'self'" not in csp or "unsafe-inline" in csp or "unsafe-eval" in csp:
            self.problems.append(f"no strict CSP on {response.url}: {csp!r}")

    def go(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def sign_in(self, login: Login, *, next_path: str = "/") -> None:
        self.go(f"/login?next={next_path}")
        self.page.fill("#username", login.username)
        self.page.fill("#password", PASSWORD)
        code = fresh_code(login)
        self.page.fill("#totp", code)
        self.page.click("#sign-in button[type=submit]")
        login.used.add(code)
        self.page.wait_for_selector("#who")

    def shot(self, label: str) -> Path:
        """A full-page PNG under test-artifacts/ (the user guides show them)."""
        ARTIFACTS.mkdir(exist_ok=True)
        self.shots += 1
        path = ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser: Any, server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``visit()`` opens a browser context; ``visit(expect=("status of 403",))`` lets
    the console lines of pages answered 4xx on purpose through. Every context's problems
    fail the test at its end."""
    opened: list[Visit] = []
    name = request.node.name.replace("[", "-").replace("]", "")

    def open_visit(*, expect: tuple[str, ...] = ()) -> Visit:
        v = Visit(browser, server, f"{name}{'-' + str(len(opened)) if opened else ''}", expect)
        opened.append(v)
        return v

    yield open_visit
    problems = [p for v in opened for p in v.problems]
    for v in opened:
        v.close()
    assert problems == [], problems
