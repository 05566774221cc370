"""What the pages call the codes they show (roles, statuses, kinds), in French: the
catalogue translates them like any other string (``_(LABELS[code])`` in a template).

``N_`` marks a string for the catalogue without translating it here (Babel extracts it)."""

from __future__ import annotations


def N_(text: str) -> str:
    return text


LABELS: dict[str, str] = {
    # Roles
    "physician": N_("Médecin"),
    "nurse": N_("Infirmier·e"),
    "secretary": N_("Secrétaire médicale"),
    "billing_officer": N_("Agent de facturation"),
    "pharmacist": N_("Pharmacien·ne"),
    "it_admin": N_("Administrateur informatique"),
    "security_officer": N_("Responsable de la sécurité"),
    "interface": N_("Interface"),
    # Sex
    "female": N_("Féminin"),
    "male": N_("Masculin"),
    "unknown": N_("Inconnu"),
    # Identity status (référentiel national d'identitovigilance)
    "provisional": N_("Identité provisoire"),
    "retrieved": N_("Identité récupérée"),
    "validated": N_("Identité validée"),
    "qualified": N_("Identité qualifiée"),
    # Appointments
    "booked": N_("Prévu"),
    "arrived": N_("Arrivé"),
    "done": N_("Terminé"),
    "cancelled": N_("Annulé"),
    "no_show": N_("Absent"),
    # Stays
    "outpatient": N_("Ambulatoire"),
    "inpatient": N_("Hospitalisation complète"),
    "in_progress": N_("En cours"),
    "finished": N_("Terminé"),
    # Allergies, conditions, prescriptions
    "mild": N_("Légère"),
    "moderate": N_("Modérée"),
    "severe": N_("Sévère"),
    "active": N_("Actif"),
    "inactive": N_("Inactif"),
    "resolved": N_("Résolu"),
    "entered_in_error": N_("Saisi par erreur"),
    "completed": N_("Terminée"),
    "stopped": N_("Arrêtée"),
    # Notes
    "consultation": N_("Consultation"),
    "admission": N_("Admission"),
    "progress": N_("Évolution"),
    "nursing": N_("Soins infirmiers"),
    "discharge": N_("Sortie"),
    # Routes of administration
    "oral": N_("Voie orale"),
    "iv": N_("Intraveineuse"),
    "im": N_("Intramusculaire"),
    "sc": N_("Sous-cutanée"),
    "cutaneous": N_("Cutanée"),
    "ophthalmic": N_("Ophtalmique"),
    "rectal": N_("Rectale"),
    "inhaled": N_("Inhalée"),
    "sublingual": N_("Sublinguale"),
    "transdermal": N_("Transdermique"),
    "nasal": N_("Nasale"),
    "vaginal": N_("Vaginale"),
    # Invoices
    "draft": N_("Brouillon"),
    "issued": N_("Émise"),
    "paid": N_("Payée"),
    "rejected": N_("Rejetée"),
    # Outcomes in the trail
    "allowed": N_("Autorisé"),
    "denied": N_("Refusé"),
    "failed": N_("Échoué"),
    # Export requests
    "pending": N_("En attente"),
    "approved": N_("Approuvée"),
    "refused": N_("Refusée"),
    "downloaded": N_("Téléchargée"),
    "expired": N_("Expirée"),
}


def label(code: str | None) -> str:
    """The French label of ``code``, or the code itself if it has none."""
    if code is None:
        return ""
    return LABELS.get(code, code)
