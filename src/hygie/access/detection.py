"""Detection: what an account's stream of accesses says about it (issue 5, containment).

The detector is a function of the event stream and of a clock it is handed: it sees each
access (``Access``, built from the trail's entry before the data leaves, or from a stored
event when the trail is replayed), together with the account's exposure after it (distinct
patients by level over sliding windows, from ``exposure``), and answers with findings.
Nothing here reads a database or the wall clock, so the same code runs live, on a replayed
trail and in simulation.

Each finding names a signal and a response on the graduated ladder: alert, then ask for a
fresh second factor, then slow down, then contain (suspend every session and token and lock
the account). Volume signals climb the ladder with the ratio of what was seen to the norm
(``Ladder``); a decoy patient opened, or refusals ignored, go straight to containment.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from hygie.access.exposure import WINDOWS, Exposure, Level
from hygie.kit.time import PARIS


class Response(IntEnum):
    """The graduated ladder, mildest first."""

    NONE = 0
    ALERT = 1
    STEP_UP = 2  # the request waits for a fresh second factor (sessions; tokens: SLOW)
    SLOW = 3  # the request is refused for a while (HTTP 429)
    CONTAIN = 4  # sessions and tokens revoked, account locked pending review

    @property
    def label(self) -> str:
        return self.name.lower()


SEVERITY = {
    Response.ALERT: "warning",
    Response.STEP_UP: "high",
    Response.SLOW: "high",
    Response.CONTAIN: "critical",
}


@dataclass(frozen=True)
class Ladder:
    """How far past its norm a volume signal climbs: at ``alert`` times the norm it raises
    an alert, at ``step_up`` it asks for a fresh second factor, and so on."""

    alert: float = 1.0
    step_up: float = 1.5
    slow: float = 2.0
    contain: float = 3.0

    def response(self, value: float, norm: float) -> Response:
        if norm <= 0:
            return Response.CONTAIN if value > 0 else Response.NONE
        ratio = value / norm
        for threshold, response in (
            (self.contain, Response.CONTAIN), (self.slow, Response.SLOW),
            (self.step_up, Response.STEP_UP), (self.alert, Response.ALERT),
        ):  # fmt: skip
            if ratio > threshold:
                return response
        return Response.NONE


# Default norms: what one account of a role does in a window at most, on an ordinary day,
# before anything is learned from the trail (``norms``). Counted in distinct patients by
# level (``records.10m``: charts and resources of 10 minutes), or in requests. A role absent
# from a signal takes ``*``. Documented in docs/CONTAINMENT.md, adjustable by the security
# officer (``hygie detection norms``).
DEFAULT_NORMS: Mapping[str, Mapping[str, float]] = {
    # A physician's consultation day is 20 to 40 patients; a ward round, a dozen in a row.
    "records.1m": {"*": 6, "secretary": 8, "interface": 600},
    "records.10m": {"*": 20, "secretary": 30, "billing_officer": 40, "interface": 3000},
    "records.1h": {"*": 40, "secretary": 60, "billing_officer": 80, "interface": 10000},
    "records.1d": {"*": 120, "secretary": 200, "billing_officer": 250, "interface": 50000},
    # A search page shows at most 50 lines; reception searches a few hundred names a day.
    "summaries.1m": {"*": 120, "interface": 6000},
    "summaries.10m": {"*": 300, "interface": 30000},
    "summaries.1h": {"*": 600, "interface": 100000},
    "summaries.1d": {"*": 1500, "secretary": 2500, "interface": 500000},
    # Searches of the shortest form (two letters, no first name or birth date) in 10 min.
    "search.short.10m": {"*": 10},
    # How deep into a result list one goes (offset of the first line asked for).
    "search.depth": {"*": 200},
    # Appointments cancelled or moved, identities edited, in 10 minutes.
    "modifications.10m": {"*": 15, "secretary": 30},
    # Break-the-glass grants in a day.
    "break_glass.1d": {"*": 3},
    # Patients in exports in a day (a bulk export needs four eyes).
    "export.1d": {"*": 50},
    # Distinct addresses using the account's sessions and tokens in 10 minutes.
    "addresses.10m": {"*": 2},
    # Decoy patients seen in summaries in a day (any record of one contains at once).
    "honey.summaries.1d": {"*": 1},
    # Requests refused by step-up or slow-down in an hour, before containment (someone who
    # cannot confirm a fresh code keeps trying).
    "refusals.1h": {"*": 5},
    # Records read in a day by a clinical role with no care relationship to the patient.
    "care.none.1d": {"*": 5},
    # Records read one after the other in the order of their ids (a sweep).
    "sweep": {"*": 5},
}
CLINICAL_ROLES = frozenset({"physician", "nurse", "pharmacist"})
EXPORT_ACTION = "export.download"  # a file of patients (``exports``)

MODIFYING_ACTIONS = frozenset({
    "appointment.cancel", "appointment.move", "patient.identity_status", "patient.merge",
    "patient.update_identity", "patient.contact",
})  # fmt: skip
CARE_BASES = frozenset({"attending", "appointment", "stay", "care_team", "dispensing"})
# Hours (Paris) outside which access is unusual unless the account's history has some.
DAY_HOURS = range(7, 21)


@dataclass(frozen=True)
class Access:
    """One access as the detector sees it: who, when, from where, what, and the outcome."""

    at: datetime
    user_id: int
    username: str | None
    roles: frozenset[str]
    establishment_id: int | None
    how: str
    action: str
    outcome: str
    level: str | None = None
    patient_ids: tuple[int, ...] = ()
    purpose: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    session_id: int | None = None
    token_id: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def delivers(self) -> bool:
        """Whether the access hands patient data over."""
        return self.outcome == "allowed" and self.level is not None and bool(self.patient_ids)

    @property
    def exported(self) -> bool:
        """A file of patients handed over at once: measured against the export norm
        (``export.1d``), not the reading windows a person's pace sets."""
        return self.delivers and self.action == EXPORT_ACTION

    @property
    def vouched(self) -> bool:
        """A bulk export a second person approved (four eyes, ``exports``)."""
        return (
            self.exported
            and bool(self.details.get("bulk"))
            and bool(self.details.get("approved_by_id"))
        )


