"""The security officer's console in a real browser: a secretary's account harvests
records through the JSON API until containment locks it; the officer sees the alert with
its evidence, opens the account's day with its plot, closes the alert with a conclusion,
unlocks the account with a reason, searches the trail by account, opens a patient's access
history and prints it for the patient, and reviews a break-the-glass."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hygie.access import gateway
from hygie.access.actor import load_actor
from hygie.app import create_app
from hygie.models import BreakGlass, PatientRegistration, SecurityAlert, User
from tests.api.conftest import PASSWORD, USER_AGENT
from tests.api.test_containment import harvest_by_search_and_charts
from tests.web.conftest import ARTIFACTS, Group, fresh_code

UNPROCESSABLE = "status of 422"  # forms refused on purpose


def _harvest(group: Group) -> str:
    """The secretary's own session harvesting at full speed until she is contained."""
    login = group.login("secretary")
    client = TestClient(create_app(db=group.db), base_url="https://testserver",
                        headers={"User-Agent": USER_AGENT})  # fmt: skip
    code = fresh_code(login)
    answer = client.post("/api/session", json={"username": login.username,
                                               "password": PASSWORD, "totp": code})  # fmt: skip
    login.used.add(code)
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    haul = harvest_by_search_and_charts(client)
    assert haul.status == 403 and haul.stopped_by is not None
    assert haul.stopped_by["containment"] == "contain"
    return login.username


def _break_glass(group: Group) -> int:
    """A nurse opens a patient's record by break-the-glass (through the gate)."""
    nurse = group.usernames["nurse"][0]
    with group.db.sessions() as s:
        actor = load_actor(s, username=nurse, how="web", ip="10.1.2.3")
        patient = s.scalars(
            select(PatientRegistration.patient_id)
            .where(PatientRegistration.establishment_id == group.establishment)
            .order_by(PatientRegistration.patient_id.desc())
        ).first()
    assert patient is not None
    grant = gateway.break_glass(group.db, actor, patient_id=patient, reason_code="emergency",
                                reason_text="Malaise aux urgences")  # fmt: skip
    return int(grant.id)


def _loaded_width(image: Any) -> int:
    """The image's width once loaded (polled here: the strict CSP forbids Playwright's
    in-page polling, which evaluates strings)."""
    deadline = time.monotonic() + 20
    while not image.evaluate("img => img.complete") and time.monotonic() < deadline:
        time.sleep(0.2)
    return int(image.evaluate("img => img.naturalWidth"))


