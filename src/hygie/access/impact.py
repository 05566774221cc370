"""A breach's impact, read from the trail: every patient one account received in a period,
at which level and with which data, for the notification to the CNIL within 72 hours
(GDPR art. 33) and for informing the patients (art. 34).

What counts as exposure is what the gate recorded as returned: events of the account with
``outcome == "allowed"`` and a ``level`` (``summary``: an identity line of a search or a
list; ``record``: more). A refusal (``denied``), a containment (``contained``) or a write
the service refused (``failed``) returned nothing, and an allowed event without a level (a
break-the-glass grant, a review verdict) carried no patient data: the read that followed
it has its own event. The patients come from the event's ``patient_ids`` column, which is
part of the hash chain, rather than from ``audit_patients``, which only indexes it.

Writes count as they are recorded. ``writes._write`` records an allowed write at level
``record``, naming the patient and the written category. What it hands back is the
service's value: an id (appointment, stay, allergy, note, prescription, coverage, act), an
invoice number, nothing (contact, status, move, cancel, discharge, death), or, for
``create_patient``, the new identity with its IPP. So a write seldom sends the chart back;
yet the actor picked that patient, held the data written, and had the patient's file
opened to them: the patient was within the account's reach, which is what a breach
notification is about. A write is therefore an exposure of its category at record level,
like a read. (``create_patient`` also answers with the ids of possible duplicates; the trail
keeps them in ``details``, not in ``patient_ids``, so they are not counted: they are ids,
not identities.)

Who may run it: a security officer (a role that reads the audit category and identities,
``docs/PERMISSIONS.md``) sees the patients with a file in the establishments where they
hold it, and only those files; the operator at the server's console (``operator_actor``,
the identity ``hygie incident impact`` runs under, like the other operator commands of the
trail) sees the whole group. Anyone else is refused, and the refusal is recorded. The
report is itself recorded (``incident.impact``, naming every patient it lists) in the
transaction that read it: no record, no report.

Scale: an account can have millions of events. They are read in pages of
``batch_size`` along the ``ix_audit_events_user_id_at`` index, keyed by ``(at, id)``:
each page is one range of that index, where a page keyed by id alone would sort the whole
period again for every page. Only the per-patient aggregates stay in memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hygie.access import audit
from hygie.access.actor import Actor
from hygie.access.gateway import AccessDenied, audit_entry
from hygie.access.maintenance import operator
from hygie.access.policy import decide
from hygie.access.scope import EVERY_ESTABLISHMENT, gate_transaction
from hygie.db import Database
from hygie.errors import NotFoundError, ValidationError
from hygie.kit import clock
from hygie.models import AuditEvent
from hygie.storage import patients as patient_store
from hygie.storage import staff as staff_store
from hygie.storage import trail_search

ACTION = "incident.impact"
# The levels that carry patient data, from least to most.
LEVELS = ("summary", "record")
RANK = {level: rank for rank, level in enumerate(LEVELS)}
BATCH_SIZE = 5000
IDENTITY_BATCH = 1000
# What the officer must be allowed in an establishment to report on its patients.
OVERSIGHT = (("read", "audit"), ("read", "identity"))

Progress = Callable[[str, int], None]  # (stage: "events" | "patients", how many more done)


@dataclass(frozen=True)
class Operator(Actor):
    """The person at the server's console: no account, no role, the whole group. Only the
    command line builds one (``operator_actor``); being its own type, no account's actor
    can pass for it. The trail names the operating-system user, as for the other operator
    commands (``access.maintenance``)."""

    os_user: str = "unknown"


def operator_actor() -> Operator:
    """The actor of ``hygie`` commands run by the operator."""
    return Operator(
        user_id=0, username="operator", human=False, professional_id=None, roles={},
        how="cli", purpose="incident_response", os_user=operator(),
    )  # fmt: skip


@dataclass(frozen=True)
class PatientFile:
    establishment_id: int
    ipp: str


@dataclass(frozen=True)
class ExposedPatient:
    """One patient the account received, and who they are (to inform them)."""

    patient_id: int
    level: str  # the highest received: "record" beats "summary"
    categories: tuple[str, ...]
    first_access: datetime
    last_access: datetime
    accesses: int
    channels: tuple[str, ...]
    birth_name: str | None
    used_name: str | None
    first_name: str | None
    birth_date: date | None
    files: tuple[PatientFile, ...]


@dataclass(frozen=True)
class ImpactSummary:
    """The figures a notification asks for."""

    account: str
    account_id: int
    since: datetime
    until: datetime
    patients: int
    patients_by_level: dict[str, int]
    patients_by_category: dict[str, int]
    events: int  # accesses that exposed at least one patient reported
    events_by_channel: dict[str, int]
    addresses: tuple[str, ...]
    sessions: tuple[int, ...]
    tokens: tuple[int, ...]
    first_access: datetime | None
    last_access: datetime | None
    # None: the whole group (operator); otherwise the establishments of the officer.
    establishments: tuple[int, ...] | None = None


@dataclass(frozen=True)
class ImpactReport:
    summary: ImpactSummary
    patients: list[ExposedPatient] = field(default_factory=list)  # by patient id


class _Seen:
    """What the account received of one patient so far (categories and channels as bit
    masks of ``_Tally.names``)."""

    __slots__ = ("accesses", "categories", "channels", "first", "last", "rank")

    def __init__(self, at: datetime) -> None:
        self.rank = -1
        self.categories = 0
        self.channels = 0
        self.first = at
        self.last = at
        self.accesses = 0


@dataclass
class _Tally:
    """The account's accesses, folded in as the pages come."""

    patients: dict[int, _Seen] = field(default_factory=dict)
    events: int = 0
    channels: Counter[str] = field(default_factory=Counter)
    addresses: set[str] = field(default_factory=set)
    sessions: set[int] = field(default_factory=set)
    tokens: set[int] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None
    bits: dict[str, int] = field(default_factory=dict)  # category or channel -> its bit
    masks: dict[tuple[str, ...], int] = field(default_factory=dict)
    decoded: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def mask(self, names: Sequence[str]) -> int:
        key = tuple(names)
        found = self.masks.get(key)
        if found is None:
            found = 0
            for name in key:
                found |= self.bits.setdefault(name, 1 << len(self.bits))
            self.masks[key] = found
        return found

    def names(self, mask: int) -> tuple[str, ...]:
        found = self.decoded.get(mask)
        if found is None:
            found = tuple(sorted(name for name, bit in self.bits.items() if mask & bit))
            self.decoded[mask] = found
        return found

    def add(self, event: Any, patient_ids: Sequence[int]) -> None:
        """Fold in one event (a row of ``_pages``) for those of its patients reported.
        Events come in time order, so a patient's first access is the first seen and
        every later one is the last so far. Millions of events go through here: a few
        integer operations per patient, no call and no set."""
        at, rank = event.at, RANK[event.level]
        categories = self.mask(event.categories or ())
        channel = self.mask((event.how,))
        patients = self.patients
        for pid in patient_ids:
            seen = patients.get(pid)
            if seen is None:
                seen = patients[pid] = _Seen(at)
            if rank > seen.rank:  # the highest level received: record beats summary
                seen.rank = rank
            seen.categories |= categories
            seen.channels |= channel
            seen.last = at
            seen.accesses += 1
        self.events += 1
        self.channels[event.how] += 1
        if event.ip:
            self.addresses.add(event.ip)
        if event.session_id is not None:
            self.sessions.add(event.session_id)
        if event.token_id is not None:
            self.tokens.add(event.token_id)
        if self.first is None:
            self.first = at
        self.last = at


