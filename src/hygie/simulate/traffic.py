"""A day of ordinary work in the simulated group, as timed acts.

Weekdays: reception opens the day's list, books appointments over the phone (a search by
name and birth date, then the booking a week or two ahead), cancels a few, admits and
discharges in-patients; physicians open their agenda, then each patient's chart at the
appointment (a note now and then), and see their in-patients on a round; billing reads the
accounts of patients seen lately, much more in the last days of the month. Every night and
weekend an on-call physician sees their in-patients, and about once a week opens a record
by break-the-glass. Volumes follow a clinic's: a physician sees 10 to 16 patients a day."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from hygie.kit import clock
from hygie.kit.time import PARIS
from hygie.simulate.world import Booking, Person, Stay, World

NOTE = "Examen clinique sans particularité."


@dataclass(order=True)
class Act:
    at: datetime
    seq: int
    who: str = field(compare=False)
    run: Callable[[], object] = field(compare=False)


def at(day: date, hour: float) -> datetime:
    """``hour`` (decimal, Paris) of ``day``, in UTC; past 24 is the next day."""
    minutes = round(hour * 60)
    extra, minutes = divmod(minutes, 24 * 60)
    local = datetime.combine(day + timedelta(days=extra), time(minutes // 60, minutes % 60), PARIS)
    return local.astimezone(UTC)


class Timeline:
    """Every act to come, a heap by time, across days: an act may add acts (a chart at the
    time the agenda said, an attack's next request tomorrow). Ties keep the order they
    were planned in."""

    def __init__(self) -> None:
        self.acts: list[Act] = []
        self._seq = 0

    def at(self, when: datetime, who: str, run: Callable[[], object]) -> None:
        self._seq += 1
        heapq.heappush(self.acts, Act(when, self._seq, who, run))

    def pop(self, before: datetime | None = None) -> Act | None:
        """The next act (if it comes before ``before``)."""
        if not self.acts or (before is not None and self.acts[0].at >= before):
            return None
        return heapq.heappop(self.acts)


class Day:
    """One day's planning on the timeline."""

    def __init__(self, world: World, day: date, timeline: Timeline | None = None) -> None:
        self.world, self.day = world, day
        self.timeline = timeline or Timeline()

    def add(self, hour: float, who: Person, run: Callable[[], object]) -> None:
        self.at(at(self.day, hour), who.member.username, run)

    def at(self, when: datetime, who: str, run: Callable[[], object]) -> None:
        self.timeline.at(when, who, run)

    def pop(self, before: datetime | None = None) -> Act | None:
        return self.timeline.pop(before)


def plan_day(world: World, day: date, timeline: Timeline | None = None) -> Day:
    plan = Day(world, day, timeline)
    weekday = day.weekday() < 5
    for est in world.establishments:
        if weekday:
            _reception(world, plan, est)
            _consultations(world, plan, est)
            _billing(world, plan, est)
        _on_call(world, plan, est)
    return plan


def _reception(world: World, plan: Day, est: int) -> None:
    rng, secretaries = world.rng, world.staff("secretary", est)
    for sec in secretaries:
        plan.add(8.1 + rng.random() / 6, sec, partial(sec.client.agenda, None, plan.day))
        for _ in range(rng.randint(18, 26)):
            plan.add(8.5 + rng.random() * 8.5, sec, partial(_book_by_phone, world, sec, plan.day))
        if rng.random() < 0.6:
            plan.add(9 + rng.random() * 7, sec, partial(_cancel_one, world, sec, plan.day))
    if secretaries:
        for _ in range(rng.randint(1, 3)):
            sec = rng.choice(secretaries)
            plan.add(10 + rng.random() * 5, sec, partial(_admit, world, sec, plan.day))
        sec = rng.choice(secretaries)
        plan.add(11.0 + rng.random(), sec, partial(_discharge_due, world, sec, plan.day))


def _book_by_phone(world: World, sec: Person, day: date) -> None:
    """A patient calls: found by name and birth date, booked with a physician."""
    rng = world.rng
    patient = rng.choice(world.patients[sec.establishment])
    letters = max(3, min(len(patient.birth_name), rng.randint(4, 7)))
    found = sec.client.search(patient.birth_name[:letters], birth_date=patient.birth_date)
    physicians = [p.member.professional_id for p in world.staff("physician", sec.establishment)]
    if patient.id not in found or not physicians:
        return
    for _ in range(4):  # a free slot within two weeks, or give up
        practitioner = rng.choice(physicians)
        start = at(day + timedelta(days=rng.randint(1, 14)), 9 + rng.randrange(26) / 3)
        if (
            practitioner is None
            or (practitioner, start) in world.taken
            or start.astimezone(PARIS).weekday() >= 5
        ):
            continue
        booked = sec.client.book(patient.id, establishment=sec.establishment, practitioner=practitioner,
                                 start=start, minutes=20, reason="Consultation")  # fmt: skip
        world.taken.add((practitioner, start))
        if booked is not None:
            world.bookings.append(
                Booking(booked, patient.id, practitioner, sec.establishment, start)
            )
            return


def _cancel_one(world: World, sec: Person, day: date) -> None:
    ahead = [
        b for b in world.bookings if b.establishment == sec.establishment and b.start.date() > day
    ]
    if ahead:
        booking = world.rng.choice(ahead)
        if sec.client.cancel(booking.appointment, booking.patient):
            world.bookings.remove(booking)


def _admit(world: World, sec: Person, day: date) -> None:
    rng = world.rng
    physicians = [
        p for p in world.staff("physician", sec.establishment) if p.member.professional_id
    ]
    wards = world.departments.get(sec.establishment, (0, ()))[1]
    if not physicians or not wards:
        return
    patient = rng.choice(world.patients[sec.establishment])
    responsible = rng.choice(physicians).member.professional_id
    if responsible is None:
        return
    stay = sec.client.admit(patient.id, establishment=sec.establishment, department=rng.choice(wards),
                            responsible=responsible, at=at(day, 10))  # fmt: skip
    if stay is not None:
        world.stays.append(
            Stay(
                stay,
                patient.id,
                sec.establishment,
                responsible,
                day + timedelta(days=rng.randint(1, 5)),
            )
        )


def _discharge_due(world: World, sec: Person, day: date) -> None:
    for stay in [s for s in world.stays if s.establishment == sec.establishment and s.until <= day]:
        sec.client.discharge(stay.id, stay.patient, at(day, 11))
        world.stays.remove(stay)


def _consultations(world: World, plan: Day, est: int) -> None:
    rng = world.rng
    for doctor in world.staff("physician", est):
        prof = doctor.member.professional_id
        plan.add(7.9 + rng.random() / 5, doctor, partial(_see_agenda, world, doctor, prof, plan))
        plan.add(11.5 + rng.random(), doctor, partial(_round, world, doctor, prof, plan))


def _see_agenda(world: World, doctor: Person, prof: int | None, plan: Day) -> None:
    """The day's agenda, then each patient's chart at their time (acts added to the day)."""
    items = doctor.client.agenda(prof, plan.day)
    for patient, item in items:
        if item.get("status") not in ("booked", "arrived"):
            continue
        start = datetime.fromisoformat(item["start_at"])
        hour = start.astimezone(PARIS).hour + start.astimezone(PARIS).minute / 60
        plan.add(hour, doctor, partial(doctor.client.chart, patient))
        if world.rng.random() < 0.25:
            plan.add(
                hour + 0.25,
                doctor,
                partial(doctor.client.note, patient, doctor.establishment, NOTE),
            )


def _round(world: World, doctor: Person, prof: int | None, plan: Day) -> None:
    """The ward round: each in-patient seen in turn, a few minutes each."""
    when = clock.now()
    for stay in [s for s in world.stays if s.responsible == prof]:
        when += timedelta(minutes=world.rng.uniform(4, 8))
        plan.at(when, doctor.member.username, partial(doctor.client.chart, stay.patient))


def _billing(world: World, plan: Day, est: int) -> None:
    rng = world.rng
    month_end = (plan.day + timedelta(days=3)).month != plan.day.month
    for clerk in world.staff("billing_officer", est):
        count = rng.randint(40, 60) if month_end else rng.randint(5, 12)
        for _ in range(count):
            plan.add(9 + rng.random() * 8, clerk, partial(_bill_one, world, clerk, plan.day))


def _bill_one(world: World, clerk: Person, day: date) -> None:
    seen = [
        b for b in world.bookings if b.establishment == clerk.establishment and b.start.date() < day
    ]
    if seen:
        clerk.client.billing(world.rng.choice(seen).patient)


def _on_call(world: World, plan: Day, est: int) -> None:
    """The night's (and weekend day's) on-call physician of the establishment."""
    physicians = world.staff("physician", est)
    if not physicians:
        return
    doctor = physicians[plan.day.toordinal() % len(physicians)]
    hours = [22.5, 27.0] if plan.day.weekday() < 5 else [10.0, 22.5, 27.0]
    for hour in hours:
        plan.add(hour + world.rng.random() / 2, doctor, partial(_night_round, world, doctor, plan))
    if plan.day.toordinal() % 7 == est % 7:
        plan.add(23.0 + world.rng.random() * 3, doctor, partial(_glass, world, doctor))


def _night_round(world: World, doctor: Person, plan: Day) -> None:
    when = clock.now()
    for stay in [s for s in world.stays if s.establishment == doctor.establishment][:6]:
        if stay.responsible == doctor.member.professional_id:
            when += timedelta(minutes=world.rng.uniform(4, 8))
            plan.at(when, doctor.member.username, partial(doctor.client.chart, stay.patient))


def _glass(world: World, doctor: Person) -> None:
    """A nurse calls about another physician's in-patient: break-the-glass, then the chart."""
    others = [
        s
        for s in world.stays
        if s.establishment == doctor.establishment
        and s.responsible != doctor.member.professional_id
    ]
    if others:
        stay = world.rng.choice(others)
        if doctor.client.break_glass(
            stay.patient, "on_call", "Appel de l'infirmière de garde : douleur thoracique"
        ):
            doctor.client.chart(stay.patient)
