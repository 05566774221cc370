"""One patient's chart, and break-the-glass.

The chart shows the blocks the gate returns (:func:`hygie.access.chart_views.chart_page`,
which is :func:`hygie.access.gateway.read_chart` plus the names the blocks refer to), in
the clinic's order, allergies first and prominent. A block the gate withholds is absent;
when the withheld clinical content is one break-the-glass away (a clinician without a care
relationship), the page explains it and offers the dialog: a reason from the gate's list
and free text, POSTed to ``/patients/{id}/break-glass``; the chart then carries a banner
with the time left. The links to what comes next follow the permission table (the gate
still decides on submit)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from hygie.access import chart_views, gateway
from hygie.access.chart_views import ChartPage
from hygie.access.policy import CLINICAL, PERMISSIONS, Action, Category
from hygie.errors import ValidationError
from hygie.web.forms import FormState, Submitted, state
from hygie.web.labels import N_
from hygie.web.render import page
from hygie.web.session import Editor, User, Viewer

router = APIRouter(include_in_schema=False)

PatientId = Annotated[int, Path(ge=1, le=2**31 - 1)]

# The gate's reasons (gateway.BREAK_GLASS_REASONS), marked for the catalogue.
REASONS: dict[str, str] = {
    "emergency": N_("Urgence vitale"),
    "continuity": N_("Continuité des soins (patient pris en charge hors équipe)"),
    "on_call": N_("Garde ou astreinte"),
    "patient_request": N_("Demande du patient"),
    "other": N_("Autre (préciser)"),
}
# The gate's messages (English, for the API) as the dialog says them, by field.
GLASS_MESSAGES = {
    "reason_code": N_("Choisissez un motif dans la liste."),
    "reason_text": N_("Expliquez la raison en au moins 10 caractères (500 au plus)."),
}
# What the clinical blocks are called where the page says they are withheld.
CLINICAL_TITLES = {
    "allergies": N_("Allergies"),
    "conditions": N_("Pathologies et antécédents"),
    "notes": N_("Notes"),
    "prescriptions": N_("Prescriptions"),
}
BASES = {
    "attending": N_("médecin traitant"),
    "appointment": N_("rendez-vous"),
    "stay": N_("séjour"),
    "explicit": N_("équipe de soins"),
    "dispensing": N_("dispensation"),
    "break_the_glass": N_("bris de glace"),
}
# Labels of codes labels.py does not name (the AMO beneficiary's quality).
BENEFICIARIES = {"insured": N_("Assuré·e"), "dependant": N_("Ayant droit")}
# Values of the gate's blocks that are ISO texts: the page shows them as dates.
DAYS = ("birth_date", "valid_from", "valid_until", "onset_date")
TIMES = ("died_at", "start_at", "end_at", "recorded_at", "written_at", "prescribed_at")
SEVERITY_ORDER = {"severe": 0, "moderate": 1, "mild": 2}


def _dated(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` with its ISO dates and times as date / datetime (UTC when naive)."""
    out = dict(item)
    for key in DAYS:
        if isinstance(out.get(key), str):
            out[key] = date.fromisoformat(out[key][:10])
    for key in TIMES:
        if isinstance(out.get(key), str):
            at = datetime.fromisoformat(out[key])
            out[key] = at if at.tzinfo else at.replace(tzinfo=UTC)
    return out


def _blocks(raw: dict[str, Any]) -> dict[str, Any]:
    """The gate's blocks ready to show: dates parsed, lists in reading order."""
    blocks: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, list):
            blocks[name] = [_dated(v) for v in value]
        elif name == "coverage":
            blocks[name] = {k: [_dated(c) for c in v] for k, v in value.items()}
        else:
            blocks[name] = _dated(value)
    if "allergies" in blocks:  # the dangerous first; an entry made in error is no allergy
        blocks["allergies"] = sorted(
            (a for a in blocks["allergies"] if a["status"] != "entered_in_error"),
            key=lambda a: (a["status"] != "active", SEVERITY_ORDER.get(a["severity"], 3)),
        )
    for name, key in (("appointments", "start_at"), ("stays", "start_at"),
                      ("notes", "written_at"), ("prescriptions", "prescribed_at")):  # fmt: skip
        if name in blocks:
            blocks[name] = sorted(blocks[name], key=itemgetter(key), reverse=True)
    if "conditions" in blocks:
        blocks["conditions"] = [
            c for c in blocks["conditions"] if c["status"] != "entered_in_error"
        ]
    return blocks


