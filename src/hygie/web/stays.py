"""Pages: stays — the ward list of a unit, admitting a patient, transferring a stay to
another unit (mutation), discharging it (sortie).

Every read and write goes through the gate: ``ward_views`` for what the screens show (a
unit's stays in progress as identity summaries, one stay, an admission form decided as the
admission itself), ``writes`` for the changes. Times are typed and shown in Paris time and
handed to the gate in UTC. A refusal re-renders the form with what was typed and the
message next to its field; a success goes back to the ward list (post/redirect/get)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from hygie.access import ward_views, writes
from hygie.access.containment import Contained
from hygie.access.gateway import AccessDenied
from hygie.errors import ConflictError, HygieError
from hygie.web.errors import error_page
from hygie.web.forms import FormState, Submitted, state
from hygie.web.labels import N_
from hygie.web.render import PARIS, page
from hygie.web.session import Editor, User, Viewer

router = APIRouter(include_in_schema=False)

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
QueryId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
MOMENT = "%d/%m/%Y %H:%M"
BAD_MOMENT = N_("Date et heure attendues au format JJ/MM/AAAA HH:MM.")
NOT_A_CHOICE = N_("Choisissez une valeur de la liste.")
# What the ward list says after a change (post/redirect/get carries the word, not a text).
DONE = {
    "admitted": N_("Admission enregistrée."),
    "transferred": N_("Mutation enregistrée."),
    "discharged": N_("Sortie enregistrée."),
}
# The stays service's discharge destinations (hygie.stays.service.DISCHARGE_DESTINATIONS);
# a page may not import the service, and the gate refuses any other value anyway.
DESTINATIONS = {
    "home": N_("Domicile"),
    "transfer": N_("Transfert vers un autre établissement"),
    "nursing_home": N_("EHPAD ou établissement médico-social"),
    "deceased": N_("Décès"),
    "against_advice": N_("Sortie contre avis médical"),
    "other": N_("Autre"),
}
# The gate and the services speak English; the forms say the same in French.
MESSAGES = {
    "is in the future": N_("Ce moment est dans le futur."),
    "is too far in the past or the future": N_("Ce moment est trop éloigné d'aujourd'hui."),
    "is before the patient's birth date": N_("Ce moment est avant la naissance du patient."),
    "is after the patient's death": N_("Ce moment est après le décès du patient."),
    "the patient already has a stay in progress": N_("Le patient a déjà un séjour en cours."),
    "is before the patient entered the current unit": N_(
        "Ce moment est avant l'entrée du patient dans son unité actuelle."
    ),
    "is before the admission or the last transfer": N_(
        "Ce moment est avant l'admission ou la dernière mutation."
    ),
    "the patient is already in that unit and bed": N_(
        "Le patient est déjà dans cette unité et ce lit."
    ),
    "this encounter is not a stay in progress": N_("Ce séjour n'est plus en cours."),
    "must be a physician or a midwife": N_("Le responsable doit être médecin ou sage-femme."),
    "belongs to another establishment": N_("Cette unité appartient à un autre établissement."),
    "is required": N_("Ce champ est obligatoire."),
}
PREFIXES = {
    "overlaps the patient's stay": N_("Ce moment chevauche un autre séjour du patient."),
    "bed ": N_("Ce lit est occupé."),
    "is longer than": N_("Texte trop long."),
}
REFUSED = N_("Vos rôles ne vous permettent pas d'enregistrer les séjours de ce patient.")
NO_WARD = N_("Vos rôles ne vous permettent pas de consulter les séjours de cette unité.")


def _french(exc: HygieError) -> str:
    """The refusal in the page's words (the catalogue translates them back to English)."""
    if isinstance(exc, AccessDenied):
        return REFUSED
    if exc.message in MESSAGES:
        return MESSAGES[exc.message]
    found = next((said for start, said in PREFIXES.items() if exc.message.startswith(start)), None)
    return found or exc.message


