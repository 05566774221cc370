"""One simulated person at a workstation: their actor, and the gate's functions they use,
each answered as the interfaces answer it (data, or a refusal), with what they received.

The calls are the real gate's (``hygie.access``), the same the API and FHIR routes make.
A refusal by containment is remembered: asked to step up, a member of staff confirms with
their phone and carries on (``confirms``); an attacker cannot."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from hygie.access import billing, containment, exports, gateway, lists, records, writes
from hygie.access.actor import Actor
from hygie.access.containment import Contained
from hygie.access.detection import Response
from hygie.access.gateway import AccessDenied
from hygie.db import Database
from hygie.errors import HygieError
from hygie.kit import clock

T = TypeVar("T")


@dataclass
class Haul:
    """What one person received, and how they were stopped."""

    summaries: set[int] = field(default_factory=set)
    records: set[int] = field(default_factory=set)
    refusals: dict[str, int] = field(default_factory=dict)
    contained_at: datetime | None = None
    requests: int = 0


class Workstation(Protocol):
    """What an attack script uses of a client: the gate's in the simulation, the HTTP
    interfaces' in the end-to-end tests."""

    haul: Haul

    @property
    def stopped(self) -> bool: ...
    def search(
        self, name: str, *, birth_date: date | None = None, limit: int = 20
    ) -> list[int]: ...
    def find(self, family: str, *, offset: int = 0, count: int = 100) -> tuple[list[int], int]: ...
    def chart(self, patient: int) -> bool: ...
    def break_glass(self, patient: int, code: str, text: str) -> bool: ...
    def cancel(self, appointment: int, patient: int) -> bool: ...
    def export(self, spec: exports.ExportSpec) -> list[int]: ...


def exported_ids(content: bytes) -> list[int]:
    """The patients of an export's CSV file."""
    return [int(row["patient_id"]) for row in csv.DictReader(io.StringIO(content.decode()))]


@dataclass
class Client:
    db: Database
    actor: Actor
    confirms: bool = True  # whether they can answer a step-up (a legitimate user can)
    haul: Haul = field(default_factory=Haul)

    @property
    def stopped(self) -> bool:
        return self.haul.contained_at is not None

    def _call(self, fn: Callable[[], T]) -> T | None:
        """``fn()``, or None if it was refused (containment, the gate, the service)."""
        if self.stopped:
            return None
        self.haul.requests += 1
        for _ in range(2):
            try:
                return fn()
            except Contained as refused:
                self._refused(refused.response.label)
                if refused.response == Response.CONTAIN:
                    self.haul.contained_at = clock.now()
                    return None
                if refused.response == Response.STEP_UP and self.confirms:
                    containment.guard_for(self.db.engine).stepped_up(
                        self.actor.user_id, clock.now()
                    )
                    continue
                return None
            except AccessDenied:
                self._refused("denied")
                return None
            except HygieError as error:  # not found, conflict, bad input: nothing received
                self._refused(type(error).__name__)
                return None
        return None

    def _refused(self, why: str) -> None:
        self.haul.refusals[why] = self.haul.refusals.get(why, 0) + 1

    # --- reads ---------------------------------------------------------------------------
    def search(self, name: str, *, birth_date: date | None = None, limit: int = 20) -> list[int]:
        found = self._call(lambda: gateway.search_patients(
            self.db, self.actor, name=name, birth_date=birth_date, limit=limit))  # fmt: skip
        ids = [p.id for p in found or []]
        self.haul.summaries |= set(ids)
        return ids

    def find(self, family: str, *, offset: int = 0, count: int = 100) -> tuple[list[int], int]:
        """A FHIR-style search page (``records.find_patients``): ids and the total."""
        page = self._call(lambda: records.find_patients(
            self.db, self.actor, records.PatientQuery(family=family), offset=offset, count=count))  # fmt: skip
        if page is None:
            return [], 0
        ids = [p.id for p in page.patients]
        self.haul.summaries |= set(ids)
        return ids, page.total

    def chart(self, patient: int) -> bool:
        done = self._call(lambda: gateway.read_chart(self.db, self.actor, patient))
        if done is not None:
            self.haul.records.add(patient)
        return done is not None

    def agenda(self, practitioner: int | None, day: date) -> list[tuple[int, dict[str, Any]]]:
        filters = lists.Filters(
            practitioner_id=practitioner, start=day, end=day + timedelta(days=1)
        )
        page = self._call(lambda: lists.appointments(self.db, self.actor, filters, count=100))
        items = page.items if page is not None else []
        self.haul.summaries |= {pid for pid, _ in items}
        return items

    def ward(self, day: date) -> list[tuple[int, dict[str, Any]]]:
        filters = lists.Filters(start=day, end=day + timedelta(days=1), statuses=("in_progress",))
        page = self._call(lambda: lists.stays(self.db, self.actor, filters, count=100))
        items = page.items if page is not None else []
        self.haul.summaries |= {pid for pid, _ in items}
        return items

    def billing(self, patient: int) -> bool:
        done = self._call(lambda: billing.read_billing(self.db, self.actor, patient))
        if done is not None:
            self.haul.records.add(patient)
        return done is not None

    def export(self, spec: exports.ExportSpec) -> list[int]:
        """Ask for an export and download it if it needs no approval: the patients
        received (none while a bulk one awaits a second person's approval)."""
        line = self._call(lambda: exports.request_export(self.db, self.actor, spec))
        if line is None or line.status != "ready":
            return []
        made = self._call(lambda: exports.download_export(self.db, self.actor, line.id))
        ids = exported_ids(made.content) if made is not None else []
        self.haul.records |= set(ids)
        return ids

    def break_glass(self, patient: int, code: str, text: str) -> bool:
        return self._call(lambda: gateway.break_glass(
            self.db, self.actor, patient_id=patient, reason_code=code, reason_text=text)) is not None  # fmt: skip

    # --- writes --------------------------------------------------------------------------
    def book(self, patient: int, *, establishment: int, practitioner: int, start: datetime,
             minutes: int, reason: str) -> int | None:  # fmt: skip
        booked = self._call(lambda: writes.book_appointment(
            self.db, self.actor, patient_id=patient, establishment_id=establishment,
            practitioner_id=practitioner, start_at=start, duration_min=minutes, reason=reason))  # fmt: skip
        if booked is not None:
            self.haul.records.add(patient)
        return booked

    def cancel(self, appointment: int, patient: int) -> bool:
        def cancel() -> bool:
            writes.cancel_appointment(
                self.db, self.actor, appointment_id=appointment, reason="à la demande du patient"
            )
            return True

        done = self._call(cancel)
        if done:
            self.haul.records.add(patient)
        return bool(done)

    def admit(self, patient: int, *, establishment: int, department: int, responsible: int,
              at: datetime) -> int | None:  # fmt: skip
        stay = self._call(lambda: writes.admit(
            self.db, self.actor, patient_id=patient, establishment_id=establishment,
            department_id=department, responsible_id=responsible, at=at, reason="Hospitalisation"))  # fmt: skip
        if stay is not None:
            self.haul.records.add(patient)
        return stay

    def discharge(self, stay: int, patient: int, at: datetime) -> bool:
        def discharge() -> bool:
            writes.discharge(self.db, self.actor, encounter_id=stay, at=at)
            return True

        done = self._call(discharge)
        if done:
            self.haul.records.add(patient)
        return bool(done)

    def note(self, patient: int, establishment: int, text: str) -> bool:
        done = self._call(lambda: writes.write_note(
            self.db, self.actor, patient_id=patient, establishment_id=establishment,
            kind="consultation", text=text))  # fmt: skip
        return done is not None
