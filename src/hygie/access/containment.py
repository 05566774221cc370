"""Containment: the gate stops an account that harvests records, in the request that would
have crossed the line, before the data leaves (issue 5).

Every access the gate records passes here first (``audit.record``, ``audit.record_direct``):
the guard turns the trail's entry into an ``Access``, measures what it would hand over with
the exposure meter (distinct patients by level, without counting them yet), asks the
detector (``detection``) and acts on the strongest finding:

- **alert**: the access goes on; an alert with its evidence is stored and sent;
- **step-up**: refused until the session confirms a fresh second factor (a token cannot,
  so it is slowed down instead);
- **slow down**: refused with a delay to wait (HTTP 429);
- **contain**: refused; every session and token of the account is revoked and the account
  locked until a security officer unlocks it, with a reason.

A refusal raises ``Contained`` inside the gate's transaction, which rolls the access back:
nothing was read out, nothing of it is in the trail as allowed. The gate transaction then
calls ``enforce`` in a transaction of its own, which records the refusal, stores the alert
and, to contain, locks the account; its sessions and tokens stop working at once on every
instance, since each request checks them in the database (and in the shared board, below).

State that must hold across server processes lives behind two small interfaces: the
exposure meter (``exposure``; in Redis with ``HYGIE_REDIS_URL``) and the board of locked
and stepped-up accounts (``Board``; in Redis too). The detector's memory of habits (hours,
addresses, searches) stays in each process.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hygie.access.detection import (
    Access,
    Detector,
    Finding,
    Norms,
    Response,
    combined,
)
from hygie.access.exposure import Exposure, ExposureMeter, Level, LocalExposure
from hygie.errors import HygieError

if TYPE_CHECKING:
    from hygie.access.audit import Entry
    from hygie.db import Database
    from hygie.notify import AlertMessage, Dispatcher

log = logging.getLogger("hygie.containment")

# A fresh second factor waives step-up requests for this long.
STEP_UP_GRACE = timedelta(minutes=30)
SLOW_DOWN = timedelta(seconds=60)  # how long a slowed-down account is told to wait
# The same signal at the same response raises one alert per account in this time.
ALERT_QUIET = timedelta(hours=1)
# Honey records and norms are read again from the database this often.
REFRESH = timedelta(seconds=60)

CONTAINED_MESSAGE = (
    "this account has been suspended by the access monitor pending review by a security "
    "officer; contact your establishment's security officer"
)
STEP_UP_MESSAGE = "confirm your identity with a fresh code from your authenticator app"
SLOW_MESSAGE = "unusual volume of access: wait before trying again"


class Contained(HygieError):
    """Containment refused the request (the data did not leave). ``response``: step-up,
    slow or contain; ``retry_after``: seconds to wait (slow)."""

    def __init__(
        self,
        message: str,
        *,
        response: Response,
        access: Access,
        findings: list[Finding],
        retry_after: int | None = None,
        already_locked: bool = False,
    ) -> None:
        super().__init__(message)
        self.response = response
        self.access = access
        self.findings = findings
        self.retry_after = retry_after
        self.already_locked = already_locked
        self.enforced = False

    @property
    def status_code(self) -> int:
        return {Response.STEP_UP: 401, Response.SLOW: 429}.get(self.response, 403)


def containment_headers(refused: Contained) -> dict[str, str] | None:
    """HTTP headers of a refusal: how long to wait, or how to confirm (step-up)."""
    if refused.retry_after is not None:
        return {"Retry-After": str(refused.retry_after)}
    if refused.response == Response.STEP_UP:
        return {"WWW-Authenticate": 'Hygie-Step-Up realm="hygie"'}
    return None


class Board(Protocol):
    """Accounts locked, and when an account last confirmed a fresh second factor."""

    def is_locked(self, user_id: int) -> bool: ...
    def lock(self, user_id: int) -> None: ...
    def unlock(self, user_id: int) -> None: ...
    def stepped_up(self, user_id: int, at: datetime) -> None: ...
    def last_step_up(self, user_id: int) -> datetime | None: ...


class LocalBoard:
    def __init__(self) -> None:
        self._locked: set[int] = set()
        self._steps: dict[int, datetime] = {}

    def is_locked(self, user_id: int) -> bool:
        return user_id in self._locked

    def lock(self, user_id: int) -> None:
        self._locked.add(user_id)

    def unlock(self, user_id: int) -> None:
        self._locked.discard(user_id)

    def stepped_up(self, user_id: int, at: datetime) -> None:
        self._steps[user_id] = at

    def last_step_up(self, user_id: int) -> datetime | None:
        return self._steps.get(user_id)


class RedisBoard:
    """The board shared by every process using the same Redis and prefix."""

    def __init__(self, client: Any, *, prefix: str = "hygie:board") -> None:
        self._client = client
        self._prefix = prefix

    def is_locked(self, user_id: int) -> bool:
        return bool(self._client.sismember(f"{self._prefix}:locked", int(user_id)))

    def lock(self, user_id: int) -> None:
        self._client.sadd(f"{self._prefix}:locked", int(user_id))

    def unlock(self, user_id: int) -> None:
        self._client.srem(f"{self._prefix}:locked", int(user_id))

    def stepped_up(self, user_id: int, at: datetime) -> None:
        self._client.hset(f"{self._prefix}:steps", str(int(user_id)), at.timestamp())

    def last_step_up(self, user_id: int) -> datetime | None:
        raw = self._client.hget(f"{self._prefix}:steps", str(int(user_id)))
        return None if raw is None else datetime.fromtimestamp(float(raw), UTC)


@dataclass
class Verdict:
    """What the guard decided for one access."""

    response: Response
    findings: list[Finding]
    access: Access | None = None
    exposure: Mapping[Level, Exposure] = field(default_factory=dict)


@dataclass
class Guard:
    """The containment of one database's accesses (one per engine, see ``guard_for``)."""

    meter: ExposureMeter = field(default_factory=LocalExposure)
    board: Board = field(default_factory=LocalBoard)
    detector: Detector = field(default_factory=Detector)
    dispatcher: Dispatcher | None = None
    enabled: bool = True
    # The database it refreshes honey records and norms from when no session is at hand.
    engine: Engine | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _alerted: dict[tuple[int, str, Response], datetime] = field(default_factory=dict)
    _refreshed: datetime | None = None

    # --- deciding ------------------------------------------------------------------------
    def check(self, entry: Entry, at: datetime, session: Session | None = None) -> Verdict:
        """Decide on ``entry`` before it is written; raises ``Contained`` to refuse. An
        allowed access is counted (meter) and remembered (detector)."""
        if not self.enabled or entry.user_id is None:
            return Verdict(Response.NONE, [])
        access = access_of(entry, at)
        if not _assessed(access):  # sign-ins, refusals...: the account's habits only
            with self._lock:
                self.detector.remember(access)
            return Verdict(Response.NONE, [], access)
        self.refresh(session, at)
        if access.level is not None and self.board.is_locked(access.user_id):
            raise Contained(
                CONTAINED_MESSAGE, response=Response.CONTAIN, access=access, findings=[],
                already_locked=True,
            )  # fmt: skip
        # An export is counted apart (its own norm); one a second person approved, not at all.
        metered = access.delivers and not access.vouched
        exposure = self._preview(access) if metered else {}
        with self._lock:
            findings = self.detector.assess(access, exposure)
            response = self._respond(access, combined(findings))
            if response >= Response.STEP_UP:
                self.detector.remember(access, refused=True)
                raise Contained(
                    _message(response), response=response, access=access, findings=findings,
                    retry_after=int(SLOW_DOWN.total_seconds()) if response == Response.SLOW else None,
                )  # fmt: skip
            self.detector.remember(access)
        if metered:
            level = _metered_level(access)
            exposure = {
                level: self.meter.observe(
                    account=access.user_id, level=level, patients=access.patient_ids, at=at
                )
            }
        return Verdict(response, findings, access, exposure)

    def _preview(self, access: Access) -> dict[Level, Exposure]:
        """The account's exposure at the access's level if it goes through (the other level
        does not change)."""
        level = _metered_level(access)
        seen = self.meter.preview(
            account=access.user_id, level=level, patients=access.patient_ids, at=access.at
        )
        return {level: seen}

    def _respond(self, access: Access, response: Response) -> Response:
        """``response`` as the channel can carry it: a token cannot step up; a session that
        confirmed a fresh second factor lately is not asked again."""
        if response != Response.STEP_UP:
            return response
        if access.session_id is None:
            return Response.SLOW
        confirmed = self.board.last_step_up(access.user_id)
        if confirmed is not None and access.at - confirmed < STEP_UP_GRACE:
            return Response.ALERT
        return response

    def stepped_up(self, user_id: int, at: datetime) -> None:
        """The account confirmed a fresh second factor: step-ups are waived for a while,
        and the refusals it answered are not held against it."""
        self.board.stepped_up(user_id, at)
        with self._lock:
            self.detector.answered(user_id)

    def release(self, user_id: int) -> None:
        """An officer unlocked the account: off the board, its windows and recent counts
        started afresh (on this process; other processes' recent counts run out within
        their windows)."""
        self.board.unlock(user_id)
        self.meter.restart(account=user_id)
        with self._lock:
            self.detector.forgive(user_id)
            self._alerted = {k: v for k, v in self._alerted.items() if k[0] != user_id}

    def should_alert(self, user_id: int, finding: Finding, at: datetime) -> bool:
        """Whether this finding makes a new alert (not one raised within ``ALERT_QUIET``)."""
        key = (user_id, finding.signal, finding.response)
        with self._lock:
            last = self._alerted.get(key)
            if last is not None and at - last < ALERT_QUIET:
                return False
            self._alerted[key] = at
            return True

    # --- what the database tells the detector ---------------------------------------------
    def reload(self) -> None:
        """Read the honey records and the norms again at the next access (they changed)."""
        self._refreshed = None

    def refresh(self, session: Session | None, at: datetime, *, force: bool = False) -> None:
        """Read the honey records and the norms again if they are older than ``REFRESH``
        (in ``session``, or on a connection of the guard's engine)."""
        if not force and self._refreshed is not None and abs(at - self._refreshed) < REFRESH:
            return
        try:
            if session is not None:
                with session.begin_nested():  # a failure leaves the access's transaction whole
                    self._load(session.connection())
            elif self.engine is not None:
                with self.engine.connect() as conn:  # honey ids and norms: no patient row
                    self._load(conn)
        except DBAPIError as exc:  # an older schema, a lost connection: keep what we had
            log.warning("containment could not read honey records and norms: %s", exc)
        self._refreshed = at

    def _load(self, conn: Connection) -> None:
        from hygie.access.norms import overrides
        from hygie.models import HoneyRecord

        honey = frozenset(conn.scalars(select(HoneyRecord.patient_id)))
        self.detector.honey = honey
        self.detector.norms = Norms(overrides(conn))

    # --- acting --------------------------------------------------------------------------
    def notify(self, alert: AlertMessage) -> None:
        if self.dispatcher is not None:
            self.dispatcher.submit(alert)


