"""Pages: patients — the search (identity summaries only) and a new patient (with a
duplicate warning).

Both go through the gate: ``records.find_patients`` searches (recorded, every patient
returned named), ``writes.create_patient`` creates. Before creating, the page searches the
gate for the same birth name and birth date (or the same NIR): if it finds anyone, the
form comes back with them listed and is sent again only once the person at the desk ticks
that the new patient is someone else (identity vigilance: a duplicate is cheaper avoided
than merged)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from hygie.access import directory, records, writes
from hygie.access.containment import Contained
from hygie.access.gateway import NIR_ROLES, AccessDenied, PatientSummary
from hygie.access.policy import decide
from hygie.errors import ConflictError, HygieError, ValidationError
from hygie.kit.text import search_key
from hygie.web.forms import FormState, Submitted, state
from hygie.web.labels import N_
from hygie.web.render import page
from hygie.web.session import Editor, User, Viewer

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Query(max_length=100)]
PAGE = 20
SEXES = ("female", "male", "unknown")
STATUSES = ("provisional", "validated", "retrieved", "qualified")
CONTACT = ("address_line", "postal_code", "city", "phone_mobile", "email")
CONFIRM = "confirm_other"
SHORT = N_("Saisissez au moins deux lettres du nom, ou un NIR.")
BAD_NIR = N_("NIR invalide : 13 chiffres et une clé de 2 chiffres.")
REFUSED = N_("Vos rôles ne vous permettent pas de créer un patient.")
NOT_A_CHOICE = N_("Choisissez une valeur de la liste.")
DUPLICATES = N_("Cochez la case pour confirmer qu'il s'agit d'un autre patient.")
# The services speak English; the form says the same in French (the catalogue translates
# back to English).
MESSAGES = {
    "is in the future": N_("Cette date est dans le futur."),
    "must be female, male or unknown": NOT_A_CHOICE,
    "at least one birth first name is required": N_("Au moins un prénom de naissance."),
    "is not an e-mail address": N_("Adresse électronique invalide."),
    "is not a postal code (5 digits)": N_("Code postal invalide (5 chiffres)."),
    "is required": N_("Ce champ est obligatoire."),
    "is not an INSEE code (5 characters: a commune, or 99xxx for a country)": N_(
        "Code INSEE invalide (5 caractères : une commune, ou 99xxx pour un pays)."
    ),
}
PREFIXES = {
    "is before ": N_("Cette date est trop ancienne."),
    "an identity with this NIR already exists": N_("Une identité porte déjà ce NIR."),
    "a retrieved identity needs its INS": N_("Une identité récupérée porte son INS (NIR)."),
    "a qualified identity needs its INS": N_("Une identité qualifiée porte son INS (NIR)."),
    "a retrieved identity needs its birth place": N_(
        "Une identité récupérée porte son lieu de naissance."
    ),
    "a qualified identity needs its birth place": N_(
        "Une identité qualifiée porte son lieu de naissance."
    ),
    "says ": N_("Le NIR ne correspond pas au sexe, à la date ou au lieu de naissance."),
    "is longer than": N_("Texte trop long."),
}


def _french(exc: HygieError) -> str:
    if isinstance(exc, AccessDenied):
        return REFUSED
    if exc.message in MESSAGES:
        return MESSAGES[exc.message]
    found = next((said for start, said in PREFIXES.items() if exc.message.startswith(start)), None)
    if found is None and exc.field == "nir":
        return BAD_NIR
    return found or exc.message


def _may(user: User, action: str, category: str) -> frozenset[int]:
    """The user's establishments where one of their roles may ``action`` ``category`` (what
    the page offers; the gate decides again on every call)."""
    return frozenset(
        est for est, roles in user.actor.roles.items()
        if any(decide(role=r.value, action=action, category=category, in_scope=True,
                      care_relationship=None, break_glass=False).allowed for r in roles)
    )  # fmt: skip


def _by_nir(user: User) -> bool:
    return bool(user.roles & {r.value for r in NIR_ROLES})


# --- the search -------------------------------------------------------------------------------
def _search(user: User, form: FormState) -> list[PatientSummary] | None:
    """The patients matching the form, or None when the form asks for nothing yet or was
    refused (the message is then next to its field)."""
    if not any(form.values.values()):
        return None
    born = form.day("birth_date")
    name, nir = form.get("name"), form.get("nir")
    if not nir and len(search_key(name).replace(" ", "")) < 2:
        form.fail("name", SHORT)
    if not form.ok:
        return None
    query = records.PatientQuery(
        name=name or None, given=form.get("first_name") or None, birth_date=born,
        nir=nir or None,
    )  # fmt: skip
    try:
        return records.find_patients(user.db, user.actor, query, count=PAGE).patients
    except ValidationError as exc:
        form.refused(HygieError(_french(exc) if exc.field == "nir" else SHORT,
                                field="nir" if exc.field == "nir" else "name"))  # fmt: skip
        return None


@router.get("/patients")
def search(
    request: Request, user: Viewer, name: Text = "", first_name: Text = "",
    birth_date: Annotated[str, Query(max_length=10)] = "", nir: Annotated[str, Query(max_length=30)] = "",
) -> Response:  # fmt: skip
    typed = {"name": name, "first_name": first_name, "birth_date": birth_date}
    if _by_nir(user):
        typed["nir"] = nir
    form = state({k: v.strip() for k, v in typed.items()})
    found = _search(user, form)
    # HTMX's own search wants the fragment; its history restore (back button) the page.
    htmx = request.headers.get("hx-request") == "true" and (
        request.headers.get("hx-history-restore-request") != "true"
    )
    # A refused search is a 422 page; HTMX swaps only successful answers, so its fragment
    # carries the message with a 200.
    status = 200 if form.ok or htmx else 422
    return page(
        "patients/_search.html" if htmx else "patients/search.html", request=request,
        user=user, status=status, form=form, found=found, by_nir=_by_nir(user),
        can_book=bool(_may(user, "write", "appointments")),
    )  # fmt: skip


# --- a new patient ----------------------------------------------------------------------------
def _places(user: User) -> list[tuple[int, str]]:
    names = directory.establishments(user.db)
    return [(e, names[e].name if e in names else f"#{e}")
            for e in sorted(_may(user, "write", "identity"))]  # fmt: skip


def _form_page(request: Request, user: User, form: FormState, *, status: int = 200,
               duplicates: list[PatientSummary] | None = None) -> Response:  # fmt: skip
    return page(
        "patients/new.html", request=request, user=user, status=status, form=form,
        places=_places(user), duplicates=duplicates or [], sexes=SEXES, statuses=STATUSES,
        by_nir=_by_nir(user), confirm=CONFIRM,
    )  # fmt: skip


@router.get("/patients/new")
def new_patient(request: Request, user: Viewer) -> Response:
    places = _places(user)
    form = state({"identity_status": "provisional",
                  "establishment_id": places[0][0] if len(places) == 1 else ""})  # fmt: skip
    return _form_page(request, user, form)


def _read(form: FormState, places: set[int]) -> dict[str, Any] | None:
    """The service's parameters from the form, or None if something is missing or malformed."""
    est = form.number("establishment_id", required=True, low=1)
    if est is not None and est not in places:
        form.fail("establishment_id", NOT_A_CHOICE)
    birth_name = form.text("birth_name", required=True, limit=100)
    first_names = form.text("birth_first_names", required=True, limit=200)
    born = form.day("birth_date", required=True)
    sex = form.get("sex")
    if sex not in SEXES:
        form.fail("sex", NOT_A_CHOICE if sex else N_("Ce champ est obligatoire."))
    status = form.get("identity_status") or "provisional"
    if status not in STATUSES:
        form.fail("identity_status", NOT_A_CHOICE)
    contact = {k: form.text(k, limit=200) for k in CONTACT}
    if not form.ok or birth_name is None or first_names is None or born is None:
        return None
    return {
        "establishment_id": est, "birth_name": birth_name,
        "birth_first_names": first_names.split(), "sex": sex, "birth_date": born,
        "nir": form.text("nir", limit=30), "birth_place_code": form.text("birth_place_code", limit=5),
        "used_name": form.text("used_name", limit=100), "identity_status": status,
        "contact": writes.Contact(**contact) if any(contact.values()) else None,
    }  # fmt: skip