def _may_write(user: User, ests: frozenset[int], *categories: Category) -> bool:
    """Whether one of the actor's roles where the patient has a file may write all of
    ``categories`` (the permission table: a preview, the gate decides on submit)."""
    return any(
        all(Action.WRITE in PERMISSIONS.get(role, {}).get(c, frozenset()) for c in categories)
        for role in user.actor.roles_in(ests)
    )


def _next_steps(user: User, patient_id: int, blocks: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(id, path, label) of what the actor may do next on this chart."""
    identity = blocks.get("identity") or {}
    ests = frozenset(f["establishment_id"] for f in identity.get("files", ()))
    alive = not identity.get("deceased", False)
    steps: list[tuple[str, str, str]] = []
    # Clinical entries need the care relationship (or break-the-glass) the blocks show.
    for category, slug, text in (
        (Category.ALLERGIES, "allergies", N_("Ajouter une allergie")),
        (Category.CONDITIONS, "conditions", N_("Ajouter une pathologie")),
        (Category.NOTES, "notes", N_("Écrire une note")),
        (Category.PRESCRIPTIONS, "prescriptions", N_("Prescrire")),
    ):
        if category.value in blocks and _may_write(user, ests, category) and alive:
            steps.append((f"new-{slug}", f"/patients/{patient_id}/{slug}/new", text))
    if (
        alive
        and "conditions" in blocks
        and _may_write(user, ests, Category.IDENTITY, Category.CONDITIONS)
    ):
        steps.append(("declare-death", f"/patients/{patient_id}/death", N_("Déclarer le décès")))
    if alive and _may_write(user, ests, Category.APPOINTMENTS):
        steps.append(("book", f"/agenda/book?patient={patient_id}", N_("Prendre un rendez-vous")))
    if alive and _may_write(user, ests, Category.STAYS):
        steps.append(("admit", f"/stays/admit?patient={patient_id}", N_("Admettre (séjour)")))
    return steps


def minutes_left(until: datetime, now: datetime) -> str:
    """The time left as the banner says it (hygie.js keeps it current the same way)."""
    until = until if until.tzinfo else until.replace(tzinfo=UTC)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    left = max(0, round((until - now).total_seconds() / 60))
    hours, minutes = divmod(left, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _render(request: Request, user: User, found: ChartPage, form: FormState,
            status: int = 200) -> Response:  # fmt: skip
    chart = found.chart
    blocks = _blocks(chart.blocks)
    until = found.glass_expires_at
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    withheld_clinical = [c.value for c in sorted(CLINICAL) if c.value in chart.withheld]
    return page(
        "chart/chart.html", request=request, user=user, status=status,
        patient_id=chart.patient_id, blocks=blocks, basis=BASES.get(chart.basis or ""),
        withheld=[CLINICAL_TITLES[c] for c in withheld_clinical],
        break_glass=chart.break_glass_possible, form=form,
        reasons=list(REASONS.items()), until=until,
        left=minutes_left(until, user.now) if until else "",
        names=found.professionals, departments=found.departments,
        places=found.establishments, beneficiaries=BENEFICIARIES, steps=_next_steps(user, chart.patient_id, blocks),
    )  # fmt: skip


@router.get("/patients/{patient_id}")
def chart_page(request: Request, patient_id: PatientId, user: Viewer) -> Response:
    # An unknown patient, or one outside the user's establishments: NotFoundError, which
    # the error handlers answer with a 404 page (refusal recorded by the gate).
    found = chart_views.chart_page(user.db, user.actor, patient_id)
    return _render(request, user, found, state({"reason_code": "", "reason_text": ""}))


@router.post("/patients/{patient_id}/break-glass")
def break_glass(request: Request, patient_id: PatientId, user: Editor, form: Submitted) -> Response:
    form.require("reason_code", "reason_text")
    code = form.get("reason_code")
    if code and code not in REASONS:
        form.fail("reason_code", GLASS_MESSAGES["reason_code"])
    if form.ok:
        try:
            gateway.break_glass(user.db, user.actor, patient_id=patient_id, reason_code=code,
                                reason_text=form.get("reason_text"))  # fmt: skip
        except ValidationError as refused:
            # Said in the user's words next to its field; the gate's own words otherwise.
            name = refused.field if refused.field in GLASS_MESSAGES else ""
            form.fail(name or "", GLASS_MESSAGES.get(name or "", refused.message))
        else:
            return RedirectResponse(f"/patients/{patient_id}", status_code=303)
    found = chart_views.chart_page(user.db, user.actor, patient_id)
    return _render(request, user, found, form, status=422)