def exposure_report(
    db: Database,
    actor: Actor,
    *,
    username: str,
    since: datetime,
    until: datetime | None = None,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> ImpactReport:
    """Every patient ``username`` received from ``since`` (included) to ``until``
    (excluded; default ``now``, the clock's time), with the summary, as ``actor`` may see
    it; recorded as ``incident.impact`` when it is done. ``progress`` is told of the
    events read and the identities loaded."""
    now = now or clock.now()
    name, since, until = _checked(username=username, since=since, until=until, now=now)
    scope = _scope_or_refuse(db, actor)
    report: ImpactReport | None = None
    with gate_transaction(db, scope) as session:
        account = staff_store.user_by_username(session, name)
        if account is not None:
            tally = _tally(session, account.id, since, until, scope, batch_size, progress)
            exposed = _exposed(session, tally, scope, progress)
            summary = _summary(tally, exposed, name, account.id, since, until, scope)
            report = ImpactReport(summary=summary, patients=exposed)
            audit.record(session, _report_entry(actor, scope, report))
    if report is None:
        _record_unknown(db, actor, scope, name)
        raise NotFoundError(f"no account named {name}", field="account")
    return report


def _checked(
    *, username: str, since: datetime, until: datetime | None, now: datetime
) -> tuple[str, datetime, datetime]:
    """The account's login name as stored, and the period in UTC."""
    name = username.strip().lower() if isinstance(username, str) else ""
    if not name:
        raise ValidationError("give the account's login name", field="account")
    end = until if until is not None else now
    for label, moment in (("since", since), ("until", end)):
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise ValidationError("must be a date and time with its time zone", field=label)
    if since >= end:
        raise ValidationError("the period ends before it starts", field="until")
    return name, since.astimezone(UTC), end.astimezone(UTC)


def _scope_or_refuse(db: Database, actor: Actor) -> frozenset[int] | None:
    """Where the actor may report: the group for the operator, the establishments an
    officer oversees; refused (and recorded) for anyone else."""
    if isinstance(actor, Operator):
        return EVERY_ESTABLISHMENT
    where = frozenset(
        est for est, roles in actor.roles.items()
        if all(
            any(decide(role=r.value, action=act, category=cat, in_scope=True,
                       care_relationship=None, break_glass=False).allowed for r in roles)
            for act, cat in OVERSIGHT
        )
    )  # fmt: skip
    if not where:
        with gate_transaction(db, actor.establishments) as session:
            audit.record(
                session,
                audit_entry(actor, action=ACTION, outcome="denied", categories=["audit"],
                            reason="not a security officer"),
            )  # fmt: skip
        raise AccessDenied("only a security officer or the operator reports a breach's impact")
    return where


def _pages(
    session: Session, user_id: int, since: datetime, until: datetime, batch_size: int
) -> Iterator[Sequence[Any]]:
    """The account's exposing events in the period, in pages in (at, id) order."""
    e = AuditEvent
    query = (
        select(e.id, e.at, e.level, e.patient_ids, e.categories, e.how, e.ip, e.session_id,
               e.token_id)
        .where(e.user_id == user_id, e.at < until, e.outcome == "allowed", e.level.in_(LEVELS))
        .order_by(e.at, e.id)
        .limit(max(1, batch_size))
    )  # fmt: skip
    page = session.execute(query.where(e.at >= since)).all()
    while page:
        yield page
        if len(page) < max(1, batch_size):
            return
        last = page[-1]
        after = query.where(e.at >= last.at, or_(e.at > last.at, e.id > last.id))
        page = session.execute(after).all()


def _tally(
    session: Session,
    user_id: int,
    since: datetime,
    until: datetime,
    scope: frozenset[int] | None,
    batch_size: int,
    progress: Progress | None,
) -> _Tally:
    tally = _Tally()
    ours: dict[int, bool] = {}  # patient id -> filed in the officer's establishments
    for page in _pages(session, user_id, since, until, batch_size):
        if scope is not None:
            unknown = {p for e in page for p in e.patient_ids or () if p not in ours}
            filed = trail_search.filed_in(session, unknown, scope) if unknown else set()
            ours.update((p, p in filed) for p in unknown)
        for event in page:
            # Distinct and sorted as the trail writes them (``audit.content``).
            patient_ids = event.patient_ids or ()
            if scope is not None:
                patient_ids = [p for p in patient_ids if ours[p]]
            if patient_ids:
                tally.add(event, patient_ids)
        if progress is not None:
            progress("events", len(page))
    return tally


def _exposed(
    session: Session, tally: _Tally, scope: frozenset[int] | None, progress: Progress | None
) -> list[ExposedPatient]:
    """The patients with who they are and their files (those of ``scope`` only)."""
    ids = sorted(tally.patients)
    exposed: list[ExposedPatient] = []
    for start in range(0, len(ids), IDENTITY_BATCH):
        chunk = ids[start : start + IDENTITY_BATCH]
        found = patient_store.identities_with_files(session, chunk, establishment_ids=scope)
        for pid in chunk:
            exposed.append(_patient(pid, tally, found.get(pid)))
        if progress is not None:
            progress("patients", len(chunk))
    return exposed


def _patient(
    pid: int, tally: _Tally, who: patient_store.IdentityWithFiles | None
) -> ExposedPatient:
    seen = tally.patients[pid]
    return ExposedPatient(
        patient_id=pid, level=LEVELS[seen.rank], categories=tally.names(seen.categories),
        first_access=seen.first, last_access=seen.last, accesses=seen.accesses,
        channels=tally.names(seen.channels),
        birth_name=who.birth_name if who else None, used_name=who.used_name if who else None,
        first_name=who.first_name if who else None, birth_date=who.birth_date if who else None,
        files=tuple(PatientFile(e, ipp) for e, ipp in who.files) if who else (),
    )  # fmt: skip


def _summary(
    tally: _Tally,
    exposed: list[ExposedPatient],
    name: str,
    account_id: int,
    since: datetime,
    until: datetime,
    scope: frozenset[int] | None,
) -> ImpactSummary:
    by_level = Counter(p.level for p in exposed)
    by_category = Counter(c for p in exposed for c in p.categories)
    return ImpactSummary(
        account=name, account_id=account_id, since=since, until=until, patients=len(exposed),
        patients_by_level={level: by_level[level] for level in reversed(LEVELS)},
        patients_by_category=_by_count(by_category),
        events=tally.events, events_by_channel=_by_count(tally.channels),
        addresses=tuple(sorted(tally.addresses)), sessions=tuple(sorted(tally.sessions)),
        tokens=tuple(sorted(tally.tokens)), first_access=tally.first, last_access=tally.last,
        establishments=tuple(sorted(scope)) if scope is not None else None,
    )  # fmt: skip


def _by_count(counts: Counter[str]) -> dict[str, int]:
    """Most first, then by name: the order the summary reads in."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _entry(actor: Actor, scope: frozenset[int] | None, **values: Any) -> audit.Entry:
    """The trail's entry for ``actor``: the operator is named as the other operator
    commands name it (no account; the operating-system user in ``details``)."""
    if isinstance(actor, Operator):
        details = {"operator": actor.os_user, **values.pop("details", {})}
        return audit.Entry(how=actor.how, purpose=actor.purpose, details=details, **values)
    return audit_entry(actor, scope=scope or frozenset(), **values)


def _report_entry(actor: Actor, scope: frozenset[int] | None, report: ImpactReport) -> audit.Entry:
    s = report.summary
    return _entry(
        actor, scope, action=ACTION, outcome="allowed", level="summary",
        patient_ids=[p.patient_id for p in report.patients], categories=["audit", "identity"],
        record_count=s.patients,
        details={
            "account": s.account, "account_id": s.account_id,
            "since": audit.iso_utc(s.since), "until": audit.iso_utc(s.until),
            "patients": s.patients, "patients_by_level": s.patients_by_level,
            "events": s.events,
            "establishments": list(s.establishments) if s.establishments is not None else "group",
        },
    )  # fmt: skip


def _record_unknown(db: Database, actor: Actor, scope: frozenset[int] | None, name: str) -> None:
    """An attempt on an account that does not exist is recorded too (``failed``)."""
    with gate_transaction(db, scope) as session:
        audit.record(
            session,
            _entry(actor, scope, action=ACTION, outcome="failed", categories=["audit"],
                   reason=f"no account named {name}"[:500], details={"account": name[:64]}),
        )  # fmt: skip
