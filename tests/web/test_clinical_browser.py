"""Clinical entry in a real browser: a physician reads a chart, records an allergy and
prescribes a drug it concerns (the warning, then the override with a reason); a condition
chosen from the CIM-10 search; a note; a death declaration behind its confirmation; a
nurse told she may not prescribe, whose forced submit is refused and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from hygie.clinical import allergy_check
from hygie.clinical.care_team import care_team
from hygie.models import (
    Allergy,
    AuditEvent,
    ClinicalNote,
    Condition,
    DeathDeclaration,
    Patient,
    Prescription,
    User,
)
from hygie.reference import drugs
from tests.api.conftest import Login
from tests.web.conftest import Group

AMOXICILLIN = "D0031"  # amoxicilline, gélule 500 mg (ATC J01CA04): a penicillin
ON_PURPOSE = ("status of 403", "status of 409", "status of 422")


def expected() -> tuple[str, ...]:
    return ON_PURPOSE


def cared_for(group: Group, role: str) -> tuple[Login, int]:
    """An account of ``role`` and a living patient it has a care relationship with, with no
    allergy to amoxicillin yet (else any patient of the establishment, for a nurse)."""
    now = datetime.now(UTC)
    drug = drugs()[AMOXICILLIN]
    fallback: tuple[Login, int] | None = None
    with group.db.sessions() as s:
        dead = set(s.scalars(select(DeathDeclaration.patient_id)))
        patients = [p for p in s.scalars(select(Patient.id).order_by(Patient.id)) if p not in dead]
        for n, username in enumerate(group.usernames[role]):
            prof = s.scalar(select(User.professional_id).where(User.username == username))
            for pid in patients:
                allergic = any(
                    allergy_check.allergy_concerns_drug(
                        substance=a.substance, allergen_drug_code=a.drug_code, drug=drug
                    )
                    for a in s.scalars(select(Allergy).where(Allergy.patient_id == pid))
                )
                if allergic:
                    continue
                fallback = fallback or (group.login(role, n), pid)
                if any(e.professional_id == prof for e in care_team(s, patient_id=pid, at=now)):
                    return group.login(role, n), pid
    assert fallback is not None and role == "nurse", f"no {role} with a patient in care"
    return fallback


def press(page: Any, button: str) -> None:
    """Press a button from the keyboard: a full-page screenshot just before leaves the
    page scrolled under a mouse click's computed position."""
    page.locator(button).focus()
    page.keyboard.press("Enter")


def count(group: Group, model: Any, patient_id: int) -> int:
    with group.db.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(
            model.patient_id == patient_id))  # fmt: skip


def test_a_physician_adds_an_allergy_then_prescribes_through_the_warning(
    group: Group, visit: Any
) -> None:
    from playwright.sync_api import expect

    login, pid = cared_for(group, "physician")
    v = visit(expect=expected())
    page = v.page
    v.sign_in(login)
    v.go(f"/patients/{pid}")
    v.shot("chart")

    # The allergy: a drug family typed as free text.
    v.go(f"/patients/{pid}/allergies/new")
    expect(page.locator("h1")).to_have_text("Nouvelle allergie")
    press(page, "#allergy-submit")  # nothing typed: the server says what is missing
    expect(page.locator("#f-substance-error")).to_have_text("Ce champ est obligatoire.")
    expect(page.locator("#f-reaction-error")).to_have_text("Ce champ est obligatoire.")
    page.fill("#f-substance", "Pénicillines")
    page.fill("#f-reaction", "Urticaire géante")
    page.select_option("#f-severity", "severe")
    v.shot("allergy-form")
    press(page, "#allergy-submit")
    page.wait_for_url(f"{v.base}/patients/{pid}")
    with group.db.sessions() as s:
        allergy = s.scalars(select(Allergy).where(Allergy.patient_id == pid,
                                                  Allergy.substance == "Pénicillines")).one()  # fmt: skip
        assert allergy.severity.value == "severe" and allergy.drug_code is None

    # The prescription of a penicillin: the known allergies are on the form already.
    v.go(f"/patients/{pid}/prescriptions/new")
    expect(page.locator("#known-allergies")).to_contain_text("Pénicillines — Sévère")
    page.locator("#f-q").press_sequentially("amox")
    page.locator(f"#drug-{AMOXICILLIN}").check()
    page.fill("#f-dose", "1 g")
    page.fill("#f-frequency", "3 fois par jour")
    page.fill("#f-duration_days", "6")
    v.shot("prescription-form")
    press(page, "#prescription-submit")
    warning = page.locator("#allergy-warning")
    expect(warning).to_contain_text("Attention : allergie connue")
    expect(warning).to_contain_text("Pénicillines")
    expect(warning).to_contain_text("amoxicilline")
    # What was typed stays: the drug chosen, the dose, the frequency.
    expect(page.locator(f"#drug-{AMOXICILLIN}")).to_be_checked()
    expect(page.locator("#f-dose")).to_have_value("1 g")
    expect(page.locator("#f-frequency")).to_have_value("3 fois par jour")
    v.shot("allergy-warning")
    assert count(group, Prescription, pid) == 0

    press(page, "#override-submit")  # no reason: still refused, the reason asked for
    expect(page.locator("#f-allergy_override_reason-error")).to_have_text(
        "Ce champ est obligatoire."
    )
    page.fill("#f-allergy_override_reason", "Réaction ancienne et douteuse, avis allergologue")
    v.shot("allergy-override")
    press(page, "#override-submit")
    page.wait_for_url(f"{v.base}/patients/{pid}")
    with group.db.sessions() as s:
        row = s.scalars(select(Prescription).where(Prescription.patient_id == pid)).one()
        assert (row.drug_code, row.dose, row.duration_days) == (AMOXICILLIN, "1 g", 6)
        assert row.allergy_override_reason == "Réaction ancienne et douteuse, avis allergologue"
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "prescription.write")
                          .order_by(AuditEvent.id.desc())).first()  # fmt: skip
        assert event is not None and event.outcome == "allowed"
        assert event.details["allergy_override"] is True
    expect(page.locator("main")).to_contain_text("amoxicilline")
    v.shot("prescribed")


