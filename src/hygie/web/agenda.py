"""Pages: agenda — a practitioner's day and week, booking, moving and cancelling an
appointment, and reception's day list of the establishment (arrivals).

Every read and write goes through the gate: ``agenda_views`` for what the screens show
(appointments with their patients' identity summaries, the physicians one may book, a
booking form decided as the booking itself), ``records.read_item`` for one appointment,
``writes`` for the changes (their conflict checks: the practitioner or the patient already
booked). Days and times are typed and shown in Paris time and handed to the gate in UTC. A
refusal re-renders the form with what was typed and the message next to its field (409 for
a conflict); a success goes back to the practitioner's day (post/redirect/get)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from hygie.access import agenda_views, records, writes
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
PatientParam = Annotated[int, Query(ge=1, le=2**31 - 1)]
Day = Annotated[date | None, Query()]
View = Annotated[str, Query(max_length=4, pattern="^(day|week)$")]
Done = Annotated[str | None, Query(max_length=20)]
DEFAULT_DURATION = 20
WEEKDAYS = (N_("lundi"), N_("mardi"), N_("mercredi"), N_("jeudi"), N_("vendredi"),
            N_("samedi"), N_("dimanche"))  # fmt: skip
NOT_A_CHOICE = N_("Choisissez une valeur de la liste.")
REFUSED = N_("Vos rôles ne vous permettent pas de gérer les rendez-vous de ce patient.")
NO_AGENDA = N_("Vos rôles ne vous permettent pas de consulter les agendas.")
NO_SHARED_PLACE = N_("Ce praticien n'exerce pas dans un établissement où le patient a un dossier.")
DONE = {
    "booked": N_("Rendez-vous enregistré."),
    "moved": N_("Rendez-vous déplacé."),
    "cancelled": N_("Rendez-vous annulé."),
    "arrived": N_("Arrivée enregistrée."),
}
# The scheduling service speaks English; the forms say the same in French.
MESSAGES = {
    "is in the past": N_("Ce moment est déjà passé."),
    "is too far in the past or the future": N_("Ce moment est trop éloigné d'aujourd'hui."),
    "has no clinical habilitation in this establishment on that day": N_(
        "Ce praticien n'exerce pas dans cet établissement ce jour-là."
    ),
    "a patient can only arrive on the day of the appointment": N_(
        "Un patient n'arrive que le jour de son rendez-vous."
    ),
    "is required": N_("Ce champ est obligatoire."),
}
PREFIXES = {
    "the practitioner already has appointment": N_(
        "Le praticien a déjà un rendez-vous sur ce créneau."
    ),
    "the patient already has appointment": N_("Le patient a déjà un rendez-vous sur ce créneau."),
    "must be between": N_("Durée hors des limites permises."),
    "only a booked appointment": N_("Seul un rendez-vous prévu peut être modifié."),
    "an appointment that is": N_("Ce rendez-vous ne peut plus changer de statut."),
    "is longer than": N_("Texte trop long."),
}


def _french(exc: HygieError) -> str:
    if isinstance(exc, AccessDenied):
        return REFUSED
    if exc.message in MESSAGES:
        return MESSAGES[exc.message]
    found = next((said for start, said in PREFIXES.items() if exc.message.startswith(start)), None)
    return found or exc.message


def _refused(form: FormState, exc: HygieError, fields: dict[str, str]) -> int:
    """Put the refusal next to its field; the status the form is answered with."""
    if isinstance(exc, Contained):  # containment answers with its own page and headers
        raise exc
    form.refused(HygieError(_french(exc), field=exc.field), fields)
    return 409 if isinstance(exc, ConflictError) else 403 if isinstance(exc, AccessDenied) else 422


def _today(user: User) -> date:
    return user.now.astimezone(PARIS).date()


def _moment(form: FormState, day_field: str, time_field: str) -> datetime | None:
    """A Paris day and wall-clock time from two fields, in UTC."""
    day, clock = form.day(day_field, required=True), form.clock(time_field, required=True)
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock.replace(tzinfo=None), tzinfo=PARIS).astimezone(UTC)


def _day_name(day: date) -> str:
    return WEEKDAYS[day.weekday()]


def _agenda_link(practitioner: int, day: date, done: str, view: str = "day") -> str:
    return f"/agenda?practitioner={practitioner}&day={day.isoformat()}&view={view}&done={done}"


# --- a practitioner's day or week -----------------------------------------------------------
def _period(day: date, view: str) -> tuple[date, date, date, date]:
    """The period shown (start, end) and the previous and next ones' first days."""
    if view == "week":
        start = day - timedelta(days=day.weekday())
        return (
            start,
            start + timedelta(days=7),
            start - timedelta(days=7),
            start + timedelta(days=7),
        )
    return day, day + timedelta(days=1), day - timedelta(days=1), day + timedelta(days=1)


