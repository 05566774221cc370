"""Stays in a real browser: a secretary admits a generated patient (a date in the future is
refused next to its field, with what was typed kept), finds them in the ward list,
transfers them to another unit, sees the move, and discharges them; a billing officer, who
may not work on stays, is refused clearly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hygie.models import DeathDeclaration, Department, Encounter, Patient, PatientState
from tests.web.conftest import Group

PARIS = ZoneInfo("Europe/Paris")
REFUSED = "status of 403"  # the billing officer's pages are answered 403, on purpose


def paris(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def units(group: Group) -> list[tuple[int, str]]:
    with group.db.sessions() as s:
        rows = s.execute(
            select(Department.id, Department.name)
            .where(Department.establishment_id == group.establishment)
            .order_by(Department.code)
        ).all()
    assert len(rows) >= 2, "the generated establishment needs two units"
    return [(r.id, r.name) for r in rows]


def patient_never_admitted(group: Group) -> tuple[int, str]:
    """A living, active generated patient with no stay at all (free to be admitted now)."""
    with group.db.sessions() as s:
        row = s.execute(
            select(Patient.id, Patient.used_name, Patient.birth_name)
            .where(
                Patient.state == PatientState.ACTIVE,
                ~Patient.id.in_(select(Encounter.patient_id)),
                ~Patient.id.in_(select(DeathDeclaration.patient_id)),
            )
            .order_by(Patient.id)
        ).first()
    assert row is not None
    return row.id, (row.used_name or row.birth_name).upper()


def test_admit_find_transfer_and_discharge(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    (first, first_name), (second, second_name) = units(group)[:2]
    patient, name = patient_never_admitted(group)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    v = visit(expect=("status of 422",))  # the refused admission is answered 422, on purpose
    page = v.page
    v.sign_in(group.login("secretary"))

    v.go(f"/stays/admit?patient={patient}")
    expect(page.locator("h1")).to_have_text("Admettre un patient")
    expect(page.get_by_test_id("stay-patient")).to_contain_text(name)
    expect(page.locator("#admit-form")).to_contain_text("Hospitalisation complète")
    page.select_option("#f-department_id", str(first))
    page.select_option("#f-responsible_id", index=1)
    page.fill("#f-at", paris(now + timedelta(days=2)))
    page.fill("#f-reason", "Surveillance post-opératoire")
    page.fill("#f-bed", "12A")
    v.shot("admit-form")

    # A moment in the future is refused next to its field; what was typed stays.
    page.click("#admit-submit")
    expect(page.locator("#f-at-error")).to_contain_text("dans le futur")
    expect(page.locator("#f-at")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-reason")).to_have_value("Surveillance post-opératoire")
    expect(page.locator("#f-bed")).to_have_value("12A")
    expect(page.locator("#f-department_id")).to_have_value(str(first))
    v.shot("admit-bad-date")

    # A date that is no date at all is refused by the page itself.
    page.fill("#f-at", "32/13/2024 25:00")
    page.click("#admit-submit")
    expect(page.locator("#f-at-error")).to_contain_text("JJ/MM/AAAA HH:MM")

    page.fill("#f-at", paris(now - timedelta(hours=2)))
    page.click("#admit-submit")
    expect(page.locator("#stays-done")).to_have_text("Admission enregistrée.")
    assert f"/stays?department={first}" in page.url
    row = page.locator(f"tr[data-patient='{patient}']")
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("12A")
    expect(row).to_contain_text("Hospitalisation complète")
    expect(row.get_by_test_id(f"patient-{patient}")).to_have_attribute(
        "href", f"/patients/{patient}"
    )
    v.shot("ward-after-admission")

    # Transfer (mutation) to the second unit.
    row.get_by_role("link", name="Muter").click()
    expect(page.locator("#current-unit")).to_contain_text(first_name)
    page.select_option("#f-department_id", str(second))
    page.fill("#f-at", paris(now - timedelta(hours=1)))
    v.shot("transfer-form")
    page.click("#transfer-submit")
    expect(page.locator("#stays-done")).to_have_text("Mutation enregistrée.")
    assert f"/stays?department={second}" in page.url
    moved = page.locator(f"tr[data-patient='{patient}']")
    expect(moved).to_contain_text(name)
    expect(page.locator("h1")).to_contain_text(second_name)
    v.shot("ward-after-transfer")
    v.go(f"/stays?department={first}")
    expect(page.locator(f"tr[data-patient='{patient}']")).to_have_count(0)

    # Discharge (sortie), confirmed in the browser's dialog.
    v.go(f"/stays?department={second}")
    page.locator(f"tr[data-patient='{patient}']").get_by_role("link", name="Sortie").click()
    expect(page.locator("#current-unit")).to_contain_text(second_name)
    page.fill("#f-at", paris(now - timedelta(minutes=10)))
    page.select_option("#f-destination", "home")
    v.shot("discharge-form")
    page.on("dialog", lambda d: d.accept())
    page.click("#discharge-submit")
    expect(page.locator("#stays-done")).to_have_text("Sortie enregistrée.")
    expect(page.locator(f"tr[data-patient='{patient}']")).to_have_count(0)
    v.shot("ward-after-discharge")

    with group.db.sessions() as s:
        stay = s.scalars(select(Encounter).where(Encounter.patient_id == patient)).one()
        assert (stay.status.value, stay.department_id, stay.discharge_destination) == (
            "finished", second, "home"
        )  # fmt: skip


def test_a_second_open_stay_is_refused_as_a_conflict(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    (first, _), _second = units(group)[:2]
    patient, _name = patient_never_admitted(group)
    now = datetime.now(UTC)
    v = visit(expect=("status of 409",))
    page = v.page
    v.sign_in(group.login("nurse"))
    for attempt in range(2):
        v.go(f"/stays/admit?patient={patient}")
        page.select_option("#f-department_id", str(first))
        page.select_option("#f-responsible_id", index=1)
        page.fill("#f-at", paris(now - timedelta(hours=3 - attempt)))
        page.fill("#f-reason", "Bilan")
        page.click("#admit-submit")
    expect(page.locator("#form-error")).to_contain_text("déjà un séjour en cours")
    expect(page.locator("#f-reason")).to_have_value("Bilan")
    v.shot("admit-conflict")


def test_a_billing_officer_may_not_admit(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    patient, _name = patient_never_admitted(group)
    (first, _), _second = units(group)[:2]
    v = visit(expect=(REFUSED,))
    page = v.page
    v.sign_in(group.login("billing_officer"))

    answer = v.go(f"/stays/admit?patient={patient}")
    assert answer.status == 403
    expect(page.locator("#page-error")).to_contain_text("ne vous permettent pas")
    expect(page.locator("#admit-form")).to_have_count(0)
    v.shot("admit-refused")

    v.go("/stays")
    expect(page.locator("#no-units")).to_be_visible()
    answer = v.go(f"/stays?department={first}")
    assert answer.status == 403
    expect(page.locator("#page-error")).to_contain_text("ne vous permettent pas")
