"""What the pages call the trail's actions (the account holder's page, the security
console): French labels, translated by the catalogue; an action without one shows its
code."""

from __future__ import annotations

from hygie.web.labels import N_

ACTIONS: dict[str, str] = {
    "auth.login": N_("Connexion"),
    "auth.lockout": N_("Blocage après échecs de connexion"),
    "mfa.enrol_start": N_("Première connexion (mot de passe)"),
    "mfa.enrolment_start": N_("Nouveau second facteur préparé"),
    "mfa.enrol": N_("Activation du second facteur"),
    "mfa.recovery_code_used": N_("Code de secours utilisé"),
    "session.create": N_("Ouverture de session"),
    "session.revoke": N_("Fin de session"),
    "session.revoke_all": N_("Fin des autres sessions"),
    "session.step_up": N_("Confirmation d'identité"),
    "request.csrf": N_("Formulaire refusé (jeton absent)"),
    "token.issue": N_("Jeton d'API créé"),
    "token.use": N_("Jeton d'API utilisé"),
    "token.revoke": N_("Jeton d'API révoqué"),
    "patient.search": N_("Recherche de patients"),
    "patient.read": N_("Lecture d'un dossier"),
    "chart.read": N_("Lecture d'un dossier"),
    "patient.create": N_("Création d'un patient"),
    "patient.contact.update": N_("Modification des coordonnées"),
    "patient.identity.update": N_("Modification de l'identité"),
    "patient.identity_status": N_("Statut d'identité"),
    "patient.merge": N_("Fusion d'identités"),
    "patient.death": N_("Déclaration de décès"),
    "patient.access_history": N_("Historique des accès d'un patient"),
    "coverage.record": N_("Couverture sociale"),
    "appointment.book": N_("Prise de rendez-vous"),
    "appointment.move": N_("Rendez-vous déplacé"),
    "appointment.cancel": N_("Rendez-vous annulé"),
    "appointment.status": N_("Statut de rendez-vous"),
    "appointment.list": N_("Liste de rendez-vous"),
    "stay.admit": N_("Admission"),
    "stay.transfer": N_("Mutation"),
    "stay.discharge": N_("Sortie"),
    "stay.list": N_("Liste de séjours"),
    "allergy.record": N_("Allergie enregistrée"),
    "allergy.update": N_("Allergie modifiée"),
    "condition.add": N_("Pathologie ajoutée"),
    "condition.update": N_("Pathologie modifiée"),
    "note.write": N_("Note rédigée"),
    "prescription.write": N_("Prescription"),
    "prescription.status": N_("Statut de prescription"),
    "break_glass": N_("Bris de glace"),
    "break_glass.review": N_("Revue d'un bris de glace"),
    "break_glass.pending": N_("File des bris de glace"),
    "billing.read": N_("Lecture de la facturation"),
    "billing.act": N_("Acte facturé"),
    "billing.invoice": N_("Facture"),
    "export.request": N_("Demande d'export"),
    "export.download": N_("Téléchargement d'un export"),
    "export.list": N_("Liste des exports"),
    "account.list": N_("Liste des comptes"),
    "account.create": N_("Création de compte"),
    "account.disable": N_("Compte désactivé"),
    "account.lock": N_("Compte suspendu (confinement)"),
    "account.unlock": N_("Compte débloqué"),
    "alerts.list": N_("Liste des alertes"),
    "alert.close": N_("Alerte clôturée"),
    "audit.search": N_("Recherche dans la traçabilité"),
    "self.activity": N_("Consultation de mon activité"),
}


def action_label(code: str) -> str:
    return ACTIONS.get(code, code)
