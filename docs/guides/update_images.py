"""Copy the browser tests' screenshots that the user guides show into docs/guides/img/.

    make test            # or: .venv/bin/pytest tests/web -p no:cacheprovider
    .venv/bin/python docs/guides/update_images.py

The tests save full-page PNGs under test-artifacts/ (one set per database); the guides
use the SQLite run's, scaled down to 900 pixels wide to keep the repository small. A
screenshot the tests no longer take is reported and the script exits 1."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
IMAGES = Path(__file__).resolve().parent / "img"
WIDTH = 900

# guide image -> the test's screenshot (test name, label), from the SQLite run
SHOTS = {
    "connexion-code-faux": ("test_signing_in_with_totp_and_a_wrong_code", "wrong-code"),
    "accueil": ("test_signing_in_with_totp_and_a_wrong_code", "home"),
    "premiere-connexion-qr": ("test_first_sign_in_enrols_totp_and_shows_recovery_codes", "enrolment-qr"),
    "codes-de-secours": ("test_first_sign_in_enrols_totp_and_shows_recovery_codes", "recovery-codes"),
    "mon-activite": ("test_mine_shows_my_sessions_and_accesses_and_ends_the_others", "mine"),
    "recherche-patients": ("test_a_secretary_searches_creates_a_patient_and_books", "search-results"),
    "doublon": ("test_a_secretary_searches_creates_a_patient_and_books", "duplicate-warning"),
    "rendez-vous": ("test_a_secretary_searches_creates_a_patient_and_books", "booking-form"),
    "rendez-vous-conflit": ("test_a_secretary_searches_creates_a_patient_and_books", "booking-conflict"),
    "journee-praticien": ("test_a_secretary_searches_creates_a_patient_and_books", "practitioner-day"),
    "arrivees": ("test_a_secretary_searches_creates_a_patient_and_books", "arrival"),
    "dossier-secretaire": ("test_a_secretary_sees_no_clinical_block", "secretary-chart"),
    "semaine-medecin": ("test_a_physician_opens_their_own_day_and_a_nurse_may_not_book", "physician-week"),
    "dossier-medecin": ("test_a_physician_reading_a_chart", "physician-chart"),
    "bris-de-glace": ("test_a_physician_without_relationship_using_break_the_glass", "break-glass-explanation"),
    "bris-de-glace-bandeau": ("test_a_physician_without_relationship_using_break_the_glass", "break-glass-banner"),
    "allergie": ("test_a_physician_adds_an_allergy_then_prescribes_through_the_warning", "allergy-form"),
    "alerte-allergie": ("test_a_physician_adds_an_allergy_then_prescribes_through_the_warning", "allergy-warning"),
    "cim10": ("test_a_condition_chosen_in_the_cim10_search_and_a_note", "cim10-search"),
    "infirmier-prescription-refusee": ("test_a_nurse_is_denied_prescribing", "nurse-refused"),
    "admission": ("test_admit_find_transfer_and_discharge", "admit-form"),
    "liste-service": ("test_admit_find_transfer_and_discharge", "ward-after-admission"),
    "mutation": ("test_admit_find_transfer_and_discharge", "transfer-form"),
    "comptes": ("test_an_administrator_creating_an_account_sees_no_patient_data", "accounts-list"),
    "compte-cree": ("test_an_administrator_creating_an_account_sees_no_patient_data", "account-created"),
    "habilitation": ("test_an_administrator_creating_an_account_sees_no_patient_data", "habilitation-granted"),
    "console-alertes": ("test_the_officer_reviews_an_alert_and_prints_an_access_history", "console-alerts"),
    "alerte-preuves": ("test_the_officer_reviews_an_alert_and_prints_an_access_history", "alert-evidence"),
    "activite-compte": ("test_the_officer_reviews_an_alert_and_prints_an_access_history", "account-activity"),
    "recherche-tracabilite": ("test_the_officer_reviews_an_alert_and_prints_an_access_history", "audit-results"),
    "historique-impression": ("test_the_officer_reviews_an_alert_and_prints_an_access_history", "access-history-print"),
}


def _found(test: str, label: str) -> Path | None:
    hits = sorted(ARTIFACTS.glob(f"{test}-sqlite*-{label}.png"))
    return hits[0] if hits else None


def main() -> int:
    IMAGES.mkdir(exist_ok=True)
    missing = []
    for name, (test, label) in SHOTS.items():
        source = _found(test, label)
        if source is None:
            missing.append(f"{test} / {label}")
            continue
        with Image.open(source) as shot:
            height = round(shot.height * WIDTH / shot.width)
            small = shot.convert("RGB").resize((WIDTH, height), Image.Resampling.LANCZOS)
            # A palette is plenty for screens of flat colours: a quarter of the size.
            small.quantize(colors=128).save(IMAGES / f"{name}.png", optimize=True)
    for line in missing:
        print(f"no screenshot: {line}", file=sys.stderr)
    print(f"{len(SHOTS) - len(missing)} images in {IMAGES}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