@dataclass(frozen=True)
class Finding:
    signal: str
    response: Response
    message: str
    value: float
    norm: float

    def figures(self) -> dict[str, Any]:
        return {"signal": self.signal, "value": self.value, "norm": self.norm}


class Norms:
    """The limits the detector measures against: learned or set ones over the defaults.
    ``overrides``: ``(role or None, establishment or None, signal) -> limit``."""

    def __init__(
        self, overrides: Mapping[tuple[str | None, int | None, str], float] | None = None
    ) -> None:
        self.overrides = dict(overrides or {})

    def limit(self, signal: str, roles: Iterable[str], establishment_id: int | None) -> float:
        """The largest limit of the account's roles there (an account holding two roles
        does the work of either)."""
        roles = sorted(roles) or ["*"]
        return max(self._one(signal, role, establishment_id) for role in roles)

    def _one(self, signal: str, role: str, establishment_id: int | None) -> float:
        for key in (
            (role, establishment_id, signal), (role, None, signal),
            (None, establishment_id, signal), (None, None, signal),
        ):  # fmt: skip
            if key in self.overrides:
                return self.overrides[key]
        defaults = DEFAULT_NORMS.get(signal, {})
        return float(defaults.get(role, defaults.get("*", 0)))


class _Recent:
    """Times of events in a sliding window, oldest first."""

    def __init__(self, width: timedelta) -> None:
        self.width = width
        self.times: deque[tuple[datetime, Any]] = deque()

    def add(self, at: datetime, value: Any = None) -> None:
        self.times.append((at, value))

    def values(self, at: datetime) -> list[Any]:
        cutoff = at - self.width
        while self.times and self.times[0][0] <= cutoff:
            self.times.popleft()
        return [v for _, v in self.times]


@dataclass
class _Account:
    """What the detector remembers of one account between its accesses."""

    first_seen: datetime
    short_searches: _Recent = field(default_factory=lambda: _Recent(timedelta(minutes=10)))
    modifications: _Recent = field(default_factory=lambda: _Recent(timedelta(minutes=10)))
    break_glass: _Recent = field(default_factory=lambda: _Recent(timedelta(days=1)))
    addresses: _Recent = field(default_factory=lambda: _Recent(timedelta(minutes=10)))
    refusals: _Recent = field(default_factory=lambda: _Recent(timedelta(hours=1)))
    honey_seen: _Recent = field(default_factory=lambda: _Recent(timedelta(days=1)))
    care_none: _Recent = field(default_factory=lambda: _Recent(timedelta(days=1)))
    last_record: int | None = None
    sweep: int = 0  # records read so far in a run of ids close above each other
    last_seen: datetime | None = None
    known_ips: set[str] = field(default_factory=set)
    known_agents: set[str] = field(default_factory=set)
    # Days (Paris) with activity, and those with activity outside the day's hours.
    active_days: set[str] = field(default_factory=set)
    night_days: set[str] = field(default_factory=set)