def _duplicates(user: User, fields: dict[str, Any]) -> list[PatientSummary]:
    """Patients of the user's establishments with the same birth name and birth date, or
    the same NIR (each search recorded like any other)."""
    same: dict[int, PatientSummary] = {}
    key = search_key(fields["birth_name"])
    queries = [records.PatientQuery(family=fields["birth_name"], birth_date=fields["birth_date"])]
    if fields["nir"]:
        queries.append(records.PatientQuery(nir=fields["nir"]))
    for query in queries:
        try:
            found = records.find_patients(user.db, user.actor, query, count=PAGE).patients
        except ValidationError:
            continue  # a one-letter name or a malformed NIR: the creation says why
        for p in found:
            if query.nir is not None or search_key(p.birth_name) == key:
                same[p.id] = p
    return list(same.values())


def _refused(form: FormState, exc: HygieError) -> int:
    if isinstance(exc, Contained):  # containment answers with its own page and headers
        raise exc
    form.refused(HygieError(_french(exc), field=exc.field),
                 {"birth_first_names": "birth_first_names"})  # fmt: skip
    return 409 if isinstance(exc, ConflictError) else 403 if isinstance(exc, AccessDenied) else 422


@router.post("/patients/new")
def create(request: Request, user: Editor, form: Submitted) -> Response:
    fields = _read(form, {e for e, _ in _places(user)})
    if fields is None:
        return _form_page(request, user, form, status=422)
    if form.get(CONFIRM) != "yes":
        same = _duplicates(user, fields)
        if same:
            form.fail(CONFIRM, DUPLICATES)
            return _form_page(request, user, form, status=409, duplicates=same)
    try:
        created = writes.create_patient(user.db, user.actor, **fields)
    except HygieError as exc:
        return _form_page(request, user, form, status=_refused(form, exc))
    return RedirectResponse(f"/patients/{created.patient.id}", status_code=303)
