"""Failed sign-ins counted per account and per source address (``login_throttles``).

A key (``user:<name>`` or ``ip:<address>``) counts its failures in a fixed window; past the
limit it is blocked for a while. Names that match no account are counted the same way, so
that a lockout tells nothing about which accounts exist. IPv6 addresses are counted per /64
(one subscriber usually holds a whole /64). While a key is blocked, attempts are refused
without looking at the password and do not extend the block (so an attacker cannot keep a
real user locked out for ever by trying once every few minutes).

The rows are locked while counted (``SELECT ... FOR UPDATE`` on PostgreSQL, the database
write lock on SQLite), so concurrent attempts from several app instances add up.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hygie.models import LoginThrottle


@dataclass(frozen=True)
class ThrottlePolicy:
    account_failures: int = 5
    address_failures: int = 20
    window: timedelta = timedelta(minutes=15)
    block: timedelta = timedelta(minutes=15)

    def limit_of(self, key: str) -> int:
        return self.account_failures if key.startswith("user:") else self.address_failures


DEFAULT_POLICY = ThrottlePolicy()


def account_key(username: str) -> str:
    return "user:" + username.strip().lower()[:180]


def address_key(ip: str | None) -> str:
    if not ip:
        return "ip:unknown"
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return "ip:invalid"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"ip:{address.ipv4_mapped}"
        return f"ip:{ipaddress.IPv6Network((address, 64), strict=False)}"
    return f"ip:{address}"


def _row(session: Session, key: str, now: datetime) -> LoginThrottle:
    """The throttle row of ``key``, created if missing, locked until the end of the
    transaction."""
    dialect = session.get_bind().dialect.name
    values = {"key": key, "window_start": now, "failures": 0}
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(LoginThrottle).values(values).on_conflict_do_nothing())
    row = session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row


def blocked_keys(session: Session, keys: list[str], *, now: datetime) -> list[str]:
    """Those of ``keys`` that are blocked at ``now``."""
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).all()
    return [r.key for r in rows if r.blocked_until is not None and r.blocked_until > now]


def register_failure(
    session: Session, keys: list[str], *, now: datetime, policy: ThrottlePolicy = DEFAULT_POLICY
) -> dict[str, datetime]:
    """Count one failure against each key; the keys this failure blocks, with the end of
    their block."""
    newly_blocked: dict[str, datetime] = {}
    for key in keys:
        row = _row(session, key, now)
        if now - row.window_start >= policy.window:
            row.window_start = now
            row.failures = 0
        row.failures += 1
        already = row.blocked_until is not None and row.blocked_until > now
        if row.failures >= policy.limit_of(key) and not already:
            row.blocked_until = now + policy.block
            row.window_start = now
            row.failures = 0
            newly_blocked[key] = row.blocked_until
    session.flush()
    return newly_blocked


def clear(session: Session, key: str) -> None:
    """Forget the failures of ``key`` (an account, after a successful sign-in). Address
    counters are never cleared by a success: one good account must not launder a spray."""
    row = session.get(LoginThrottle, key)
    if row is not None:
        row.failures = 0
        row.blocked_until = None