# An account's own history counts once it spans this many days of activity: before, a new
# address or an unusual hour is nothing to go by.
HISTORY_DAYS = 5
# An account silent this long while the detector watched (or created by an IT administrator
# less than a day ago) that starts reading records is worth a look.
DORMANT_AFTER = timedelta(days=21)
FRESH_ACCOUNT = timedelta(days=1)
SWEEP_GAP = 3  # ids at most this far above the previous one continue a sweep


class Detector:
    """Findings for each access of the stream, in order. ``honey``: the decoy patients."""

    def __init__(
        self,
        *,
        norms: Norms | None = None,
        ladder: Ladder | None = None,
        honey: frozenset[int] = frozenset(),
        dormant_after: timedelta = DORMANT_AFTER,
    ) -> None:
        self.norms = norms or Norms()
        self.ladder = ladder or Ladder()
        self.honey = honey
        self.dormant_after = dormant_after
        self._accounts: dict[int, _Account] = {}
        self._created: dict[int, datetime] = {}  # accounts an IT administrator created
        # Days worked, and nights worked, by the accounts of each role (a role on call at
        # night makes a night's access ordinary for its accounts).
        self._role_days: dict[str, int] = {}
        self._role_nights: dict[str, int] = {}
        self._watching_since: datetime | None = None

    def account(self, user_id: int, at: datetime) -> _Account:
        return self._accounts.setdefault(user_id, _Account(first_seen=at))

    def answered(self, user_id: int) -> None:
        """The account answered a step-up: its refusals so far are not ignored ones."""
        state = self._accounts.get(user_id)
        if state is not None:
            state.refusals.times.clear()

    def forgive(self, user_id: int) -> None:
        """Forget the account's recent counts (searches, modifications, refusals...), not
        its habits: a security officer reviewed them and unlocked it."""
        state = self._accounts.get(user_id)
        if state is not None:
            self._accounts[user_id] = _Account(
                first_seen=state.first_seen, known_ips=state.known_ips,
                known_agents=state.known_agents, active_days=state.active_days,
                night_days=state.night_days,
            )  # fmt: skip

    def assess(
        self, access: Access, exposure: Mapping[Level, Exposure] | None = None
    ) -> list[Finding]:
        """The findings for ``access`` (not yet remembered: see ``remember``), given the
        account's exposure counting it (``exposure``, when it delivers patients)."""
        state = self.account(access.user_id, access.at)
        if access.vouched:  # four eyes approved it: no norm applies, but where and when do
            return self._unusual(access, state)
        found: list[Finding] = []
        if exposure and not access.exported:  # a file at once: the export norm measures it
            found += self._volume(access, exposure)
        found += self._honey(access, state)
        found += self._searching(access, state)
        found += self._counted(access, state, exposure or {})
        found += self._unusual(access, state)
        found += self._reading(access, state)
        return found

    def remember(self, access: Access, *, refused: bool = False) -> None:
        """Take ``access`` into the account's history (``refused``: the gate refused it by
        step-up or slow-down)."""
        state = self.account(access.user_id, access.at)
        at = access.at
        if self._watching_since is None:
            self._watching_since = at
        if refused:
            state.refusals.add(at)
            return
        if (
            access.outcome == "allowed"
            and access.action == "account.create"
            and "it_admin" in access.roles
        ):
            created = access.details.get("account_id")
            if isinstance(created, int):
                self._created[created] = at
        if access.delivers and access.level == Level.RECORD and not access.exported:
            if _no_care(access):
                for patient in access.patient_ids:
                    state.care_none.add(at, patient)
            state.last_record, state.sweep = _sweep(
                state.last_record, state.sweep, access.patient_ids
            )
        if access.delivers:
            state.last_seen = at
        if _short_search(access):
            state.short_searches.add(at)
        if access.outcome == "allowed" and access.action in MODIFYING_ACTIONS:
            state.modifications.add(at)
        if access.outcome == "allowed" and access.action == "break_glass":
            state.break_glass.add(at)
        if access.delivers and access.level == Level.SUMMARY:
            for patient in set(access.patient_ids) & self.honey:
                state.honey_seen.add(at, patient)
        if access.ip:
            state.addresses.add(at, access.ip)
        local = at.astimezone(PARIS)
        day = local.date().isoformat()
        if day not in state.active_days:
            state.active_days.add(day)
            for role in access.roles:
                self._role_days[role] = self._role_days.get(role, 0) + 1
        if local.hour not in DAY_HOURS and day not in state.night_days:
            state.night_days.add(day)
            for role in access.roles:
                self._role_nights[role] = self._role_nights.get(role, 0) + 1
        if access.ip:
            state.known_ips.add(access.ip)
        if access.user_agent:
            state.known_agents.add(access.user_agent)

    # --- the signals ---------------------------------------------------------------------
    def _limit(self, access: Access, signal: str) -> float:
        return self.norms.limit(signal, access.roles, access.establishment_id)

    def _ladder(self, access: Access, signal: str, value: float, what: str) -> list[Finding]:
        norm = self._limit(access, signal)
        response = self.ladder.response(value, norm)
        if response is Response.NONE:
            return []
        return [Finding(signal, response, f"{value:g} {what} (norm {norm:g})", value, norm)]

    def _volume(self, access: Access, exposure: Mapping[Level, Exposure]) -> list[Finding]:
        found = []
        for level, seen in exposure.items():
            plural = "patients' records" if level == Level.RECORD else "patients in lists"
            for window in WINDOWS:
                signal = f"{'records' if level == Level.RECORD else 'summaries'}.{window}"
                found += self._ladder(access, signal, seen.within(window), f"{plural} in {window}")
        return found

    def _honey(self, access: Access, state: _Account) -> list[Finding]:
        if not access.delivers:
            return []
        decoys = set(access.patient_ids) & self.honey
        if not decoys:
            return []
        if access.level == Level.RECORD:
            return [Finding("honey.record", Response.CONTAIN,
                            f"decoy record opened (patients {sorted(decoys)})", len(decoys), 0)]  # fmt: skip
        seen = set(state.honey_seen.values(access.at)) | decoys
        norm = self._limit(access, "honey.summaries.1d")
        response = Response.CONTAIN if len(seen) > norm else Response.ALERT
        return [Finding("honey.summaries.1d", response,
                        f"{len(seen)} decoy patients listed in a day", len(seen), norm)]  # fmt: skip

    def _searching(self, access: Access, state: _Account) -> list[Finding]:
        found = []
        if _short_search(access):
            count = len(state.short_searches.values(access.at)) + 1
            found += self._ladder(access, "search.short.10m", count, "two-letter searches in 10m")
        depth = access.details.get("offset")
        if access.delivers and isinstance(depth, int) and depth > 0:
            found += self._ladder(access, "search.depth", depth, "lines deep into a result list")
        return found

    def _counted(
        self, access: Access, state: _Account, exposure: Mapping[Level, Exposure]
    ) -> list[Finding]:
        found = []
        if access.outcome == "allowed" and access.action in MODIFYING_ACTIONS:
            count = len(state.modifications.values(access.at)) + 1
            found += self._ladder(access, "modifications.10m", count, "modifications in 10m")
        if access.outcome == "allowed" and access.action == "break_glass":
            count = len(state.break_glass.values(access.at)) + 1
            found += self._ladder(access, "break_glass.1d", count, "break-the-glass in a day")
            if access.purpose == "break_the_glass:other":  # no emergency, no continuity of care
                found.append(Finding("break_glass.other", Response.ALERT,
                                     "break-the-glass for another reason than care", 1, 0))  # fmt: skip
        exported = exposure.get(Level.EXPORT)  # the meter's, shared by processes with Redis
        if access.exported and exported is not None:
            found += self._ladder(
                access, "export.1d", exported.within("1d"), "patients exported today"
            )
        if access.ip:
            ips = set(state.addresses.values(access.at)) | {access.ip}
            found += [
                Finding(f.signal, min(f.response, Response.ALERT), f.message, f.value, f.norm)
                for f in self._ladder(access, "addresses.10m", len(ips), "addresses in 10m")
            ]  # several addresses at once: worth a look, never a lock on its own
        refusals = len(state.refusals.values(access.at))
        norm = self._limit(access, "refusals.1h")
        if refusals >= norm:
            found.append(Finding("refusals.1h", Response.CONTAIN,
                                 f"{refusals} refused requests ignored in an hour", refusals, norm))  # fmt: skip
        return found

    def _unusual(self, access: Access, state: _Account) -> list[Finding]:
        """A new address, device or hour for an account whose history shows its habits."""
        if not access.delivers or len(state.active_days) < HISTORY_DAYS:
            return []
        found = []
        local = access.at.astimezone(PARIS)
        if (
            local.hour not in DAY_HOURS
            and len(state.night_days) * 10 < len(state.active_days)
            and not any(self._works_nights(role) for role in access.roles)
        ):
            found.append(Finding("hours", Response.ALERT,
                                 f"access at {local:%H:%M}, unusual for this account", local.hour, 0))  # fmt: skip
        if access.ip and access.ip not in state.known_ips:
            found.append(Finding("address.new", Response.ALERT,
                                 f"first access from {access.ip}", 1, 0))  # fmt: skip
        if access.user_agent and access.user_agent not in state.known_agents:
            found.append(Finding("device.new", Response.ALERT,
                                 "first access from this browser or client", 1, 0))  # fmt: skip
        return found

    def _reading(self, access: Access, state: _Account) -> list[Finding]:
        """How records are read: without care, in the order of the ids, by an account
        just created by an IT administrator or silent for weeks."""
        if not access.delivers or access.level != Level.RECORD or access.exported:
            return []
        found = []
        if _no_care(access):
            patients = set(state.care_none.values(access.at)) | set(access.patient_ids)
            found += self._ladder(
                access, "care.none.1d", len(patients), "records without care relationship today"
            )
        _, run = _sweep(state.last_record, state.sweep, access.patient_ids)
        found += self._ladder(access, "sweep", run, "records read in the order of their ids")
        created = self._created.get(access.user_id)
        if created is not None and access.at - created < FRESH_ACCOUNT:
            found.append(Finding("account.fresh", Response.ALERT,
                                 "records read by an account an IT administrator created today", 1, 0))  # fmt: skip
        watching = (
            self._watching_since is not None
            and access.at - self._watching_since >= self.dormant_after
        )
        silent = state.last_seen is None or access.at - state.last_seen >= self.dormant_after
        if watching and silent:
            found.append(Finding("account.dormant", Response.ALERT,
                                 "records read by an account silent for weeks", 1, 0))  # fmt: skip
        return found

    def _works_nights(self, role: str) -> bool:
        """Whether the role's accounts work some nights (one night in twenty or more)."""
        return self._role_nights.get(role, 0) * 20 >= max(self._role_days.get(role, 0), 1)


