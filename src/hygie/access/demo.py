"""The demonstration: a database that ``hygie demo`` generated says so in its trail
(``demo.create``, written once, before anyone can sign in), and only such a database has
demo accounts with printed passwords and TOTP codes readable from the command line
(``hygie user totp``). A production database, which never has that event, refuses both:
no default password, no second factor read by an operator.

Each start of the demo gives its accounts new random passwords (printed, never stored in
clear); their TOTP secrets stay, so an authenticator app set up once keeps working."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hygie.access import audit
from hygie.access.maintenance import operator
from hygie.access.scope import system_database
from hygie.auth import passwords, totp
from hygie.auth.service import start_enrolment
from hygie.db import Database
from hygie.errors import ConfigurationError, NotFoundError
from hygie.models import Credential, User
from hygie.storage import demo as store
from hygie.storage import staff as staff_store

NOT_DEMO = (
    "this database was not created by `hygie demo`: demo accounts and TOTP codes read from "
    "the command line exist only there"
)
# One account per role, in the order the demo prints them.
ROLES = ("physician", "nurse", "secretary", "billing_officer", "pharmacist", "it_admin",
         "security_officer")  # fmt: skip


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: str
    password: str
    enrolled: bool  # False: the first sign-in enrols TOTP (the QR code page)


def _entry(action: str, count: int, details: dict[str, object]) -> audit.Entry:
    return audit.Entry(
        action=action, outcome="allowed", how="cli", username=None, purpose="demonstration",
        record_count=count, details={"operator": operator(), **details},
    )  # fmt: skip


def mark_demo(db: Database) -> None:
    """Say in the trail that this database is a demonstration (right after generating it)."""
    with db.transaction() as session:
        if not store.is_demo(session):
            audit.record(session, _entry(store.DEMO_ACTION, 0, {}))


def is_demo(db: Database) -> bool:
    with db.sessions() as session:
        return store.is_demo(session)


def prepare_accounts(db: Database, *, now: datetime) -> list[DemoAccount]:
    """One account per role in the first establishment (and a second nurse whose first
    sign-in will enrol TOTP), each with a new random password."""
    if not is_demo(db):
        raise ConfigurationError(NOT_DEMO)
    chosen: list[DemoAccount] = []
    with system_database(db).transaction() as session:
        est = store.first_establishment(session)
        if est is None:
            raise NotFoundError("the demo database holds no establishment")
        by_role: dict[str, list[User]] = {}
        for user, role in store.accounts_by_role(session, est):
            by_role.setdefault(role, []).append(user)
        wanted = [(role, 0, True) for role in ROLES] + [("nurse", 1, False)]
        for role, n, enrolled in wanted:
            users = by_role.get(role, [])
            if len(users) <= n:
                continue
            user = users[n]
            password = passwords.generate_password()
            cred = session.get(Credential, user.id)
            hashed = passwords.hash_password(password, username=user.username)
            if cred is None:
                cred = Credential(user_id=user.id, password_hash=hashed, password_changed_at=now)
                session.add(cred)
                session.flush()
            else:
                cred.password_hash, cred.password_changed_at = hashed, now
                cred.failed_logins, cred.locked_until = 0, None
            if cred.totp_secret is None or (not enrolled and cred.totp_enrolled_at is not None):
                start_enrolment(session, user=user, now=now, how="cli", record=False)
            if enrolled and cred.totp_enrolled_at is None:
                cred.totp_enrolled_at = now - timedelta(minutes=1)
            enrolled_now = cred.totp_enrolled_at is not None
            chosen.append(
                DemoAccount(user.username, user.display_name, role, password, enrolled_now)
            )
        audit.record(session, _entry("demo.accounts", len(chosen),
                                     {"accounts": [a.username for a in chosen]}))  # fmt: skip
    return chosen


def current_code(db: Database, username: str, *, now: datetime) -> tuple[str, int]:
    """A demo account's TOTP code now, and the seconds it stays valid (recorded)."""
    if not is_demo(db):
        raise ConfigurationError(NOT_DEMO)
    with db.transaction() as session:
        user = staff_store.user_by_username(session, username.strip().lower())
        cred = session.get(Credential, user.id) if user is not None else None
        if user is None or cred is None or cred.totp_secret is None:
            raise NotFoundError(
                f"no demo account {username!r} with a second factor", field="username"
            )
        audit.record(session, _entry("demo.totp", 0, {"account": user.username}))
        secret = str(cred.totp_secret)
    left = totp.STEP_SECONDS - int(now.timestamp()) % totp.STEP_SECONDS
    return totp.code_at(secret, now), left
