"""An administrator creating an account and seeing no patient data (issue 6): an IT
administrator lists the accounts of their establishment, creates one (a taken username is
refused next to its field, what was typed kept), adds a habilitation with an end date,
resets another account's TOTP and disables a third; no page shows a patient's name, and
the patients' pages refuse them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from hygie.kit.time import local_date
from hygie.models import Credential, Patient, User
from tests.web.conftest import Group

REFUSALS = ("status of 409", "status of 403", "status of 404", "status of 422")


def patient_names(group: Group) -> list[str]:
    with group.db.sessions() as s:
        names = s.scalars(select(Patient.birth_name).order_by(Patient.id).limit(12)).all()
    assert len(names) == 12
    return list(names)


def test_an_administrator_creating_an_account_sees_no_patient_data(
    group: Group, visit: Any
) -> None:
    from playwright.sync_api import expect

    names = patient_names(group)
    admin = group.login("it_admin")
    nurse = group.login("nurse")  # enrolled: its TOTP will be reset
    taken = group.usernames["secretary"][0]
    leaving = group.usernames["secretary"][1]
    v = visit(expect=REFUSALS)
    page = v.page
    page.on("dialog", lambda d: d.accept())  # the data-confirm forms ask first

    def no_patient_here() -> None:
        html = page.content()
        shown = [n for n in names if n in html]
        assert shown == [], f"patient names on {page.url}: {shown}"

    # The list: the establishment's accounts, their roles and MFA state.
    v.sign_in(admin, next_path="/admin")
    expect(page.locator("h1")).to_have_text("Comptes et habilitations")
    expect(page.locator(f"tr[data-account='{admin.username}']")).to_contain_text(
        "Administrateur informatique"
    )
    expect(page.locator(f"tr[data-account='{nurse.username}']")).to_contain_text("Activée")
    no_patient_here()
    v.shot("accounts-list")
    page.fill("#f-q", nurse.username)  # filtered as it is typed (HTMX)
    expect(page.locator("#accounts tbody tr")).to_have_count(1)
    expect(page.locator("#accounts tbody tr")).to_have_attribute("data-account", nurse.username)
    v.shot("accounts-filtered")

    # A new account: a taken username is refused next to the field, the rest kept.
    page.click("#new-account")
    expect(page.locator("h1")).to_have_text("Créer un compte")
    page.fill("#f-username", taken)
    page.fill("#f-family_name", "Lefèvre")
    page.fill("#f-given_name", "Camille")
    page.select_option("#f-role", "secretary")
    page.click("#new-account-form button[type=submit]")
    expect(page.locator("#f-username-error")).to_contain_text("déjà pris")
    expect(page.locator("#f-username")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-family_name")).to_have_value("Lefèvre")
    expect(page.locator("#f-role")).to_have_value("secretary")
    no_patient_here()
    v.shot("account-username-taken")
    page.fill("#f-username", "c.lefevre")
    page.click("#new-account-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Compte créé")
    expect(page.locator("#temporary-password")).not_to_be_empty()
    expect(page.locator("#enrolment-notice")).to_contain_text("TOTP")
    no_patient_here()
    v.shot("account-created")

    # Its page: a second habilitation, with an end date.
    page.click("#to-account")
    expect(page.locator("#account-mfa")).to_contain_text("En attente")
    until = local_date(datetime.now(UTC)) + timedelta(days=30)
    page.select_option("#f-role", "billing_officer")
    page.fill("#f-valid_until", until.isoformat())
    page.click("#grant-form button[type=submit]")
    expect(page.locator("#done")).to_contain_text("habilitation a été ajoutée")
    expect(page.locator("#habilitations")).to_contain_text("Agent de facturation")
    expect(page.locator("#habilitations")).to_contain_text(until.strftime("%d/%m/%Y"))
    no_patient_here()
    v.shot("habilitation-granted")
    # Ending one: not in the past (refused next to the date), today is its last day.
    today = local_date(datetime.now(UTC))
    page.select_option("#f-habilitation_id", label=page.locator(
        "#f-habilitation_id option", has_text="Agent de facturation").inner_text())  # fmt: skip
    page.fill("#f-ends_on", (today - timedelta(days=10)).isoformat())
    page.click("#end-form button[type=submit]")
    expect(page.locator("#f-ends_on-error")).to_be_visible()
    expect(page.locator("#f-habilitation_id option:checked")).to_contain_text("facturation")
    page.fill("#f-ends_on", today.isoformat())
    page.click("#end-form button[type=submit]")
    expect(page.locator("#done")).to_contain_text("fin de l'habilitation")
    expect(page.locator("#habilitations")).to_contain_text(today.strftime("%d/%m/%Y"))

    # Another account's TOTP reset: a reason is required.
    v.go(f"/admin/accounts/{nurse.username}")
    page.click("#mfa-form button[type=submit]")
    expect(page.locator("#f-mfa_reason-error")).to_be_visible()
    page.fill("#f-mfa_reason", "Téléphone perdu, ticket 4521")
    page.click("#mfa-form button[type=submit]")
    expect(page.locator("#done")).to_contain_text("réinitialisée")
    expect(page.locator("#account-mfa")).to_contain_text("En attente")
    no_patient_here()
    v.shot("mfa-reset")

    # A third account disabled.
    v.go(f"/admin/accounts/{leaving}")
    page.fill("#f-disable_reason", "Départ de l'établissement")
    page.click("#disable-form button[type=submit]")
    expect(page.locator("#done")).to_contain_text("désactivé")
    expect(page.locator("#account-state")).to_have_text("Désactivé")
    no_patient_here()
    v.shot("account-disabled")

    v.go("/admin")
    expect(page.locator(f"tr[data-account='{leaving}']")).to_contain_text("Désactivé")
    no_patient_here()

    # The patients' pages and the API refuse an IT administrator.
    answer = v.go("/patients?name=Ma")
    assert answer is not None and answer.status in (403, 404)
    no_patient_here()
    v.shot("patients-refused")
    api = page.request.get(f"{v.base}/api/patients?name={names[0][:3]}")
    assert api.status == 403
    assert not any(n in api.text() for n in names)

    with group.db.sessions() as s:
        made = s.scalars(select(User).where(User.username == "c.lefevre")).one()
        gone = s.scalars(select(User.active).where(User.username == leaving)).one()
        reset = s.scalars(
            select(Credential.totp_enrolled_at)
            .join(User, User.id == Credential.user_id)
            .where(User.username == nurse.username)
        ).one()
    assert made.active and gone is False and reset is None
