"""Exposure: how many distinct patients an account has received, by level, over sliding
windows and over its history (issue 5, containment).

The gate knows, before it returns anything, which patients a response carries and at which
level: a **summary** (a line of a search result, an agenda, a list) or a **record**
(anything more: contact details, coverage, clinical content, a chart, a FHIR resource). It
tells the meter (``observe``), which answers with the account's counts after this response,
so that the caller can decide, in the same request, whether the account has crossed a line.

Counting is distinct: the same patient read twice in a window counts once. The clock is
the caller's (``at``), so the same code runs live, on a replayed trail and in simulation.

``LocalExposure`` keeps the counts in the process (the embedded default). A deployment of
several processes needs them shared (Redis, ``HYGIE_REDIS_URL``): same interface.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol


class Level(StrEnum):
    SUMMARY = "summary"
    RECORD = "record"
    # Patients handed over in export files: a list at once, measured on its own norm.
    EXPORT = "export"


# The sliding windows counted, by name (the day is the longest: older is history).
WINDOWS: Mapping[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "10m": timedelta(minutes=10),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}


@dataclass(frozen=True)
class Exposure:
    """An account's distinct patients at one level: per window, and ever."""

    level: Level
    windows: Mapping[str, int]
    ever: int

    def within(self, window: str) -> int:
        return self.windows[window]


class ExposureMeter(Protocol):
    def observe(
        self, *, account: int, level: Level, patients: Iterable[int], at: datetime
    ) -> Exposure:
        """Count ``patients`` as received by ``account`` at ``at``; the counts after it."""
        ...

    def current(self, *, account: int, level: Level, at: datetime) -> Exposure:
        """The counts at ``at``, counting nothing new."""
        ...

    def preview(
        self, *, account: int, level: Level, patients: Iterable[int], at: datetime
    ) -> Exposure:
        """The counts ``observe`` would give, counting nothing: the gate decides on them
        before the data leaves, and counts only what it hands over."""
        ...

    def restart(self, *, account: int) -> None:
        """Empty the account's windows (its history stays): a security officer reviewed
        what it did and unlocked it."""
        ...


class _Windows:
    """One account's patients at one level: for each window, the patients last seen within
    it, oldest first (an ordered dict, moved to the end when seen again), and every patient
    ever seen."""

    def __init__(self) -> None:
        self.recent: dict[str, OrderedDict[int, datetime]] = {w: OrderedDict() for w in WINDOWS}
        self.ever: set[int] = set()

    def add(self, patients: Iterable[int], at: datetime) -> None:
        for patient in patients:
            self.ever.add(patient)
            for seen in self.recent.values():
                # Requests finish out of order by a few milliseconds: keep the latest time,
                # so that a patient is never forgotten early (counting late errs safe).
                seen[patient] = max(at, seen.get(patient, at))
                seen.move_to_end(patient)

    def counts(self, at: datetime) -> dict[str, int]:
        found = {}
        for name, seen in self.recent.items():
            cutoff = at - WINDOWS[name]
            while seen:
                patient, last = next(iter(seen.items()))
                if last > cutoff:
                    break
                del seen[patient]
            found[name] = len(seen)
        return found


class LocalExposure:
    """The meter kept in this process's memory (one server process, the CLI, simulation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[tuple[int, Level], _Windows] = {}

    def observe(
        self, *, account: int, level: Level, patients: Iterable[int], at: datetime
    ) -> Exposure:
        if at.tzinfo is None:
            raise ValueError("exposure times are timezone-aware")
        with self._lock:
            windows = self._accounts.setdefault((account, level), _Windows())
            windows.add(patients, at)
            return Exposure(level=level, windows=windows.counts(at), ever=len(windows.ever))

    def current(self, *, account: int, level: Level, at: datetime) -> Exposure:
        return self.observe(account=account, level=level, patients=(), at=at)

    def restart(self, *, account: int) -> None:
        with self._lock:
            for level in Level:
                windows = self._accounts.get((account, level))
                if windows is not None:
                    for seen in windows.recent.values():
                        seen.clear()

    def preview(
        self, *, account: int, level: Level, patients: Iterable[int], at: datetime
    ) -> Exposure:
        if at.tzinfo is None:
            raise ValueError("exposure times are timezone-aware")
        wanted = {int(p) for p in patients}
        with self._lock:
            windows = self._accounts.get((account, level)) or _Windows()
            counts = windows.counts(at)
            return Exposure(
                level=level,
                windows={
                    name: counts[name] + len(wanted - windows.recent[name].keys())
                    for name in WINDOWS
                },
                ever=len(windows.ever | wanted),
            )
