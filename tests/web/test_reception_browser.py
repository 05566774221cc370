"""Reception in a real browser: a secretary searching, creating a patient and booking an
appointment — a search shows identity summaries only, a bad birth date keeps what was
typed, an existing birth name and date raise the duplicate warning, the booking shows on
the practitioner's day, the same slot booked again is a conflict next to the time field
with the values kept, and the arrival is marked on reception's day list."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from hygie.kit.time import PARIS
from hygie.models import (
    Appointment,
    DeathDeclaration,
    Patient,
    PatientRegistration,
    PatientState,
)
from tests.web.conftest import Group

EXPECTED = ("status of 409", "status of 422")  # the refused forms are answered so on purpose
SLOT = timedelta(minutes=20)


def a_patient(group: Group) -> Patient:
    with group.db.sessions() as s:
        found = s.scalars(
            select(Patient).join(PatientRegistration)
            .where(PatientRegistration.establishment_id == group.establishment)
            .where(PatientRegistration.active.is_(True), Patient.state == PatientState.ACTIVE)
            .where(Patient.id.not_in(select(DeathDeclaration.patient_id)))
            .order_by(Patient.id)
        ).first()  # fmt: skip
        assert found is not None
        return found


def free_slot(group: Group, practitioner: int, days: int = 0) -> datetime:
    """A Paris time when the practitioner has nothing: soon today (tomorrow late at night),
    or from 9:00 ``days`` days ahead."""
    now = datetime.now(PARIS)
    start = (now + timedelta(minutes=30)).replace(second=0, microsecond=0)
    start = start.replace(minute=start.minute - start.minute % 5)
    if days or start.date() != now.date() or start.time() > time(23, 30):
        start = datetime.combine(now.date() + timedelta(days=days or 1), time(9), tzinfo=PARIS)
    with group.db.sessions() as s:
        taken = [
            (a.start_at, a.start_at + timedelta(minutes=a.duration_min))
            for a in s.scalars(select(Appointment).where(Appointment.practitioner_id == practitioner))
        ]  # fmt: skip
    while any(b < (start + SLOT).astimezone(UTC) and start.astimezone(UTC) < e for b, e in taken):
        start += timedelta(minutes=5)
    return start


def test_a_secretary_searches_creates_a_patient_and_books(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    known = a_patient(group)
    v = visit(expect=EXPECTED)
    page = v.page
    v.sign_in(group.login("secretary"), next_path="/patients")

    # A search by name: identity summaries only, with the identity status in words.
    page.fill("#f-name", known.birth_name)
    page.click("#search-submit")
    row = page.locator(f"#results tr[data-patient='{known.id}']")
    expect(row).to_contain_text(known.first_name)
    expect(row.locator("[data-testid=identity-status]")).to_contain_text("Identité")
    expect(row.locator(".book-link")).to_be_visible()
    body = page.inner_text("main")
    for clinical in ("Allergie", "Ordonnance", "Motif"):
        assert clinical not in body
    v.shot("search-results")

    # Too short: the message next to the field (HTMX), and the same without JS. (A fresh
    # page first: Playwright's screenshot leaves style attributes that HTMX's settling
    # would copy, which the strict CSP refuses.)
    v.go("/patients")
    page.fill("#f-name", "a")
    page.click("#search-submit")
    expect(page.locator("#f-name-error")).to_contain_text("deux lettres")
    v.shot("search-too-short")
    answer = v.go("/patients?name=a")
    assert answer.status == 422
    expect(page.locator("#f-name-error")).to_be_visible()

    # A new patient: a bad birth date keeps what was typed.
    v.go("/patients/new")
    page.fill("#f-birth_name", known.birth_name)
    page.fill("#f-birth_first_names", "Zoé Marie")
    page.select_option("#f-sex", "female")
    page.fill("#f-birth_date", "31/02/1990")
    page.click("#create-patient")
    expect(page.locator("#f-birth_date-error")).to_contain_text("JJ/MM/AAAA")
    expect(page.locator("#f-birth_date")).to_have_value("31/02/1990")
    expect(page.locator("#f-birth_name")).to_have_value(known.birth_name)
    v.shot("new-patient-bad-date")

    # The same birth name and birth date as a known patient: the duplicate warning.
    page.fill("#f-birth_date", known.birth_date.strftime("%d/%m/%Y"))
    page.click("#create-patient")
    warning = page.locator("#duplicate-warning")
    expect(warning).to_contain_text(known.birth_name)
    expect(warning.locator(f"tr[data-patient='{known.id}']")).to_be_visible()
    expect(page.locator("#f-confirm_other")).not_to_be_checked()
    v.shot("duplicate-warning")

    # Someone else indeed: a new birth name, created, on to their chart.
    page.fill("#f-birth_name", "Vauquelin-Testard")
    page.click("#create-patient")
    page.wait_for_url(re.compile(r"/patients/\d+$"))
    created = int(page.url.rsplit("/", 1)[1])

    # Booking them with a practitioner: shown on the practitioner's day.
    v.go(f"/agenda/book?patient={created}")
    expect(page.locator("#booking-patient")).to_contain_text("Vauquelin-Testard")
    page.select_option("#f-practitioner_id", index=1)
    practitioner = int(page.input_value("#f-practitioner_id"))
    slot = free_slot(group, practitioner)
    page.fill("#f-day", slot.date().isoformat())
    page.fill("#f-time", slot.strftime("%H:%M"))
    page.fill("#f-reason", "Consultation de suivi")
    v.shot("booking-form")
    page.click("#book-submit")
    page.wait_for_url(re.compile(r"/agenda\?practitioner="))
    expect(page.locator("#agenda-done")).to_contain_text("Rendez-vous enregistré")
    line = page.locator("#agenda tr", has_text="Vauquelin-Testard")
    expect(line).to_contain_text(slot.strftime("%H:%M"))
    expect(line).to_contain_text("Prévu")
    v.shot("practitioner-day")

    # The same slot again, for another patient: the conflict next to the time, values kept.
    v.go(f"/agenda/book?patient={known.id}")
    page.select_option("#f-practitioner_id", str(practitioner))
    page.fill("#f-day", slot.date().isoformat())
    page.fill("#f-time", slot.strftime("%H:%M"))
    page.fill("#f-reason", "Renouvellement")
    page.click("#book-submit")
    expect(page.locator("#f-time-error")).to_contain_text("déjà un rendez-vous")
    expect(page.locator("#f-time")).to_have_value(slot.strftime("%H:%M"))
    expect(page.locator("#f-reason")).to_have_value("Renouvellement")
    expect(page.locator("#f-practitioner_id")).to_have_value(str(practitioner))
    v.shot("booking-conflict")

    # Reception: the patient arrives (the row alone is updated).
    with group.db.sessions() as s:
        booked = s.scalars(select(Appointment.id).where(Appointment.patient_id == created)).one()
    v.go(f"/reception?day={slot.date().isoformat()}")
    arrival = page.locator(f"#arrival-{booked}")
    expect(arrival).to_contain_text("Vauquelin-Testard")
    expect(arrival.locator("[data-testid=status]")).to_have_text("Prévu")
    assert "Consultation de suivi" not in page.inner_text("main")  # no reason at reception
    v.shot("reception-day")
    if slot.date() == datetime.now(PARIS).date():  # one arrives on the day only
        arrival.locator("button.arrived-button").click()
        expect(page.locator(f"#arrival-{booked} [data-testid=status]")).to_have_text("Arrivé")
        expect(page.locator(f"#arrival-{booked} button")).to_have_count(0)
        v.shot("arrival")


def test_moving_and_cancelling_an_appointment(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    known = a_patient(group)
    v = visit(expect=EXPECTED)
    page = v.page
    v.sign_in(group.login("secretary"))
    v.go(f"/agenda/book?patient={known.id}")
    page.select_option("#f-practitioner_id", index=1)
    practitioner = int(page.input_value("#f-practitioner_id"))
    slot = free_slot(group, practitioner, days=2)
    page.fill("#f-day", slot.date().isoformat())
    page.fill("#f-time", slot.strftime("%H:%M"))
    page.fill("#f-reason", "Bilan")
    page.click("#book-submit")
    page.wait_for_url(re.compile(r"/agenda\?practitioner="))
    with group.db.sessions() as s:
        booked = s.scalars(
            select(Appointment.id).where(Appointment.patient_id == known.id)
            .order_by(Appointment.id.desc())
        ).first()  # fmt: skip

    # Moved to a bad time: refused next to the field with what was typed.
    page.click(f"#appointment-{booked} >> text=Déplacer")
    page.fill("#f-new_time", "")
    page.click("#move-submit")
    expect(page.locator("#f-new_time-error")).to_be_visible()
    later = free_slot(group, practitioner, days=3)
    page.fill("#f-new_day", later.date().isoformat())
    page.fill("#f-new_time", later.strftime("%H:%M"))
    page.click("#move-submit")
    expect(page.locator("#agenda-done")).to_contain_text("déplacé")
    expect(page.locator(f"#appointment-{booked}")).to_contain_text(later.strftime("%H:%M"))
    v.shot("moved")

    # Cancelled: a reason is required.
    page.click(f"#appointment-{booked} >> text=Annuler")
    page.on("dialog", lambda d: d.accept())
    page.click("#cancel-submit")
    expect(page.locator("#f-reason-error")).to_be_visible()
    page.fill("#f-reason", "Demande du patient")
    page.click("#cancel-submit")
    expect(page.locator("#agenda-done")).to_contain_text("annulé")
    expect(page.locator(f"#appointment-{booked} .appointment-status")).to_have_text("Annulé")
    v.shot("cancelled")


def test_a_physician_opens_their_own_day_and_a_nurse_may_not_book(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    physician = group.login("physician")
    v = visit(expect=("status of 403",))
    v.sign_in(physician, next_path="/agenda")
    expect(v.page.locator("h1")).to_contain_text("Agenda — Dr")  # their own, unasked
    expect(v.page.locator("#agenda")).to_be_visible()
    v.page.select_option("#f-view", "week")
    v.page.click("#agenda-show")
    expect(v.page.locator("#agenda h2")).to_have_count(7)
    v.shot("physician-week")

    nurse = visit(expect=("status of 403",))
    nurse.sign_in(group.login("nurse"))
    answer = nurse.go(f"/agenda/book?patient={a_patient(group).id}")
    assert answer.status == 403
    expect(nurse.page.locator("#page-error")).to_contain_text("Vos rôles")
    nurse.go("/patients?name=" + a_patient(group).birth_name[:3])
    expect(nurse.page.locator("#results")).to_be_visible()
    expect(nurse.page.locator("#results .book-link")).to_have_count(0)
    expect(nurse.page.locator("#f-nir")).to_have_count(0)  # nurses do not search by NIR
