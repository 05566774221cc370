"""The security officer's console: live alerts with their evidence, an account's day
against its norm (with a plot drawn on the server), the audit search, a patient's access
history printed for the patient, the break-the-glass review queue, the locked accounts and
the bulk exports awaiting a second person's approval.

Every read and every verdict goes through the gate (``access.alerts``,
``access.console_views``, ``access.audit_search``, ``access.history``, ``access.exports``):
it decides that the actor is a security officer of the establishments concerned and
records each look. Lists name no patient; a patient is named on their access history only."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from hygie.access import alerts, console_views, directory, exports, history
from hygie.access.audit_search import OUTCOMES
from hygie.access.console_views import ConsoleQuery
from hygie.access.gateway import AccessDenied
from hygie.errors import ConflictError, HygieError, ValidationError
from hygie.kit import plots
from hygie.kit.time import PARIS, local_date
from hygie.web.actions import ACTIONS
from hygie.web.forms import FormState, Submitted, state
from hygie.web.labels import N_
from hygie.web.render import page
from hygie.web.session import Editor, User, Viewer

router = APIRouter(include_in_schema=False)
MAX_ID = 2**31 - 1
PER_PAGE = 20
MIN_REASON = alerts.MIN_REASON
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Username = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Day = Annotated[str, Query(max_length=10)]

TOO_SHORT = N_("Expliquez en au moins 10 caractères.")
UNKNOWN_OUTCOME = N_("Résultat inconnu : choisissez-en un dans la liste.")
PERIOD = N_("La fin de la période précède son début.")
VERDICT = N_("Choisissez un verdict : justifié ou non justifié.")
# The gate's refusals a console form meets, said in French (by the field they concern).
CONFLICTS = {
    "alert_id": N_("Cette alerte est déjà clôturée."),
    "username": N_("Ce compte n'est pas bloqué, ou c'est le vôtre : un autre responsable le débloque."),
    "grant_id": N_("Ce bris de glace a déjà été revu, ou c'est le vôtre : un autre responsable le revoit."),
    "export": N_("Cette demande n'est plus en attente d'approbation."),
}  # fmt: skip
FOUR_EYES = N_("Quatre yeux : une autre personne que le demandeur doit décider de cet export.")
DONE = {
    "closed": N_("L'alerte est clôturée."),
    "unlocked": N_("Le compte est débloqué : son titulaire se reconnecte (ses sessions restent révoquées)."),
    "reviewed": N_("Le verdict est enregistré."),
    "approved": N_("L'export est approuvé : son demandeur peut le télécharger une fois."),
    "refused": N_("L'export est refusé."),
}  # fmt: skip
RESPONSES = {
    "alert": N_("Alerte"),
    "step_up": N_("Confirmation d'identité demandée"),
    "slow": N_("Ralenti"),
    "contain": N_("Compte bloqué"),
}
SEVERITIES = {
    "info": N_("Information"),
    "warning": N_("Attention"),
    "high": N_("Élevée"),
    "critical": N_("Critique"),
}
STATUSES = {"open": N_("Ouverte"), "closed": N_("Clôturée")}
OUTCOME_LABELS = {
    "allowed": N_("Autorisé"),
    "denied": N_("Refusé"),
    "failed": N_("Échoué"),
    "contained": N_("Bloqué par le confinement"),
}
VERDICTS = {"justified": N_("Justifié"), "unjustified": N_("Non justifié")}
LABELS = {"responses": RESPONSES, "severities": SEVERITIES, "statuses": STATUSES,
          "outcomes": OUTCOME_LABELS, "verdicts": VERDICTS}  # fmt: skip


def _show(name: str, request: Request, user: User, **values: Any) -> Response:
    return page(name, request=request, user=user, labels=LABELS, **values)


def _status(exc: HygieError) -> int:
    if isinstance(exc, ConflictError):
        return 409
    return 403 if isinstance(exc, AccessDenied) else 422


def _refused(form: FormState, exc: HygieError) -> int:
    """The gate's refusal next to its field, in French; the answer's status."""
    if isinstance(exc, ConflictError) and exc.field in CONFLICTS:
        form.fail("", CONFLICTS[exc.field or ""])
    elif isinstance(exc, AccessDenied) and "four eyes" in exc.message:
        form.fail("", FOUR_EYES)
    elif isinstance(exc, ValidationError) and exc.field in ("reason", "comment"):
        form.fail(exc.field or "", TOO_SHORT)
    else:
        form.refused(exc)
    return _status(exc)


def _reason(form: FormState, name: str, *, least: int = MIN_REASON) -> str | None:
    text = form.text(name, required=True, limit=1000)
    if text is not None and len(text) < least:
        form.fail(name, TOO_SHORT)
        return None
    return text


def _places(user: User) -> dict[int, str]:
    return {i: p.name for i, p in directory.establishments(user.db).items()}


def _paris_day(day: date) -> tuple[datetime, datetime]:
    """A Paris calendar day as a UTC period, start included, end excluded."""
    start = datetime.combine(day, time(0), tzinfo=PARIS)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=PARIS)
    return start.astimezone(UTC), end.astimezone(UTC)


# --- the console home and its alerts --------------------------------------------------------
def _alert_lines(user: User) -> list[alerts.AlertLine]:
    found = alerts.list_alerts(user.db, user.actor, status=None, limit=100)
    return sorted(found, key=lambda a: (a.status != "open", -a.id))


@router.get("/security")
def console(request: Request, user: Viewer) -> Response:
    return _show("security/home.html", request, user, alerts=_alert_lines(user),
                 places=_places(user))  # fmt: skip


@router.get("/security/alerts")
def alert_list(request: Request, user: Viewer) -> Response:
    """The alerts alone, refreshed by the console every 30 seconds (HTMX)."""
    if request.headers.get("hx-request") != "true":
        return RedirectResponse("/security", status_code=303)
    return _show("security/_alerts.html", request, user, alerts=_alert_lines(user),
                 places=_places(user))  # fmt: skip


def _alert_page(request: Request, user: User, alert_id: int, *, form: FormState | None = None,
                status: int = 200, done: str | None = None) -> Response:  # fmt: skip
    alert = console_views.read_alert(user.db, user.actor, alert_id)
    return _show("security/alert.html", request, user, status=status, alert=alert,
                 form=form or state(), places=_places(user), done=DONE.get(done or ""),
                 day=local_date(alert.at).isoformat())  # fmt: skip


@router.get("/security/alerts/{alert_id}")
def alert_page(request: Request, alert_id: Id, user: Viewer,
               done: Annotated[str | None, Query(max_length=20)] = None) -> Response:  # fmt: skip
    return _alert_page(request, user, alert_id, done=done)


@router.post("/security/alerts/{alert_id}/close")
def close_alert(request: Request, alert_id: Id, user: Editor, form: Submitted) -> Response:
    comment = _reason(form, "comment")
    if comment is None:
        return _alert_page(request, user, alert_id, form=form, status=422)
    try:
        alerts.close_alert(user.db, user.actor, alert_id=alert_id, comment=comment, now=user.now)
    except HygieError as exc:
        return _alert_page(request, user, alert_id, form=form, status=_refused(form, exc))
    return RedirectResponse(f"/security/alerts/{alert_id}?done=closed", status_code=303)


# --- an account's day -----------------------------------------------------------------------
def _day(user: User, typed: str | None) -> tuple[FormState, date | None]:
    form = state({"day": typed or local_date(user.now).isoformat()})
    return form, form.day("day", required=True)


def _activity_page(request: Request, user: User, username: str, typed: str | None, *,
                   unlock: FormState | None = None, status: int = 200,
                   done: str | None = None) -> Response:  # fmt: skip
    form, day = _day(user, typed)
    if day is None:
        return _show("security/activity.html", request, user, status=422, form=form,
                     username=username, seen=None, events=None, unlock=state())  # fmt: skip
    seen = console_views.account_activity(user.db, user.actor, username=username, day=day)
    start, end = _paris_day(day)
    timeline = console_views.search_events(
        user.db, user.actor, ConsoleQuery(username=seen.username, start=start, end=end),
        count=50,
    )  # fmt: skip
    rows = list(zip(seen.activity.hours, seen.activity.records, seen.activity.summaries,
                    strict=True))  # fmt: skip
    return _show("security/activity.html", request, user, status=status, form=form,
                 username=seen.username, seen=seen, events=timeline, hourly=rows,
                 day=day.isoformat(), unlock=unlock or state(), done=DONE.get(done or ""))  # fmt: skip


@router.get("/security/accounts/{username}/activity")
def activity_page(request: Request, username: Username, user: Viewer, day: Day = "",
                  done: Annotated[str | None, Query(max_length=20)] = None) -> Response:  # fmt: skip
    return _activity_page(request, user, username, day or None, done=done)


@router.get("/security/accounts/{username}/activity.png")
def activity_plot(username: Username, user: Viewer, day: Day = "") -> Response:
    """The account's day drawn on the server: distinct patients per hour against the
    norm (officer only, recorded as ``audit.activity_plot``)."""
    _, chosen = _day(user, day or None)
    if chosen is None:
        return Response(status_code=404)
    seen = console_views.account_activity(user.db, user.actor, username=username, day=chosen,
                                          action="audit.activity_plot")  # fmt: skip
    hours = seen.activity
    png = plots.exposure_png(
        title=f"{seen.username} — {chosen.strftime('%d/%m/%Y')}", hours=hours.hours,
        records=hours.records, summaries=hours.summaries, record_norm=hours.record_norm,
        summary_norm=hours.summary_norm, contained_at=hours.contained_at, zone=PARIS,
    )  # fmt: skip
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.post("/security/accounts/{username}/unlock")
def unlock(request: Request, username: Username, user: Editor, form: Submitted) -> Response:
    back = "locked" if form.get("back") == "locked" else "activity"
    reason = _reason(form, "reason")
    status = 422
    if reason is not None:
        try:
            alerts.unlock_account(user.db, user.actor, username=username, reason=reason,
                                  now=user.now)  # fmt: skip
        except HygieError as exc:
            status = _refused(form, exc)
        else:
            target = ("/security/locked?done=unlocked" if back == "locked"
                      else f"/security/accounts/{username}/activity?done=unlocked")  # fmt: skip
            return RedirectResponse(target, status_code=303)
    if back == "locked":
        return _locked_page(request, user, refused=(username, form), status=status)
    return _activity_page(request, user, username, None, unlock=form, status=status)


# --- the locked accounts --------------------------------------------------------------------
def _locked_page(request: Request, user: User, *, refused: tuple[str, FormState] | None = None,
                 status: int = 200, done: str | None = None) -> Response:  # fmt: skip
    found = console_views.locked_accounts(user.db, user.actor)
    forms = {a.username: state() for a in found}
    if refused:
        forms[refused[0]] = refused[1]
    return _show("security/locked.html", request, user, status=status, accounts=found,
                 forms=forms, done=DONE.get(done or ""))  # fmt: skip


@router.get("/security/locked")
def locked_page(request: Request, user: Viewer,
                done: Annotated[str | None, Query(max_length=20)] = None) -> Response:  # fmt: skip
    return _locked_page(request, user, done=done)


# --- the audit search -----------------------------------------------------------------------
AUDIT_FIELDS = ("account", "patient", "start", "end", "action", "outcome")


def _audit_query(form: FormState) -> ConsoleQuery | None:
    """The search typed in the form, or None with the messages next to the fields."""
    account = form.text("account", limit=64)
    patient = form.number("patient", low=1, high=MAX_ID)
    first, last = form.day("start"), form.day("end")
    action = form.text("action", limit=64)
    outcome = form.text("outcome", limit=20)
    if outcome is not None and outcome not in OUTCOMES:
        form.fail("outcome", UNKNOWN_OUTCOME)
    if first and last and last < first:
        form.fail("end", PERIOD)
    if not form.ok:
        return None
    return ConsoleQuery(
        patient_id=patient, username=account.lower() if account else None,
        start=_paris_day(first)[0] if first else None, end=_paris_day(last)[1] if last else None,
        action=action, outcome=outcome,
    )  # fmt: skip


@router.get("/security/audit")
def audit_page(
    request: Request,
    user: Viewer,
    account: Annotated[str, Query(max_length=64)] = "",
    patient: Annotated[str, Query(max_length=12)] = "",
    start: Day = "",
    end: Day = "",
    action: Annotated[str, Query(max_length=64)] = "",
    outcome: Annotated[str, Query(max_length=20)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    typed = dict(zip(AUDIT_FIELDS, (account, patient, start, end, action, outcome), strict=True))
    form = state({k: v.strip() for k, v in typed.items()})
    asked = any(form.values.values())
    query = _audit_query(form) if asked else None
    found, status = None, 200 if form.ok else 422
    if query is not None:
        try:
            found = console_views.search_events(user.db, user.actor, query,
                                                offset=(page_number - 1) * PER_PAGE,
                                                count=PER_PAGE)  # fmt: skip
        except ValidationError as exc:
            form.refused(exc)
            status = 422
    criteria = urlencode({k: v for k, v in form.values.items() if v})
    actions = sorted(((code, label) for code, label in ACTIONS.items()), key=lambda c: c[0])
    return _show("security/audit.html", request, user, status=status, form=form, found=found,
                 page_number=page_number, per_page=PER_PAGE, criteria=criteria,
                 actions=actions, outcomes=OUTCOMES)  # fmt: skip


# --- a patient's access history -------------------------------------------------------------
@router.get("/security/patients/{patient_id}/history")
def history_page(request: Request, patient_id: Id, user: Viewer) -> Response:
    sheet = console_views.history_sheet(user.db, user.actor, patient_id)
    return _show("security/history.html", request, user, sheet=sheet)


# --- break-the-glass reviews ----------------------------------------------------------------
def _reviews_page(request: Request, user: User, *, refused: tuple[int, FormState] | None = None,
                  status: int = 200, done: str | None = None) -> Response:  # fmt: skip
    queue = console_views.review_queue(user.db, user.actor)
    forms = {g.id: state() for g in queue}
    if refused:
        forms[refused[0]] = refused[1]
    return _show("security/reviews.html", request, user, status=status, queue=queue,
                 forms=forms, places=_places(user), done=DONE.get(done or ""))  # fmt: skip


@router.get("/security/reviews")
def reviews_page(request: Request, user: Viewer,
                 done: Annotated[str | None, Query(max_length=20)] = None) -> Response:  # fmt: skip
    return _reviews_page(request, user, done=done)


@router.post("/security/reviews/{grant_id}")
def review(request: Request, grant_id: Id, user: Editor, form: Submitted) -> Response:
    outcome = form.text("outcome", required=True, limit=20)
    if outcome is not None and outcome not in history.REVIEW_OUTCOMES:
        form.fail("outcome", VERDICT)
    note = form.text("note", required=True, limit=1000)
    if not form.ok or outcome is None or note is None:
        return _reviews_page(request, user, refused=(grant_id, form), status=422)
    try:
        history.review_break_glass(user.db, user.actor, grant_id=grant_id, outcome=outcome,
                                   note=note, now=user.now)  # fmt: skip
    except HygieError as exc:
        status = _refused(form, exc)
        return _reviews_page(request, user, refused=(grant_id, form), status=status)
    return RedirectResponse("/security/reviews?done=reviewed", status_code=303)


# --- exports awaiting approval --------------------------------------------------------------
def _exports_page(request: Request, user: User, *, refused: tuple[int, FormState] | None = None,
                  status: int = 200, done: str | None = None) -> Response:  # fmt: skip
    lines = exports.list_exports(user.db, user.actor)
    waiting = [x for x in lines if x.status == "pending"]
    forms = {x.id: state() for x in waiting}
    if refused:
        forms[refused[0]] = refused[1]
    return _show("security/exports.html", request, user, status=status, waiting=waiting,
                 others=[x for x in lines if x.status != "pending"], forms=forms,
                 places=_places(user), done=DONE.get(done or ""))  # fmt: skip


@router.get("/security/exports")
def exports_page(request: Request, user: Viewer,
                 done: Annotated[str | None, Query(max_length=20)] = None) -> Response:  # fmt: skip
    return _exports_page(request, user, done=done)


@router.post("/security/exports/{export_id}")
def decide(request: Request, export_id: Id, user: Editor, form: Submitted) -> Response:
    """Approve or refuse (the button pressed) a bulk export, with a comment; the gate
    refuses the requester themselves (four eyes)."""
    decision = form.get("decision")
    comment = form.text("comment", required=True, limit=1000)
    if decision not in ("approve", "refuse"):
        form.fail("", N_("Choisissez d'approuver ou de refuser."))
    if not form.ok or comment is None:
        return _exports_page(request, user, refused=(export_id, form), status=422)
    try:
        exports.decide_export(user.db, user.actor, export_id, approve=decision == "approve",
                              comment=comment)  # fmt: skip
    except HygieError as exc:
        status = _refused(form, exc)
        return _exports_page(request, user, refused=(export_id, form), status=status)
    done = "approved" if decision == "approve" else "refused"
    return RedirectResponse(f"/security/exports?done={done}", status_code=303)
