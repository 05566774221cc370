"""Clinical entry: allergies, conditions (CIM-10 search), notes, prescriptions (drug
search, allergy warning), death declaration. Each form is reached from the chart and goes
back to it (303) once the gate has recorded the entry.

Every form page first asks the gate for its patient (an identity summary) and whether the
actor may record that entry (:func:`hygie.access.clinical_views.entry_form`): a role that
may not is told so before typing anything, and the gate still decides on submit. The
CIM-10 and drug searches read shipped reference data only (no patient), for signed-in
users, and answer a list of choices the form submits without any script."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from hygie import reference
from hygie.access import clinical_views, writes
from hygie.access.clinical_views import EntryForm
from hygie.access.gateway import AccessDenied
from hygie.errors import ConflictError, HygieError, ValidationError
from hygie.web import i18n
from hygie.web.forms import REQUIRED, TOO_LONG, FormState, Submitted, state
from hygie.web.labels import N_, label
from hygie.web.render import language_of, page
from hygie.web.session import Editor, User, Viewer

router = APIRouter(include_in_schema=False)

PatientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Search = Annotated[str, Query(max_length=100)]
PARIS = ZoneInfo("Europe/Paris")
MIN_SEARCH = 2

SEVERITIES = ("mild", "moderate", "severe")
STATUSES = ("active", "inactive", "resolved")
NOTE_KINDS = ("consultation", "admission", "progress", "nursing", "discharge")
ROUTES = ("oral", "iv", "im", "sc", "cutaneous", "ophthalmic", "rectal", "inhaled",
          "sublingual", "transdermal", "nasal", "vaginal")  # fmt: skip

# What the gate's refusal means for the person at the form, in their words.
ROLE_REFUSED = {
    "allergy": N_("Votre rôle ne permet pas d'enregistrer une allergie."),
    "condition": N_("Votre rôle ne permet pas d'enregistrer une pathologie."),
    "note": N_("Votre rôle ne permet pas d'écrire une note."),
    "prescription": N_("Votre rôle ne permet pas de prescrire."),
    "death": N_("Votre rôle ne permet pas de déclarer un décès."),
}
NO_CARE = N_(
    "Vous n'avez pas de relation de soins avec ce patient : ouvrez son dossier par bris "
    "de glace, avec un motif, pour continuer."
)
REFUSED = N_("Le contrôle d'accès refuse cet enregistrement.")
# The services' messages (English, for the API) as the form says them, by field.
FIELD_MESSAGES = {
    "code": N_("Code CIM-10 inconnu : choisissez un code dans la liste."),
    "drug_code": N_("Médicament inconnu : choisissez-le dans la liste."),
    "onset_date": N_("La date doit se situer entre la naissance du patient et aujourd'hui."),
    "died_at": N_("La date du décès doit se situer entre la naissance du patient et maintenant."),
    "severity": N_("Choisissez la sévérité."),
    "status": N_("Choisissez un statut de la liste."),
    "kind": N_("Choisissez un type de note."),
    "route": N_("Choisissez une voie d'administration de la liste."),
    "duration_days": N_("Durée en jours attendue, de 1 à 365."),
    "user": N_("Votre compte n'est rattaché à aucun professionnel de santé."),
}
DECEASED = N_("Le patient est décédé : plus aucune prescription ne peut être faite.")
ALREADY_DEAD = N_("Un décès est déjà déclaré pour ce patient.")
CERTIFY = N_("Cochez la case pour certifier le décès.")


# --- reference searches (no patient data) -------------------------------------------------
@router.get("/reference/cim10")
def cim10_results(request: Request, user: Viewer, q: Search = "",
                  selected: Search = "") -> Response:  # fmt: skip
    return page("clinical/_cim10_results.html", request=request, user=user,
                codes=_codes(q, selected), q=q, selected=selected, short=_short(q))  # fmt: skip


@router.get("/reference/drugs")
def drug_results(request: Request, user: Viewer, q: Search = "", selected: Search = "",
                 optional: Annotated[str, Query(max_length=1)] = "") -> Response:  # fmt: skip
    return page("clinical/_drug_results.html", request=request, user=user,
                drugs=_drugs(q, selected), q=q, selected=selected, short=_short(q),
                optional=bool(optional))  # fmt: skip


def _short(q: str) -> bool:
    return len(q.strip()) < MIN_SEARCH


def _codes(q: str, selected: str) -> list[reference.Cim10Code]:
    """The codes matching ``q``, with the one already chosen first (kept after a refusal)."""
    found = reference.cim10_search(q) if not _short(q) else []
    chosen = reference.cim10_codes().get(selected.strip().upper())
    return ([chosen] if chosen else []) + [c for c in found if c != chosen]


def _drugs(q: str, selected: str) -> list[reference.Drug]:
    found = reference.drug_search(q) if not _short(q) else []
    chosen = reference.drugs().get(selected.strip().upper())
    return ([chosen] if chosen else []) + [d for d in found if d != chosen]


# --- the forms' common course -------------------------------------------------------------
def _refusal(kind: str, *, reason: str, break_glass_possible: bool) -> str:
    if break_glass_possible:
        return NO_CARE
    if "may not" in reason:
        return ROLE_REFUSED[kind]
    return REFUSED


def _show(request: Request, user: User, kind: str, patient: EntryForm, form: FormState, *,
          status: int = 200, refusal: str | None = None, **extra: Any) -> Response:  # fmt: skip
    if refusal is None and not patient.may_write:
        refusal = _refusal(kind, reason=patient.reason,
                           break_glass_possible=patient.break_glass_possible)  # fmt: skip
    if refusal is not None:
        status = 403  # the page says why: the gate refuses this entry to this actor
    # The search results as they stood, the chosen one first: nothing typed is lost.
    if kind == "condition":
        extra.setdefault("codes", _codes(form.get("q"), form.get("code")))
    elif kind in ("allergy", "prescription"):
        extra.setdefault("drugs", _drugs(form.get("q"), form.get("drug_code")))
    return page(
        f"clinical/{kind}.html", request=request, user=user, patient=patient, form=form,
        refusal=refusal, status=status, choices=_choices(request), **extra,
    )  # fmt: skip


def _choices(request: Request) -> dict[str, list[tuple[str, str]]]:
    """The closed lists as (code, label in the page's language), for the select macro."""
    say = i18n.translations(language_of(request)).gettext
    return {name: [(c, say(label(c))) for c in codes] for name, codes in (
        ("severity", SEVERITIES), ("status", STATUSES), ("kind", NOTE_KINDS), ("route", ROUTES),
    )}  # fmt: skip


def _entry(user: User, patient_id: int, kind: str) -> EntryForm:
    return clinical_views.entry_form(user.db, user.actor, patient_id, entry=kind)


def _refused_field(form: FormState, exc: HygieError, fields: dict[str, str]) -> None:
    """A service's refusal next to its field, in French when the form knows the field."""
    name = fields.get(exc.field or "", exc.field or "")
    if exc.message == "is required":
        message = REQUIRED
    elif exc.message.startswith("is longer than"):
        message = TOO_LONG
    else:
        message = FIELD_MESSAGES.get(exc.field or "", exc.message)
    form.fail(name if name in form.values else "", message)


Write = Callable[[FormState, int | None], None]
OnConflict = Callable[[FormState, ConflictError], dict[str, Any]]


def _one_file(place: int | None) -> int:
    """The establishment of a per-file entry (``_submit`` always gives one)."""
    if place is None:  # pragma: no cover - only the death declaration goes without
        raise ValidationError("is required", field="establishment_id")
    return place


def _place(form: FormState) -> int | None:
    """The establishment the form was given (its hidden field); None if absent or bad."""
    value = form.get("establishment_id")
    return int(value) if value.isdigit() and 1 <= int(value) <= 2**31 - 1 else None


def _submit(request: Request, user: User, patient_id: int, kind: str, form: FormState,
            write: Write, *, fields: dict[str, str] | None = None,
            on_conflict: OnConflict | None = None, per_file: bool = True) -> Response:  # fmt: skip
    """Check, write through the gate, then back to the chart; or the same form again with
    what was typed and the message next to its field. ``per_file``: the entry goes to one
    establishment's file (all but the death declaration)."""
    place = _place(form) if per_file else None
    extra: dict[str, Any] = {}
    status, refusal = 422, None
    if form.ok:
        try:
            if per_file and place is None:  # a form without its establishment: the preview's
                place = _entry(user, patient_id, kind).establishment_id
            if place is not None or not per_file:
                write(form, place)
                return RedirectResponse(f"/patients/{patient_id}", status_code=303)
            status = 403  # nowhere the actor may write: the preview's refusal
        except AccessDenied as denied:
            status = 403
            refusal = _refusal(kind, reason=denied.message,
                               break_glass_possible=denied.break_glass_possible)  # fmt: skip
        except ConflictError as conflict:
            status = 409
            extra = on_conflict(form, conflict) if on_conflict else {}
            if not extra:
                _refused_field(form, conflict, fields or {})
        except HygieError as exc:
            if exc.field == "patient_id":
                raise  # the patient is gone or out of reach: the error page says so
            _refused_field(form, exc, fields or {})
    patient = _entry(user, patient_id, kind)
    return _show(request, user, kind, patient, form, status=status, refusal=refusal, **extra)


# --- allergy ------------------------------------------------------------------------------
@router.get("/patients/{patient_id}/allergies/new")
def allergy_form(request: Request, user: Viewer, patient_id: PatientId) -> Response:
    patient = _entry(user, patient_id, "allergy")
    return _show(request, user, "allergy", patient, state({"severity": "moderate"}))


@router.post("/patients/{patient_id}/allergies/new")
def allergy_submit(
    request: Request, user: Editor, patient_id: PatientId, form: Submitted
) -> Response:

    def write(f: FormState, place: int | None) -> None:
        drug = reference.drugs().get(f.get("drug_code"))
        # A drug chosen in the list names the substance when nothing else was typed.
        substance = f.get("substance") or (drug.name if drug else "")
        writes.record_allergy(
            user.db, user.actor, patient_id=patient_id, establishment_id=_one_file(place),
            substance=substance, reaction=f.get("reaction"), severity=f.get("severity"),
            drug_code=drug.code if drug else None,
        )  # fmt: skip

    if not form.get("substance") and not form.get("drug_code"):
        form.fail("substance", REQUIRED)
    form.require("reaction", "severity")
    return _submit(request, user, patient_id, "allergy", form, write)


# --- condition ----------------------------------------------------------------------------
@router.get("/patients/{patient_id}/conditions/new")
def condition_form(request: Request, user: Viewer, patient_id: PatientId) -> Response:
    patient = _entry(user, patient_id, "condition")
    return _show(request, user, "condition", patient, state({"status": "active"}))


@router.post("/patients/{patient_id}/conditions/new")
def condition_submit(
    request: Request, user: Editor, patient_id: PatientId, form: Submitted
) -> Response:
    form.require("code")
    onset = form.day("onset_date")

    def write(f: FormState, place: int | None) -> None:
        clinical_views.record_condition(
            user.db, user.actor, patient_id=patient_id, establishment_id=_one_file(place),
            code=f.get("code"), onset_date=onset, status=f.get("status") or "active",
        )  # fmt: skip

    return _submit(request, user, patient_id, "condition", form, write)


# --- note ---------------------------------------------------------------------------------
@router.get("/patients/{patient_id}/notes/new")
def note_form(request: Request, user: Viewer, patient_id: PatientId) -> Response:
    patient = _entry(user, patient_id, "note")
    return _show(request, user, "note", patient, state({"kind": "consultation"}))


@router.post("/patients/{patient_id}/notes/new")
def note_submit(request: Request, user: Editor, patient_id: PatientId, form: Submitted) -> Response:
    form.require("kind")
    form.text("text", required=True, limit=20_000)

    def write(f: FormState, place: int | None) -> None:
        writes.write_note(
            user.db, user.actor, patient_id=patient_id, establishment_id=_one_file(place),
            kind=f.get("kind"), text=f.get("text"),
        )  # fmt: skip

    return _submit(request, user, patient_id, "note", form, write)


# --- prescription -------------------------------------------------------------------------
@router.get("/patients/{patient_id}/prescriptions/new")
def prescription_form(request: Request, user: Viewer, patient_id: PatientId) -> Response:
    patient = _entry(user, patient_id, "prescription")
    return _show(request, user, "prescription", patient, state({"duration_days": "7"}))


@router.post("/patients/{patient_id}/prescriptions/new")
def prescription_submit(
    request: Request, user: Editor, patient_id: PatientId, form: Submitted
) -> Response:
    form.require("drug_code", "dose", "frequency")
    days = form.number("duration_days", required=True, low=1, high=365)
    if form.get("duration_days") and days is None:
        form.errors["duration_days"] = FIELD_MESSAGES["duration_days"]

    def write(f: FormState, place: int | None) -> None:
        writes.prescribe(
            user.db, user.actor, patient_id=patient_id, establishment_id=_one_file(place),
            drug_code=f.get("drug_code"), dose=f.get("dose"), frequency=f.get("frequency"),
            duration_days=days or 0, route=f.get("route") or None,
            allergy_override_reason=f.get("allergy_override_reason") or None,
        )  # fmt: skip

    def warn(f: FormState, conflict: ConflictError) -> dict[str, Any]:
        if conflict.field == "patient_id":
            f.fail("", DECEASED)
            return {"deceased": True}
        found = clinical_views.allergy_conflicts(user.db, user.actor, patient_id=patient_id,
                                                 drug_code=f.get("drug_code"))  # fmt: skip
        if f.get("warned"):  # the warning was on screen and no reason came with the submit
            f.fail("allergy_override_reason", REQUIRED)
        return {"conflicts": found, "drug": reference.drugs().get(f.get("drug_code"))}

    return _submit(request, user, patient_id, "prescription", form,
                                   write, on_conflict=warn)  # fmt: skip


# --- death --------------------------------------------------------------------------------
@router.get("/patients/{patient_id}/death")
def death_form(request: Request, user: Viewer, patient_id: PatientId) -> Response:
    patient = _entry(user, patient_id, "death")
    now = user.now.astimezone(PARIS)
    values = {"died_on": now.date().isoformat(), "died_time": now.strftime("%H:%M")}
    return _show(request, user, "death", patient, state(values))


@router.post("/patients/{patient_id}/death")
def death_submit(
    request: Request, user: Editor, patient_id: PatientId, form: Submitted
) -> Response:
    day = form.day("died_on", required=True)
    at = form.clock("died_time", required=True)
    form.require("place")
    if form.get("certify") != "yes":
        form.fail("certify", CERTIFY)

    def write(f: FormState, place: int | None) -> None:
        if day is None or at is None:  # pragma: no cover - the form is checked first
            raise ValidationError("is required", field="died_at")
        died_at = datetime.combine(day, at, tzinfo=PARIS)
        writes.declare_death(user.db, user.actor, patient_id=patient_id, died_at=died_at,
                             place=f.get("place"))  # fmt: skip

    def already(f: FormState, conflict: ConflictError) -> dict[str, Any]:
        f.fail("", ALREADY_DEAD)
        return {"done": True}

    return _submit(
        request, user, patient_id, "death", form, write,
        fields={"died_at": "died_on"}, on_conflict=already, per_file=False,
    )  # fmt: skip