# Accesses the detector assesses: those that hand patient data over or change it, and
# break-the-glass grants.
def _assessed(access: Access) -> bool:
    return access.outcome == "allowed" and (
        access.level is not None or access.action == "break_glass"
    )


def _metered_level(access: Access) -> Level:
    return Level.EXPORT if access.exported else Level(str(access.level))


def _message(response: Response) -> str:
    return {Response.STEP_UP: STEP_UP_MESSAGE, Response.SLOW: SLOW_MESSAGE}.get(
        response, CONTAINED_MESSAGE
    )


def access_of(entry: Entry, at: datetime) -> Access:
    """The detector's view of a trail entry (``entry.user_id`` must be set)."""
    if entry.user_id is None:
        raise ValueError("an access without an account")
    return Access(
        at=at, user_id=entry.user_id, username=entry.username,
        roles=frozenset(r for r in (entry.role or "").split(",") if r),
        establishment_id=entry.establishment_id, how=entry.how, action=entry.action,
        outcome=entry.outcome, level=entry.level,
        patient_ids=tuple(sorted({int(p) for p in entry.patient_ids})), purpose=entry.purpose,
        ip=entry.ip, user_agent=entry.user_agent, session_id=entry.session_id,
        token_id=entry.token_id, details=entry.details,
    )  # fmt: skip


