"""An enrolled account on a fresh database, and helpers to sign in with an injected clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hygie.auth import service, totp
from hygie.db import Database
from hygie.models import AuditEvent
from tests.factories import build_world, finess

NOW = datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC)
PASSWORD = "violet tram under the bridge"
IP = "198.51.100.7"
UA = "pytest"


@dataclass
class Account:
    user_id: int
    username: str
    secret: str
    recovery_codes: list[str]
    enrolled_at: datetime


def code(account: Account, at: datetime) -> str:
    return totp.code_at(account.secret, at)


def sign_in(db: Database, account: Account, at: datetime, **overrides: object) -> int:
    """Authenticate (committing the refusal's trace, as an entry point does); the user id."""
    args: dict[str, object] = {
        "username": account.username,
        "password": PASSWORD,
        "ip": IP,
        "user_agent": UA,
        "now": at,
    }
    if "recovery_code" not in overrides:
        args["totp_code"] = code(account, at)
    args.update(overrides)
    with service.unit_of_work(db) as session:
        return service.authenticate(session, **args).id  # type: ignore[arg-type]


def events(db: Database, action: str | None = None) -> list[AuditEvent]:
    with db.sessions() as session:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return list(session.scalars(query))


def make_account(db: Database, username: str = "marie.curie", *, enrol: bool = True) -> Account:
    with db.transaction() as session:
        build_world(session)
        new = service.create_account(
            session,
            username=username,
            role="physician",
            establishments=[finess(1), finess(2)],
            password=PASSWORD,
            now=NOW - timedelta(days=1),
            how="cli",
        )
    account = Account(
        user_id=new.user.id,
        username=new.user.username,
        secret=new.enrolment.secret,
        recovery_codes=new.enrolment.recovery_codes,
        enrolled_at=NOW - timedelta(hours=1),
    )
    if enrol:
        with service.unit_of_work(db) as session:
            service.complete_enrolment(
                session,
                username=username,
                password=PASSWORD,
                totp_code=code(account, account.enrolled_at),
                ip=IP,
                user_agent=UA,
                now=account.enrolled_at,
            )
    return account


@pytest.fixture
def account(db: Database) -> Account:
    return make_account(db)