def _refused(form: FormState, exc: HygieError) -> int:
    """Put the refusal next to its field; the status the form is answered with."""
    if isinstance(exc, Contained):  # containment answers with its own page and headers
        raise exc
    form.refused(HygieError(_french(exc), field=exc.field))
    return 409 if isinstance(exc, ConflictError) else 403 if isinstance(exc, AccessDenied) else 422


def _now_text(user: User) -> str:
    return user.now.astimezone(PARIS).strftime(MOMENT)


def _moment(form: FormState, name: str) -> datetime | None:
    """A Paris date and time typed as JJ/MM/AAAA HH:MM (or sent by a datetime-local input),
    in UTC."""
    value = form.get(name)
    if not value:
        form.fail(name, N_("Ce champ est obligatoire."))
        return None
    for pattern in (MOMENT, "%Y-%m-%dT%H:%M"):
        try:
            typed = datetime.strptime(value, pattern)  # noqa: DTZ007 - a Paris wall clock
        except ValueError:
            continue
        return typed.replace(tzinfo=PARIS).astimezone(UTC)
    form.fail(name, BAD_MOMENT)
    return None


def _choice(form: FormState, name: str, allowed: set[int]) -> int | None:
    """An id chosen from a list the page offered (anything else is refused here)."""
    picked = form.number(name, required=True, low=1)
    if picked is not None and picked not in allowed:
        form.fail(name, NOT_A_CHOICE)
        return None
    return picked


def _unit_choices(units: list[ward_views.Unit]) -> list[tuple[int, str]]:
    return [(u.id, f"{u.name} ({u.code})") for u in units]