def test_a_condition_chosen_in_the_cim10_search_and_a_note(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    login, pid = cared_for(group, "physician")
    v = visit(expect=expected())
    page = v.page
    v.sign_in(login)
    v.go(f"/patients/{pid}/conditions/new")
    press(page, "#condition-submit")
    expect(page.locator("#f-code-error")).to_have_text("Ce champ est obligatoire.")
    page.locator("#f-q").press_sequentially("diabete type 2")
    choice = page.locator("#code-E11-9")
    expect(choice).to_be_visible()
    v.shot("cim10-search")
    choice.check()
    page.fill("#f-onset_date", "2019-03-01")
    page.select_option("#f-status", "active")
    press(page, "#condition-submit")
    page.wait_for_url(f"{v.base}/patients/{pid}")
    with group.db.sessions() as s:
        rows = s.scalars(select(Condition).where(Condition.patient_id == pid,
                                                 Condition.code == "E11.9")).all()  # fmt: skip
        assert [(c.onset_date and c.onset_date.isoformat(), c.status.value) for c in rows][-1] == (
            "2019-03-01", "active",
        )  # fmt: skip

    before = count(group, ClinicalNote, pid)
    v.go(f"/patients/{pid}/notes/new")
    page.select_option("#f-kind", "progress")
    press(page, "#note-submit")  # no text: refused next to the field
    expect(page.locator("#f-text-error")).to_have_text("Ce champ est obligatoire.")
    page.fill("#f-text", "Glycémies stables sous metformine.")
    v.shot("note-form")
    press(page, "#note-submit")
    page.wait_for_url(f"{v.base}/patients/{pid}")
    assert count(group, ClinicalNote, pid) == before + 1


def test_a_death_declaration_asks_for_confirmation(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    login, pid = cared_for(group, "physician")
    v = visit(expect=expected())
    page = v.page
    v.sign_in(login)
    v.go(f"/patients/{pid}/death")
    page.fill("#f-place", "Clinique, service de médecine")
    page.on("dialog", lambda d: d.accept())
    press(page, "#death-submit")  # not certified: refused, nothing declared
    expect(page.locator("#f-certify-error")).to_contain_text("certifier")
    assert count(group, DeathDeclaration, pid) == 0
    page.check("#f-certify")
    v.shot("death-form")
    press(page, "#death-submit")
    page.wait_for_url(f"{v.base}/patients/{pid}")
    assert count(group, DeathDeclaration, pid) == 1
    v.go(f"/patients/{pid}/death")
    expect(page.locator("#already-declared")).to_be_visible()


def test_a_nurse_is_denied_prescribing(group: Group, visit: Any) -> None:
    from playwright.sync_api import expect

    login, pid = cared_for(group, "nurse")
    v = visit(expect=expected())
    page = v.page
    v.sign_in(login)
    answer = v.go(f"/patients/{pid}/prescriptions/new")
    assert answer.status == 403
    expect(page.locator("#entry-refused")).to_have_text("Votre rôle ne permet pas de prescrire.")
    expect(page.locator("#prescription-form")).to_have_count(0)
    v.shot("nurse-refused")

    # A submit forced past the page: the gate refuses it, records it, and writes nothing.
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    forced = page.request.post(
        f"{v.base}/patients/{pid}/prescriptions/new",
        form={"csrf": token, "establishment_id": str(group.establishment),
              "drug_code": AMOXICILLIN, "dose": "1 g", "frequency": "3 fois par jour",
              "duration_days": "5"},
    )  # fmt: skip
    assert forced.status == 403
    assert "Votre rôle ne permet pas de prescrire." in forced.text()
    assert count(group, Prescription, pid) == 0
    with group.db.sessions() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "prescription.write")
                          .order_by(AuditEvent.id.desc())).first()  # fmt: skip
        assert event is not None and event.outcome == "denied"
        assert event.username == login.username
