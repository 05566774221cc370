"""What ``hygie simulate`` needs of the gate besides ordinary accesses: an operator's view of
the generated group (who works where, which patients there are, as a patient calling the
clinic would tell), the actors of its staff, the norms learned from a trail, and how much
of the activity a care relationship explains. The roster is an operator's access like any
other: recorded, naming every patient it lists."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from hygie.access import audit
from hygie.access.actor import Actor, load_actor
from hygie.access.detection import CARE_BASES
from hygie.access.maintenance import operator
from hygie.access.scope import EVERY_ESTABLISHMENT, gate_transaction
from hygie.clinical.care_team import care_team
from hygie.db import Database
from hygie.errors import NotFoundError
from hygie.kit import clock
from hygie.models import (
    AuditEvent,
    Department,
    Establishment,
    Habilitation,
    HoneyRecord,
    Patient,
    PatientRegistration,
    SecurityAlert,
    User,
)


@dataclass(frozen=True)
class RosterPatient:
    id: int
    establishment_id: int
    birth_name: str
    first_name: str
    birth_date: date


@dataclass(frozen=True)
class StaffMember:
    username: str
    user_id: int
    professional_id: int | None
    establishment_id: int
    role: str


@dataclass(frozen=True)
class Organisation:
    staff: list[StaffMember]
    # establishment -> (consultation department, ward departments)
    departments: dict[int, tuple[int, tuple[int, ...]]]


def roster(db: Database) -> list[RosterPatient]:
    """Every real patient (no decoy) with a file, once per establishment filed in."""
    with gate_transaction(db, EVERY_ESTABLISHMENT) as session:
        decoys = select(HoneyRecord.patient_id)
        rows = session.execute(
            select(
                Patient.id, PatientRegistration.establishment_id, Patient.birth_name,
                Patient.first_name, Patient.birth_date,
            )
            .join(PatientRegistration, PatientRegistration.patient_id == Patient.id)
            .where(Patient.id.not_in(decoys), Patient.state == "active")
            .order_by(Patient.id)
        ).all()  # fmt: skip
        found = [RosterPatient(*row) for row in rows]
        audit.record(
            session,
            audit.Entry(
                action="simulation.roster", outcome="allowed", how="cli", purpose="simulation",
                level="summary", patient_ids=sorted({p.id for p in found}),
                record_count=len(found), details={"operator": operator()},
            ),
        )  # fmt: skip
    return found


def organisation(db: Database) -> Organisation:
    """The group's staff (one line per habilitation) and departments."""
    with gate_transaction(db, frozenset()) as session:
        rows = session.execute(
            select(User.username, User.id, User.professional_id, Habilitation.establishment_id,
                   Habilitation.role)
            .join(Habilitation, Habilitation.user_id == User.id)
            .where(User.active)
            .order_by(User.id, Habilitation.establishment_id)
        ).all()  # fmt: skip
        departments: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for dept in session.scalars(select(Department).order_by(Department.id)):
            departments[dept.establishment_id].append((dept.id, dept.beds or 0))
    staff = [
        StaffMember(u, i, p, e, r.value if hasattr(r, "value") else str(r))
        for u, i, p, e, r in rows
    ]
    shaped = {
        est: (depts[0][0], tuple(d for d, beds in depts if beds > 0) or (depts[0][0],))
        for est, depts in departments.items()
    }
    return Organisation(staff=staff, departments=shaped)


def finess_of(db: Database, establishment_id: int) -> str:
    with gate_transaction(db, frozenset()) as session:
        found = session.get(Establishment, establishment_id)
        if found is None:
            raise NotFoundError(f"no establishment #{establishment_id}", field="establishment")
        return found.finess


def actor_of(
    db: Database,
    username: str,
    *,
    how: str = "web",
    session_id: int | None = None,
    token_id: int | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> Actor:
    """The actor of one account as a signed-in request would build it."""
    with gate_transaction(db, frozenset()) as session:
        return load_actor(
            session, username=username, how=how, session_id=session_id, token_id=token_id,
            token_scope="read" if token_id is not None else None, ip=ip, user_agent=user_agent,
            now=clock.now(),
        )  # fmt: skip


@dataclass(frozen=True)
class Explained:
    """How many of the record-level accesses of some accounts a care relationship explains:
    the professional's own (attending, appointment, stay, care team, dispensing), or the
    patient's care in the establishment the access went through (an appointment or a stay
    there within the care windows: reception and billing work)."""

    explained: int
    total: int

    @property
    def share(self) -> float:
        return self.explained / self.total if self.total else 1.0


def explained_share(db: Database, *, user_ids: Iterable[int], since: datetime) -> Explained:
    wanted = sorted(set(user_ids))
    professionals: dict[int, int | None] = {}
    explained = total = 0
    with gate_transaction(db, EVERY_ESTABLISHMENT) as session:
        for uid, prof in session.execute(
            select(User.id, User.professional_id).where(User.id.in_(wanted))
        ):
            professionals[uid] = prof
        events: Sequence[Any] = session.execute(
            select(AuditEvent.user_id, AuditEvent.at, AuditEvent.establishment_id,
                   AuditEvent.patient_ids, AuditEvent.purpose)
            .where(AuditEvent.user_id.in_(wanted), AuditEvent.outcome == "allowed",
                   AuditEvent.level == "record", AuditEvent.at >= since)
            .order_by(AuditEvent.id)
        ).all()  # fmt: skip
        for uid, at, est, patients, purpose in events:
            for patient in patients:
                total += 1
                if purpose in CARE_BASES or _cared_for(
                    session, patient, at, est, professionals[uid]
                ):
                    explained += 1
        audit.record(
            session,
            audit.Entry(
                action="simulation.explained", outcome="allowed", how="cli",
                purpose="simulation", categories=["audit"], record_count=len(events),
                details={"operator": operator(), "accounts": len(wanted)},
            ),
        )  # fmt: skip
    return Explained(explained, total)


@dataclass(frozen=True)
class AlertSeen:
    at: datetime
    user_id: int | None
    username: str | None
    rule: str
    response: str
    ip: str | None


def alerts_since(db: Database, *, since: datetime) -> list[AlertSeen]:
    """The alerts raised since ``since``, oldest first, with the address of the access that
    raised each (its evidence)."""
    with gate_transaction(db, frozenset()) as session:
        rows = session.scalars(
            select(SecurityAlert).where(SecurityAlert.at >= since).order_by(SecurityAlert.id)
        ).all()
        return [
            AlertSeen(a.at, a.user_id, a.username, a.rule, a.response,
                      (a.evidence.get("access") or {}).get("ip"))
            for a in rows
        ]  # fmt: skip


def _cared_for(session: Any, patient: int, at: datetime, est: int | None, prof: int | None) -> bool:
    for entry in care_team(session, patient_id=patient, at=at):
        if prof is not None and entry.professional_id == prof:
            return True
        if (
            est is not None
            and entry.establishment_id == est
            and entry.source in ("appointment", "stay")
        ):
            return True
    return False


def learn_norms(
    db: Database, *, since: datetime, until: datetime, officer: str | None = None
) -> dict[tuple[str, str], float]:
    """Norms per role from the trail of ``since`` to ``until``: for each signal, the
    highest count an account of the role reached (distinct patients per window by level),
    with a margin, never below a floor. Written to ``detection_norms`` (source learned);
    returned as ``(role, signal) -> threshold``."""
    from hygie.access import norms

    return norms.learn(db, since=since, until=until, updated_by=officer or operator())