def test_the_officer_reviews_an_alert_and_prints_an_access_history(
    group: Group, visit: Any
) -> None:
    from playwright.sync_api import expect

    secretary = _harvest(group)
    grant = _break_glass(group)
    with group.db.sessions() as s:
        alert = s.scalars(
            select(SecurityAlert.id).where(
                SecurityAlert.username == secretary, SecurityAlert.response == "contain"
            )
        ).first()
    assert alert is not None

    v = visit(expect=(UNPROCESSABLE,))
    page = v.page
    v.sign_in(group.login("security_officer"), next_path="/security")
    expect(page.locator("h1")).to_have_text("Console de sécurité")
    row = page.locator(f"tr[data-alert='{alert}']")
    expect(row).to_contain_text(secretary)
    expect(row).to_contain_text("Compte bloqué")
    expect(row).to_contain_text("Ouverte")
    assert page.locator("#alerts").get_attribute("hx-trigger") == "every 30s"
    v.shot("console-alerts")

    # The alert with its evidence: the findings against their norms, no patient named.
    page.click(f"[data-testid='alert-{alert}']")
    expect(page.locator("#alert-account")).to_contain_text(secretary)
    expect(page.locator("#findings tbody tr").first).to_be_visible()
    expect(page.locator("#trigger")).to_contain_text("Patients concernés")
    v.shot("alert-evidence")

    # The account's day, with the plot drawn on the server.
    page.click("#activity-link")
    expect(page.locator("#activity-title")).to_contain_text(secretary)
    expect(page.locator("#account-state")).to_contain_text("Bloqué")
    plot = page.locator("#activity-plot")
    plot.scroll_into_view_if_needed()
    assert _loaded_width(plot) > 0
    expect(page.locator("#timeline")).to_contain_text("Bloqué par le confinement")
    v.shot("account-activity")

    # Closing the alert: a conclusion too short is refused next to its field, kept.
    page.go_back()
    page.fill("#f-comment", "Vu.")
    page.click("#close-alert")
    expect(page.locator("#f-comment-error")).to_contain_text("au moins 10 caractères")
    expect(page.locator("#f-comment")).to_have_value("Vu.")
    v.shot("alert-close-refused")
    page.fill(
        "#f-comment",
        "Aspiration de dossiers confirmée : mot de passe volé, compte à réinitialiser.",
    )
    page.click("#close-alert")
    expect(page.locator("#done")).to_contain_text("L'alerte est clôturée")
    expect(page.locator("#alert-status")).to_contain_text("Clôturée")
    v.shot("alert-closed")

    # The locked accounts, then the unlock from the account's day, with a reason.
    v.go("/security/locked")
    expect(page.locator(f"#locked tr[data-account='{secretary}']")).to_be_visible()
    v.shot("locked-accounts")
    v.go(f"/security/accounts/{secretary}/activity")
    page.fill("#f-reason", "Mot de passe changé avec la titulaire, second facteur refait.")
    page.click("#unlock")
    expect(page.locator("#done")).to_contain_text("Le compte est débloqué")
    expect(page.locator("#account-state")).to_contain_text("Actif")
    with group.db.sessions() as s:
        assert s.scalars(select(User.locked_at).where(User.username == secretary)).one() is None
    v.shot("account-unlocked")

    # The audit search by account: a bad date is refused next to its field.
    v.go("/security/audit")
    page.fill("#f-account", secretary)
    page.fill("#f-start", "31/02/2024")
    page.click("#audit-search")
    expect(page.locator("#f-start-error")).to_contain_text("JJ/MM/AAAA")
    expect(page.locator("#f-account")).to_have_value(secretary)
    v.shot("audit-bad-date")
    page.fill("#f-start", datetime.now(UTC).strftime("%d/%m/%Y"))
    page.select_option("#f-action", "chart.read")
    page.select_option("#f-outcome", "allowed")
    page.click("#audit-search")
    expect(page.locator("#result-count")).to_contain_text("événement")
    expect(page.locator("#audit-results tbody tr").first).to_contain_text("Lecture d'un dossier")
    v.shot("audit-results")

    # A patient's access history, printed for the patient.
    link = page.locator("[data-testid^='history-']").first
    patient = link.inner_text()
    link.click()
    expect(page.locator("#history-title")).to_have_text("Historique des accès au dossier")
    expect(page.locator("#history")).to_contain_text(secretary)
    expect(page.locator("#print")).to_be_visible()
    assert page.locator("#patient-name").inner_text().strip()
    v.shot("access-history")
    page.emulate_media(media="print")
    expect(page.locator("#print")).to_be_hidden()
    expect(page.locator("header.bar")).to_be_hidden()
    expect(page.locator("#printed-at")).to_be_visible()
    v.shot("access-history-print")
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / f"{v.name}-access-history-{patient}.pdf"
    page.pdf(path=str(pdf))
    assert pdf.stat().st_size > 1000
    page.emulate_media(media="screen")

    # The break-the-glass review queue: a verdict with a comment.
    v.go("/security/reviews")
    form = page.locator(f"tr[data-grant='{grant}'] form")
    form.locator("select[name=outcome]").select_option("justified")
    form.locator("textarea[name=note]").fill("Urgence vitale confirmée par le service.")
    form.locator("button[type=submit]").click()
    expect(page.locator("#done")).to_contain_text("Le verdict est enregistré")
    with group.db.sessions() as s:
        verdict = s.scalars(select(BreakGlass.review_outcome).where(BreakGlass.id == grant)).one()
    assert verdict == "justified"
    v.shot("break-glass-reviewed")


def test_the_console_is_the_officers_and_its_search_says_what_is_wrong(
    group: Group, visit: Any
) -> None:
    from playwright.sync_api import expect

    nurse = visit(expect=("status of 403",))
    nurse.sign_in(group.login("nurse"))
    answer = nurse.go("/security")
    assert answer.status == 403  # the gate refuses, and records it
    nurse.shot("console-refused")

    v = visit(expect=(UNPROCESSABLE,))
    v.sign_in(group.login("security_officer"))
    answer = v.go("/security/audit?outcome=maybe&start=01/01/2025&end=01/12/2024")
    assert answer.status == 422
    expect(v.page.locator("#f-outcome-error")).to_contain_text("Résultat inconnu")
    expect(v.page.locator("#f-end-error")).to_contain_text("précède")
    v.shot("audit-refused")
    v.go("/security/exports")
    expect(v.page.locator("#pending-exports")).to_contain_text("Aucun export en attente")
    v.go("/security/reviews")
    expect(v.page.locator("#reviews")).to_contain_text("Aucun bris de glace")
    # What the console's HTMX polling fetches every 30 s: the alerts alone, no frame.
    fragment = v.page.request.get(f"{v.base}/security/alerts", headers={"HX-Request": "true"})
    assert fragment.status == 200
    body = fragment.text()
    assert body.lstrip().startswith('<div id="alerts"') and "<html" not in body
