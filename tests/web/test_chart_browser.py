"""The patient chart in a real browser: a physician reading the chart of a patient in her
care (allergies first, the clinical blocks, the next steps), a physician without a care
relationship using break-the-glass (the explanation, a refused empty reason, then the
banner with the time left and the clinical blocks), a secretary seeing no clinical block,
and an unknown patient answered 404."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from hygie.clinical.care_team import care_team
from hygie.models import Allergy, BreakGlass, Patient, User
from tests.web.conftest import Group

UNPROCESSABLE = "status of 422"  # the refused reason is answered 422, on purpose
NOT_FOUND = "status of 404"


def _physicians(group: Group) -> list[tuple[int, str, int]]:
    """(index in the generated plan, username, professional id) of the physicians."""
    names = group.usernames["physician"]
    with group.db.sessions() as s:
        rows = s.execute(
            select(User.username, User.professional_id).where(User.username.in_(names))
        )
        ids = {u: p for u, p in rows if p is not None}
    return [(n, u, ids[u]) for n, u in enumerate(names) if u in ids]


def in_care(group: Group) -> tuple[int, int]:
    """(physician index, patient id): a patient with allergies in a physician's care."""
    physicians = {prof: n for n, _, prof in _physicians(group)}
    now = datetime.now(UTC)
    with group.db.sessions() as s:
        allergic = set(s.scalars(select(Allergy.patient_id)))
        for pid in sorted(s.scalars(select(Patient.id)), key=lambda p: p not in allergic):
            for entry in care_team(s, patient_id=pid, at=now):
                if entry.professional_id in physicians:
                    return physicians[entry.professional_id], pid
    raise AssertionError("no generated patient is in a physician's care")


def outside_care(group: Group) -> tuple[int, int]:
    """(physician index, patient id): a patient without care relationship to her."""
    n, _, prof = _physicians(group)[0]
    now = datetime.now(UTC)
    with group.db.sessions() as s:
        for pid in s.scalars(select(Patient.id).order_by(Patient.id)):
            if all(e.professional_id != prof for e in care_team(s, patient_id=pid, at=now)):
                return n, pid
    raise AssertionError("every patient is in that physician's care")


def test_a_physician_reading_a_chart(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    n, patient = in_care(group)
    v = visit()
    v.sign_in(group.login("physician", n), next_path=f"/patients/{patient}")
    page = v.page
    assert page.url.endswith(f"/patients/{patient}")
    expect(page.locator("#identity-status")).to_contain_text("Identité")
    expect(page.locator("#allergies h2")).to_have_text("Allergies")
    expect(page.locator("#allergies .allergy").first).to_contain_text("sévérité")
    # Allergies come right after the identity, before every other block.
    order = page.eval_on_selector_all("#chart > section", "sections => sections.map(s => s.id)")
    assert order[:2] == ["identity", "allergies"]
    for block in ("conditions", "notes", "prescriptions", "appointments", "stays", "contact"):
        expect(page.locator(f"#{block}")).to_be_visible()
    assert order.index("conditions") < order.index("stays")
    expect(page.locator("#break-glass")).to_have_count(0)
    expect(page.locator("#glass-banner")).to_have_count(0)
    expect(page.locator("#new-prescriptions")).to_have_attribute(
        "href", f"/patients/{patient}/prescriptions/new"
    )
    expect(page.locator("#book")).to_have_attribute("href", f"/agenda/book?patient={patient}")
    expect(page.locator("#admit")).to_have_attribute("href", f"/stays/admit?patient={patient}")
    expect(page.locator("#nir")).to_contain_text("*")  # a physician sees the NIR masked
    v.shot("physician-chart")


def test_a_physician_without_relationship_using_break_the_glass(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    n, patient = outside_care(group)
    v = visit(expect=(UNPROCESSABLE,))
    v.sign_in(group.login("physician", n), next_path=f"/patients/{patient}")
    page = v.page
    expect(page.locator("#identity")).to_be_visible()
    expect(page.locator("#no-relationship")).to_contain_text(
        "Vous n'avez pas de relation de soins avec ce patient"
    )
    expect(page.locator("#allergies")).to_have_count(0)
    expect(page.locator("#notes")).to_have_count(0)
    expect(page.locator("#new-notes")).to_have_count(0)
    v.shot("break-glass-explanation")

    # A reason chosen but no explanation: refused, next to its field, the choice kept.
    page.select_option("#f-reason_code", "emergency")
    page.click("#glass-submit")
    expect(page.locator("#f-reason_text-error")).to_be_visible()
    expect(page.locator("#f-reason_code")).to_have_value("emergency")
    # Too short for the gate: its refusal, said next to the same field.
    page.fill("#f-reason_text", "vite")
    page.click("#glass-submit")
    expect(page.locator("#f-reason_text-error")).to_contain_text("10 caractères")
    expect(page.locator("#f-reason_text")).to_have_value("vite")
    v.shot("break-glass-refused")
    with group.db.sessions() as s:
        assert s.scalars(select(BreakGlass).where(BreakGlass.patient_id == patient)).first() is None

    page.fill("#f-reason_text", "Malaise aux urgences, patient inconscient")
    page.click("#glass-submit")
    expect(page.locator("#glass-banner")).to_contain_text("Accès exceptionnel (bris de glace)")
    expect(page.locator("#glass-banner")).to_contain_text("responsable de la sécurité")
    expect(page.locator("#glass-left")).to_contain_text("h")  # about 4 h left
    assert page.url.endswith(f"/patients/{patient}")
    expect(page.locator("#allergies")).to_be_visible()
    expect(page.locator("#notes")).to_be_visible()
    expect(page.locator("#break-glass")).to_have_count(0)
    expect(page.locator("#basis")).to_contain_text("bris de glace")
    v.shot("break-glass-banner")


def test_a_secretary_sees_no_clinical_block(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    _, patient = in_care(group)
    v = visit(expect=(NOT_FOUND,))
    v.sign_in(group.login("secretary"), next_path=f"/patients/{patient}")
    page = v.page
    expect(page.locator("#identity")).to_be_visible()
    expect(page.locator("#coverage")).to_be_visible()
    for block in ("allergies", "conditions", "notes", "prescriptions", "break-glass"):
        expect(page.locator(f"#{block}")).to_have_count(0)
    expect(page.locator("#withheld")).to_contain_text("Non accessible à votre rôle")
    expect(page.locator("#book")).to_be_visible()
    expect(page.locator("#new-notes")).to_have_count(0)
    v.shot("secretary-chart")

    answer = v.go("/patients/999999")
    assert answer.status == 404
    expect(page.locator("#page-error")).to_be_visible()
    v.shot("unknown-patient")