def _no_care(access: Access) -> bool:
    return (
        bool(access.roles & CLINICAL_ROLES)
        and access.purpose == "role"
        and access.action == "chart.read"
    )


def _sweep(last: int | None, run: int, patients: tuple[int, ...]) -> tuple[int | None, int]:
    """The last record read and the length of the run of ids close above each other, after
    reading ``patients`` (the same patient again neither extends nor breaks it)."""
    for patient in patients:
        if last is not None and 0 < patient - last <= SWEEP_GAP:
            run += 1
        elif patient != last:
            run = 0
        last = patient
    return last, run


def _short_search(access: Access) -> bool:
    if access.action != "patient.search" or access.outcome != "allowed":
        return False
    criteria = access.details.get("criteria") or {}
    name = str(criteria.get("name") or criteria.get("family") or "").replace(" ", "")
    narrowed = any(criteria.get(k) for k in ("birth_date", "first_name", "given", "identifier"))
    return 0 < len(name) <= 2 and not narrowed


def combined(findings: Iterable[Finding]) -> Response:
    """The response to a set of findings: the strongest, one step further when signals of
    two different kinds agree (volume and an unusual hour, say)."""
    findings = list(findings)
    if not findings:
        return Response.NONE
    strongest = max(f.response for f in findings)
    kinds = {f.signal.split(".")[0] for f in findings if f.response >= Response.ALERT}
    if len(kinds) >= 2 and strongest < Response.CONTAIN:
        return Response(strongest + 1)
    return strongest
