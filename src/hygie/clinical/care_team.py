"""A patient's care team: the professionals with a care relationship to them.

It is derived (attending physician, recent or upcoming appointments, current or recent
stays) plus explicit members. The access gate uses it to decide who may open a chart
without break-the-glass, so the windows below are policy: short enough that a past
contact does not open a record forever."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hygie.errors import ConfigurationError
from hygie.storage import care as store


@dataclass(frozen=True)
class CareWindows:
    """How long a contact counts as a care relationship. Set per installation with
    HYGIE_CARE_DAYS_BEFORE (appointments in the past, default 180), HYGIE_CARE_DAYS_AHEAD
    (upcoming appointments, default 90) and HYGIE_CARE_DAYS_AFTER_DISCHARGE (default 30)."""

    appointment_past: timedelta = timedelta(days=180)
    appointment_ahead: timedelta = timedelta(days=90)
    stay_after_discharge: timedelta = timedelta(days=30)

    @classmethod
    def from_env(cls) -> CareWindows:
        def days(name: str, default: timedelta) -> timedelta:
            raw = os.environ.get(name)
            if raw is None or raw == "":
                return default
            if not raw.isascii() or not raw.isdigit() or not 0 <= int(raw) <= 3650:
                raise ConfigurationError(f"{name} must be a number of days from 0 to 3650")
            return timedelta(days=int(raw))

        base = cls()
        return cls(
            appointment_past=days("HYGIE_CARE_DAYS_BEFORE", base.appointment_past),
            appointment_ahead=days("HYGIE_CARE_DAYS_AHEAD", base.appointment_ahead),
            stay_after_discharge=days("HYGIE_CARE_DAYS_AFTER_DISCHARGE", base.stay_after_discharge),
        )


@functools.cache
def configured_windows() -> CareWindows:
    """The installation's windows, read from the environment once per process."""
    return CareWindows.from_env()


DEFAULT_WINDOWS = CareWindows()
APPOINTMENT_PAST = DEFAULT_WINDOWS.appointment_past
APPOINTMENT_AHEAD = DEFAULT_WINDOWS.appointment_ahead
STAY_AFTER_DISCHARGE = DEFAULT_WINDOWS.stay_after_discharge


@dataclass(frozen=True)
class CareTeamEntry:
    professional_id: int
    establishment_id: int | None  # None: the attending physician, outside the group
    source: str  # attending | appointment | stay | explicit
    role: str


def care_team(
    session: Session, *, patient_id: int, at: datetime, windows: CareWindows | None = None
) -> list[CareTeamEntry]:
    w = windows or configured_windows()
    entries: dict[tuple[int, int | None, str], CareTeamEntry] = {}

    def put(entry: CareTeamEntry) -> None:
        entries.setdefault((entry.professional_id, entry.establishment_id, entry.source), entry)

    attending = store.attending_physician_id(session, patient_id)
    if attending is not None:
        put(CareTeamEntry(attending, None, "attending", "attending_physician"))
    for prof, est, _ in store.appointment_practitioners(
        session, patient_id, start=at - w.appointment_past, end=at + w.appointment_ahead
    ):
        put(CareTeamEntry(prof, est, "appointment", "consultant"))
    for prof, est, _ in store.stay_responsibles(
        session, patient_id, started_before=at, ended_after=at - w.stay_after_discharge
    ):
        put(CareTeamEntry(prof, est, "stay", "referent"))
    for member in store.explicit_team(session, patient_id, at.date()):
        put(
            CareTeamEntry(
                member.professional_id, member.establishment_id, "explicit", member.role.value
            )
        )
    return sorted(entries.values(), key=lambda e: (e.professional_id, e.source))


def in_care_team(session: Session, *, patient_id: int, professional_id: int, at: datetime) -> bool:
    return any(
        e.professional_id == professional_id
        for e in care_team(session, patient_id=patient_id, at=at)
    )