# --- one guard per database engine --------------------------------------------------------
_guards: weakref.WeakKeyDictionary[Engine, Guard] = weakref.WeakKeyDictionary()
_guards_lock = threading.Lock()


def guard_for(engine: Engine) -> Guard:
    """The guard of the database behind ``engine``: the one installed, or a new one kept in
    this process (containment is never off by default)."""
    with _guards_lock:
        guard = _guards.get(engine)
        if guard is None:
            guard = _guards[engine] = Guard(engine=engine)
        return guard


def install(db: Database, guard: Guard) -> Guard:
    """Make ``guard`` the one of ``db``'s accesses (a server's, from ``guard_from_env``)."""
    guard.engine = db.engine
    with _guards_lock:
        _guards[db.engine] = guard
    return guard


def guard_from_env(environ: Mapping[str, str]) -> Guard:
    """The guard a server runs with: counters in Redis when ``HYGIE_REDIS_URL`` is set (so
    that limits hold across processes), in the process otherwise; alerts sent to the
    channels ``HYGIE_ALERT_*`` name."""
    from hygie.notify import Dispatcher, channels_from_env

    url = (environ.get("HYGIE_REDIS_URL") or "").strip()
    channels = channels_from_env(environ)
    dispatcher = Dispatcher(channels) if channels else None
    if not url:
        return Guard(dispatcher=dispatcher)
    import redis

    from hygie.access.exposure_redis import RedisExposure

    client = redis.Redis.from_url(url)
    # Several installations may share one Redis: each keeps its keys under its own prefix.
    prefix = (environ.get("HYGIE_REDIS_PREFIX") or "hygie").strip()
    return Guard(
        meter=RedisExposure(client, prefix=f"{prefix}:exposure"),
        board=RedisBoard(client, prefix=f"{prefix}:board"),
        dispatcher=dispatcher,
    )


def enforce(db: Database, refused: Contained) -> None:
    """Carry out what ``refused`` decided, after the refused access rolled back: record
    the refusal, store the alert and, to contain, lock the account and revoke its sessions
    and tokens. Runs once per refusal."""
    if refused.enforced:
        return
    refused.enforced = True
    from hygie.access import containment_actions

    containment_actions.enforce(db, guard_for(db.engine), refused)