# --- the ward list --------------------------------------------------------------------------
@router.get("/stays")
def ward_list(
    request: Request,
    user: Viewer,
    department: QueryId = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    units = ward_views.units(user.db, user.actor)
    ward = None
    if department is not None:
        try:
            ward = ward_views.ward(user.db, user.actor, department)
        except AccessDenied:
            return error_page(request, 403, NO_WARD)
    return page(
        "stays/ward.html", request=request, user=user, units=units, ward=ward,
        unit_choices=_unit_choices(units), chosen=state({"department": department}),
        done=DONE.get(done or ""),
    )  # fmt: skip


# --- admission ------------------------------------------------------------------------------
def _admission_page(request: Request, user: User, patient: int, form: FormState | None = None,
                    status: int = 200) -> Response:  # fmt: skip
    try:
        offer = ward_views.admission(user.db, user.actor, patient, now=user.now)
    except AccessDenied:
        return error_page(request, 403, REFUSED)
    form = form or state({"at": _now_text(user)})
    return _admission_form(request, user, offer, form, status)


def _admission_form(request: Request, user: User, offer: ward_views.Admission, form: FormState,
                    status: int) -> Response:  # fmt: skip
    places = {u.establishment_id for u in offer.units}
    doctors = {d.id: d.name for est in sorted(places) for d in offer.physicians.get(est, [])}
    return page(
        "stays/admit.html", request=request, user=user, status=status, offer=offer, form=form,
        units=_unit_choices(offer.units),
        physicians=sorted(doctors.items(), key=lambda kv: kv[1]),
    )  # fmt: skip


@router.get("/stays/admit")
def admission_form(request: Request, user: Viewer, patient: Annotated[int, Query(ge=1, le=2**31 - 1)]) -> Response:  # fmt: skip
    return _admission_page(request, user, patient)


@router.post("/stays/admit")
def admit(request: Request, user: Editor, form: Submitted,
          patient: Annotated[int, Query(ge=1, le=2**31 - 1)]) -> Response:  # fmt: skip
    try:
        offer = ward_views.admission(user.db, user.actor, patient, now=user.now)
    except AccessDenied:
        return error_page(request, 403, REFUSED)
    units = {u.id: u for u in offer.units}
    unit_id = _choice(form, "department_id", set(units))
    doctors = {d.id for est in {u.establishment_id for u in offer.units}
               for d in offer.physicians.get(est, [])}  # fmt: skip
    responsible = _choice(form, "responsible_id", doctors)
    at = _moment(form, "at")
    reason = form.text("reason", required=True, limit=200)
    bed = form.text("bed", limit=20)
    if not form.ok or unit_id is None or responsible is None or at is None or reason is None:
        return _admission_form(request, user, offer, form, 422)
    unit = units[unit_id]
    try:
        writes.admit(
            user.db, user.actor, patient_id=patient, establishment_id=unit.establishment_id,
            department_id=unit.id, responsible_id=responsible, at=at, reason=reason, bed=bed,
            now=user.now,
        )  # fmt: skip
    except HygieError as exc:
        status = _refused(form, exc)
        return _admission_form(request, user, offer, form, status)
    return RedirectResponse(f"/stays?department={unit.id}&done=admitted", status_code=303)


# --- transfer and discharge -----------------------------------------------------------------
def _stay_page(request: Request, user: User, template: str, stay: ward_views.StayView,
               form: FormState, status: int = 200, **values: Any) -> Response:  # fmt: skip
    return page(f"stays/{template}", request=request, user=user, status=status, stay=stay,
                form=form, **values)  # fmt: skip


def _transfer_choices(stay: ward_views.StayView) -> list[tuple[int, str]]:
    return _unit_choices([u for u in stay.units if u.id != stay.unit.id])


@router.get("/stays/{stay_id}/transfer")
def transfer_form(request: Request, user: Viewer, stay_id: Id) -> Response:
    stay = ward_views.current_stay(user.db, user.actor, stay_id)
    form = state({"at": _now_text(user)})
    return _stay_page(request, user, "transfer.html", stay, form, units=_transfer_choices(stay))


@router.post("/stays/{stay_id}/transfer")
def transfer(request: Request, user: Editor, stay_id: Id, form: Submitted) -> Response:
    stay = ward_views.current_stay(user.db, user.actor, stay_id)
    choices = _transfer_choices(stay)
    unit_id = _choice(form, "department_id", {u for u, _ in choices} | {stay.unit.id})
    at = _moment(form, "at")
    bed = form.text("bed", limit=20)
    status = 422
    if form.ok and unit_id is not None and at is not None:
        try:
            writes.transfer(user.db, user.actor, encounter_id=stay_id, department_id=unit_id,
                            at=at, bed=bed, now=user.now)  # fmt: skip
        except HygieError as exc:
            status = _refused(form, exc)
        else:
            return RedirectResponse(
                f"/stays?department={unit_id}&done=transferred", status_code=303
            )
    return _stay_page(request, user, "transfer.html", stay, form, status, units=choices)


def _destinations() -> list[tuple[str, str]]:
    return list(DESTINATIONS.items())


@router.get("/stays/{stay_id}/discharge")
def discharge_form(request: Request, user: Viewer, stay_id: Id) -> Response:
    stay = ward_views.current_stay(user.db, user.actor, stay_id)
    form = state({"at": _now_text(user), "destination": "home"})
    return _stay_page(request, user, "discharge.html", stay, form, destinations=_destinations())


@router.post("/stays/{stay_id}/discharge")
def discharge(request: Request, user: Editor, stay_id: Id, form: Submitted) -> Response:
    stay = ward_views.current_stay(user.db, user.actor, stay_id)
    at = _moment(form, "at")
    destination = form.get("destination")
    if destination not in DESTINATIONS:
        form.fail("destination", NOT_A_CHOICE)
    status = 422
    if form.ok and at is not None:
        try:
            writes.discharge(user.db, user.actor, encounter_id=stay_id, at=at,
                             destination=destination, now=user.now)  # fmt: skip
        except HygieError as exc:
            status = _refused(form, exc)
        else:
            return RedirectResponse(
                f"/stays?department={stay.unit.id}&done=discharged", status_code=303
            )
    return _stay_page(request, user, "discharge.html", stay, form, status,
                      destinations=_destinations())  # fmt: skip