def _by_day(found: list[agenda_views.Booking], start: date, end: date) -> list[tuple[date, list[agenda_views.Booking]]]:  # fmt: skip
    days = [start + timedelta(days=n) for n in range((end - start).days)]
    return [(d, [b for b in found if b.start_at.astimezone(PARIS).date() == d]) for d in days]


@router.get("/agenda")
def agenda(
    request: Request, user: Viewer, practitioner: QueryId = None, day: Day = None,
    view: View = "day", done: Done = None,
) -> Response:  # fmt: skip
    doctors = agenda_views.practitioners(user.db, user.actor, today=_today(user))
    ids = {d.id for d in doctors}
    if practitioner is None and user.actor.professional_id in ids:
        practitioner = user.actor.professional_id  # a physician opens their own agenda
    shown = day or _today(user)
    start, end, before, after = _period(shown, view)
    days = None
    if practitioner is not None:
        try:
            found = agenda_views.agenda(user.db, user.actor, start=start, end=end,
                                        practitioner_id=practitioner)  # fmt: skip
        except AccessDenied:
            return error_page(request, 403, NO_AGENDA)
        days = _by_day(found, start, end)
    chosen = next((d for d in doctors if d.id == practitioner), None)
    return page(
        "agenda/agenda.html", request=request, user=user, chosen=chosen,
        doctor_choices=[(d.id, d.name) for d in doctors],
        picker=state({"practitioner": practitioner, "day": shown.isoformat(), "view": view}),
        practitioner=practitioner, view=view, start=start, end=end, before=before, after=after,
        days=days, day_name=_day_name, done=DONE.get(done or ""), today=_today(user),
        can_book=_may_book(user),
    )  # fmt: skip


def _may_book(user: User) -> bool:
    return bool(user.roles & {"physician", "secretary"})  # what the page offers; the gate decides


# --- booking --------------------------------------------------------------------------------
def _booking_page(request: Request, user: User, offer: agenda_views.BookingOffer,
                  form: FormState, status: int = 200) -> Response:  # fmt: skip
    return page(
        "agenda/book.html", request=request, user=user, status=status, offer=offer, form=form,
        doctors=[(d.id, d.name) for d in offer.practitioners],
    )  # fmt: skip


def _offer(request: Request, user: User, patient: int) -> agenda_views.BookingOffer | Response:
    try:
        return agenda_views.booking(user.db, user.actor, patient, now=user.now)
    except AccessDenied:
        return error_page(request, 403, REFUSED)


@router.get("/agenda/book")
def booking_form(request: Request, user: Viewer, patient: PatientParam) -> Response:
    offer = _offer(request, user, patient)
    if isinstance(offer, Response):
        return offer
    own = user.actor.professional_id
    form = state({
        "practitioner_id": own if own in {d.id for d in offer.practitioners} else None,
        "day": _today(user).isoformat(), "time": "", "duration_min": DEFAULT_DURATION,
        "reason": "",
    })  # fmt: skip
    return _booking_page(request, user, offer, form)


@router.post("/agenda/book")
def book(request: Request, user: Editor, form: Submitted, patient: PatientParam) -> Response:
    offer = _offer(request, user, patient)
    if isinstance(offer, Response):
        return offer
    doctors = {d.id: d for d in offer.practitioners}
    picked = form.number("practitioner_id", required=True, low=1)
    if picked is not None and picked not in doctors:
        form.fail("practitioner_id", NOT_A_CHOICE)
    start_at = _moment(form, "day", "time")
    duration = form.number("duration_min", required=True, low=1, high=24 * 60)
    reason = form.text("reason", required=True, limit=200)
    if not form.ok or picked is None or start_at is None or duration is None or reason is None:
        return _booking_page(request, user, offer, form, 422)
    places = set(doctors[picked].establishment_ids) & set(offer.patient.establishment_ids)
    if not places:
        form.fail("practitioner_id", NO_SHARED_PLACE)
        return _booking_page(request, user, offer, form, 422)
    try:
        writes.book_appointment(
            user.db, user.actor, patient_id=patient, establishment_id=min(places),
            practitioner_id=picked, start_at=start_at, duration_min=duration, reason=reason,
            now=user.now,
        )  # fmt: skip
    except HygieError as exc:
        status = _refused(form, exc, {"start_at": "time", "establishment_id": "practitioner_id"})
        return _booking_page(request, user, offer, form, status)
    day = start_at.astimezone(PARIS).date()
    return RedirectResponse(_agenda_link(picked, day, "booked"), status_code=303)


# --- moving and cancelling ------------------------------------------------------------------
def _appointment(user: User, appointment_id: int) -> dict[str, Any]:
    """One appointment, read through the gate as its chart block (recorded)."""
    _chart, item = records.read_item(user.db, user.actor, kind="appointment",
                                     item_id=appointment_id, action="appointment.read")  # fmt: skip
    start = datetime.fromisoformat(item["start_at"])
    doctors = agenda_views.practitioners(user.db, user.actor, today=_today(user))
    names = {d.id: d.name for d in doctors}
    return {**item, "start": start, "practitioner": names.get(item["practitioner_id"], "")}


