"""A patient's care team: the professionals with a care relationship to them.

It is derived (attending physician, recent or upcoming appointments, current or recent
stays) plus explicit members. The access gate uses it to decide who may open a chart
without break-the-glass, so the windows below are policy: short enough that a past
contact does not open a record forever."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hygie.storage import care as store

APPOINTMENT_PAST = timedelta(days=180)
APPOINTMENT_AHEAD = timedelta(days=90)
STAY_AFTER_DISCHARGE = timedelta(days=30)


@dataclass(frozen=True)
class CareTeamEntry:
    professional_id: int
    establishment_id: int | None  # None: the attending physician, outside the group
    source: str  # attending | appointment | stay | explicit
    role: str


def care_team(session: Session, *, patient_id: int, at: datetime) -> list[CareTeamEntry]:
    entries: dict[tuple[int, int | None, str], CareTeamEntry] = {}

    def put(entry: CareTeamEntry) -> None:
        entries.setdefault((entry.professional_id, entry.establishment_id, entry.source), entry)

    attending = store.attending_physician_id(session, patient_id)
    if attending is not None:
        put(CareTeamEntry(attending, None, "attending", "attending_physician"))
    for prof, est, _ in store.appointment_practitioners(
        session, patient_id, start=at - APPOINTMENT_PAST, end=at + APPOINTMENT_AHEAD
    ):
        put(CareTeamEntry(prof, est, "appointment", "consultant"))
    for prof, est, _ in store.stay_responsibles(
        session, patient_id, started_before=at, ended_after=at - STAY_AFTER_DISCHARGE
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