def _change_page(request: Request, user: User, name: str, item: dict[str, Any],
                 form: FormState, status: int = 200) -> Response:  # fmt: skip
    return page(f"agenda/{name}.html", request=request, user=user, status=status, item=item,
                form=form)  # fmt: skip


@router.get("/agenda/appointments/{appointment_id}/move")
def move_form(request: Request, user: Viewer, appointment_id: Id) -> Response:
    item = _appointment(user, appointment_id)
    local = item["start"].astimezone(PARIS)
    form = state({"new_day": local.date().isoformat(), "new_time": local.strftime("%H:%M"),
                  "new_duration_min": item["duration_min"]})  # fmt: skip
    return _change_page(request, user, "move", item, form)


@router.post("/agenda/appointments/{appointment_id}/move")
def move(request: Request, user: Editor, form: Submitted, appointment_id: Id) -> Response:
    item = _appointment(user, appointment_id)
    start_at = _moment(form, "new_day", "new_time")
    duration = form.number("new_duration_min", required=True, low=1, high=24 * 60)
    if not form.ok or start_at is None:
        return _change_page(request, user, "move", item, form, 422)
    try:
        writes.move_appointment(user.db, user.actor, appointment_id=appointment_id,
                                new_start_at=start_at, new_duration_min=duration, now=user.now)  # fmt: skip
    except HygieError as exc:
        fields = {"start_at": "new_time", "duration_min": "new_duration_min"}
        return _change_page(request, user, "move", item, form, _refused(form, exc, fields))
    day = start_at.astimezone(PARIS).date()
    return RedirectResponse(_agenda_link(item["practitioner_id"], day, "moved"), status_code=303)


@router.get("/agenda/appointments/{appointment_id}/cancel")
def cancel_form(request: Request, user: Viewer, appointment_id: Id) -> Response:
    item = _appointment(user, appointment_id)
    return _change_page(request, user, "cancel", item, state({"reason": ""}))


@router.post("/agenda/appointments/{appointment_id}/cancel")
def cancel(request: Request, user: Editor, form: Submitted, appointment_id: Id) -> Response:
    item = _appointment(user, appointment_id)
    reason = form.text("reason", required=True, limit=500)
    if reason is None:
        return _change_page(request, user, "cancel", item, form, 422)
    try:
        writes.cancel_appointment(user.db, user.actor, appointment_id=appointment_id,
                                  reason=reason)  # fmt: skip
    except HygieError as exc:
        return _change_page(request, user, "cancel", item, form, _refused(form, exc, {}))
    day = item["start"].astimezone(PARIS).date()
    return RedirectResponse(_agenda_link(item["practitioner_id"], day, "cancelled"),
                            status_code=303)  # fmt: skip


# --- reception: the establishment's day list ------------------------------------------------
def _day_list(user: User, day: date) -> list[agenda_views.Booking]:
    return agenda_views.agenda(user.db, user.actor, start=day, end=day + timedelta(days=1),
                               with_reason=False, action="appointment.day_list")  # fmt: skip


def _reception_page(request: Request, user: User, day: date, *, status: int = 200,
                    done: str | None = None, errors: dict[int, str] | None = None) -> Response:  # fmt: skip
    try:
        found = _day_list(user, day)
    except AccessDenied:
        return error_page(request, 403, NO_AGENDA)
    return page(
        "agenda/reception.html", request=request, user=user, status=status, day=day,
        found=found, before=day - timedelta(days=1), after=day + timedelta(days=1),
        day_name=_day_name, done=DONE.get(done or ""), errors=errors or {},
        picker=state({"day": day.isoformat()}), today=_today(user),
    )  # fmt: skip


@router.get("/reception")
def reception(request: Request, user: Viewer, day: Day = None, done: Done = None) -> Response:
    return _reception_page(request, user, day or _today(user), done=done)


@router.post("/reception/appointments/{appointment_id}/arrived")
def arrived(request: Request, user: Editor, form: Submitted, appointment_id: Id) -> Response:
    day = form.day("day") or _today(user)
    htmx = request.headers.get("hx-request") == "true"
    error: str | None = None
    try:
        writes.set_appointment_status(user.db, user.actor, appointment_id=appointment_id,
                                      status="arrived", now=user.now)  # fmt: skip
    except HygieError as exc:
        if isinstance(exc, Contained):
            raise
        error = _french(exc)
    if not htmx:
        if error is not None:
            return _reception_page(request, user, day, status=409,
                                   errors={appointment_id: error})  # fmt: skip
        return RedirectResponse(f"/reception?day={day.isoformat()}&done=arrived", status_code=303)
    # HTMX swaps the row alone (answered 200 even on a refusal: it carries the message).
    row = next((b for b in _day_list(user, day) if b.id == appointment_id), None)
    if row is None:
        return error_page(request, 404, N_("Ce rendez-vous n'est pas sur la liste de ce jour."))
    return page("agenda/_arrival.html", request=request, user=user, b=row, day=day,
                error=error)  # fmt: skip
