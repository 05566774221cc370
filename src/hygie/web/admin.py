"""The IT administrator's pages: the accounts of one establishment, creating an account,
and one account's habilitations, disabling it and restarting its TOTP enrolment.

Everything goes through ``access.accounts`` and ``access.account_admin``: the gate decides
in which establishments the administrator may read or change accounts and records each
look and change. No patient data is reachable from here, not even a count (an IT
administrator reads none: PERMISSIONS.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from hygie.access import account_admin, accounts
from hygie.access.gateway import AccessDenied
from hygie.errors import ConflictError, HygieError
from hygie.kit.time import local_date
from hygie.web.forms import FormState, Submitted, state
from hygie.web.labels import N_
from hygie.web.render import page
from hygie.web.session import Editor, User, Viewer

router = APIRouter(include_in_schema=False)
MAX_ID = 2**31 - 1
Username = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
# Human roles an administrator grants (``interface`` is for system accounts only).
ROLES = ("physician", "nurse", "secretary", "billing_officer", "pharmacist", "it_admin",
         "security_officer")  # fmt: skip
MAX_ESTABLISHMENTS = 20
NO_ESTABLISHMENT = N_("Choisissez au moins un établissement.")
DONE = {
    "granted": N_("L'habilitation a été ajoutée."),
    "ended": N_("La fin de l'habilitation a été enregistrée."),
    "disabled": N_("Le compte est désactivé : ses sessions et ses jetons sont révoqués."),
    "mfa": N_(
        "La double authentification est réinitialisée : ses sessions sont terminées, ses "
        "codes de secours ne valent plus, et son titulaire enrôlera une nouvelle application "
        "à sa prochaine connexion avec son mot de passe."
    ),
}


# The services' conflicts a form meets most, said in French (others keep their message).
CONFLICTS = {
    "username": N_("Cet identifiant est déjà pris : choisissez-en un autre."),
    "rpps": N_("Ce numéro RPPS est déjà enregistré pour un autre professionnel."),
    "role": N_("Une habilitation pour ce rôle et cet établissement couvre déjà cette période."),
}


def _refused(form: FormState, exc: HygieError, fields: dict[str, str] | None = None) -> None:
    french = CONFLICTS.get(exc.field or "") if isinstance(exc, ConflictError) else None
    form.refused(ConflictError(french, field=exc.field) if french else exc, fields)


def _status(exc: HygieError) -> int:
    """A refused form: 409 for a conflict, 403 for the gate's refusal, 422 otherwise."""
    if isinstance(exc, ConflictError):
        return 409
    return 403 if isinstance(exc, AccessDenied) else 422


# --- the list -----------------------------------------------------------------------------
@router.get("/admin")
def account_list(
    request: Request,
    user: Viewer,
    establishment: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    places = account_admin.managed_establishments(user.db, user.actor)
    # With no establishment to manage, ask anyway: the gate refuses and records it.
    chosen = establishment or (
        places[0].id if places else min(user.actor.establishments, default=1)
    )
    found = account_admin.accounts_overview(user.db, user.actor, establishment_id=chosen,
                                            text=q.strip() or None, now=user.now)  # fmt: skip
    name = (
        "admin/_accounts.html"
        if request.headers.get("hx-request") == "true"
        else "admin/accounts.html"
    )
    return page(name, request=request, user=user, places=places, chosen=chosen, q=q.strip(),
                accounts=found, form=state({"q": q.strip()}), today=local_date(user.now))  # fmt: skip


# --- a new account ------------------------------------------------------------------------
def _new_form(request: Request, user: User, form: FormState, checked: list[str], *,
              status: int = 200) -> Response:  # fmt: skip
    places = account_admin.managed_establishments(user.db, user.actor, write=True)
    return page("admin/new.html", request=request, user=user, status=status, form=form,
                places=places, checked=checked, roles=ROLES)  # fmt: skip


@router.get("/admin/accounts/new")
def new_account_page(
    request: Request,
    user: Viewer,
    establishment: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    places = {
        p.id: p for p in account_admin.managed_establishments(user.db, user.actor, write=True)
    }
    default = places.get(establishment or 0) or next(iter(places.values()), None)
    return _new_form(request, user, state(), [default.finess] if default else [])


@router.post("/admin/accounts/new")
def create_account(request: Request, user: Editor, form: Submitted) -> Response:
    raw = form.lists.get("establishment", [])[:MAX_ESTABLISHMENTS]
    checked = [v[:20] for v in raw if v]
    form.values["establishment"] = checked[0] if checked else ""  # so its errors find it
    username = form.text("username", required=True, limit=64)
    role = form.text("role", required=True, limit=40)
    if not checked:
        form.fail("establishment", NO_ESTABLISHMENT)
    names = {n: form.text(n, limit=200) for n in ("display_name", "family_name", "given_name")}
    rpps = form.text("rpps", limit=20)
    if not form.ok or username is None or role is None:
        return _new_form(request, user, form, checked, status=422)
    try:
        made = accounts.create_account(user.db, user.actor, username=username, role=role,
                                       establishments=checked, rpps=rpps, now=user.now,
                                       **names)  # fmt: skip
    except HygieError as exc:
        _refused(form, exc)
        return _new_form(request, user, form, checked, status=_status(exc))
    # The temporary password is shown on this answer only (it is stored hashed): no
    # redirect can carry it, and the browser must not keep it.
    answer = page("admin/created.html", request=request, user=user, username=made.user.username,
                  password=made.generated_password)  # fmt: skip
    answer.headers["Cache-Control"] = "no-store"
    return answer


# --- one account --------------------------------------------------------------------------
def _account(request: Request, user: User, username: str, *, status: int = 200,
             done: str | None = None, refused: tuple[str, FormState] | None = None,
             ) -> Response:  # fmt: skip
    """The account's page; ``refused``: the form (by name) to show again as typed."""
    account = account_admin.read_account(user.db, user.actor, username=username, now=user.now)
    today = local_date(user.now)
    blank: dict[str, FormState] = {
        "grant": state({"valid_from": today.isoformat()}),
        "end": state({"ends_on": today.isoformat()}),
        "disable": state(),
        "mfa": state(),
    }
    forms = dict([*blank.items(), refused] if refused else blank)
    places = account_admin.managed_establishments(user.db, user.actor)
    writable = account_admin.managed_establishments(user.db, user.actor, write=True)
    return page(
        "admin/account.html", request=request, user=user, status=status, account=account,
        names={p.id: p.name for p in places}, writable=writable, roles=ROLES, today=today,
        done=DONE.get(done or ""), self_account=account.username == user.actor.username,
        grant=forms["grant"], end=forms["end"], disable=forms["disable"], mfa=forms["mfa"],
    )  # fmt: skip


@router.get("/admin/accounts/{username}")
def account_page(
    request: Request,
    username: Username,
    user: Viewer,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return _account(request, user, username, done=done)


def _done(username: str, what: str) -> Response:
    return RedirectResponse(f"/admin/accounts/{username}?done={what}", status_code=303)


@router.post("/admin/accounts/{username}/habilitations")
def grant(request: Request, username: Username, user: Editor, form: Submitted) -> Response:
    establishment_id = form.number("establishment_id", required=True, low=1, high=MAX_ID)
    role = form.text("role", required=True, limit=40)
    valid_from = form.day("valid_from", required=True)
    valid_until = form.day("valid_until")
    if not form.ok or establishment_id is None or role is None or valid_from is None:
        return _account(request, user, username, status=422, refused=("grant", form))
    return _try(request, user, username, "grant", form, "granted", account_admin.grant_habilitation,
                establishment_id=establishment_id, role=role, valid_from=valid_from,
                valid_until=valid_until)  # fmt: skip


@router.post("/admin/accounts/{username}/habilitations/end")
def end(request: Request, username: Username, user: Editor, form: Submitted) -> Response:
    habilitation_id = form.number("habilitation_id", required=True, low=1, high=MAX_ID)
    ends_on = form.day("ends_on", required=True)
    if not form.ok or habilitation_id is None or ends_on is None:
        return _account(request, user, username, status=422, refused=("end", form))
    return _try(request, user, username, "end", form, "ended", account_admin.end_habilitation,
                habilitation_id=habilitation_id, ends_on=ends_on)  # fmt: skip


@router.post("/admin/accounts/{username}/disable")
def disable(request: Request, username: Username, user: Editor, form: Submitted) -> Response:
    reason = form.text("disable_reason", required=True, limit=account_admin.MAX_REASON)
    if not form.ok or reason is None:
        return _account(request, user, username, status=422, refused=("disable", form))
    return _try(request, user, username, "disable", form, "disabled",
                account_admin.disable_account, reason=reason,
                fields={"reason": "disable_reason"})  # fmt: skip


@router.post("/admin/accounts/{username}/mfa-reset")
def reset_mfa(request: Request, username: Username, user: Editor, form: Submitted) -> Response:
    reason = form.text("mfa_reason", required=True, limit=account_admin.MAX_REASON)
    if not form.ok or reason is None:
        return _account(request, user, username, status=422, refused=("mfa", form))
    return _try(request, user, username, "mfa", form, "mfa", account_admin.reset_mfa,
                reason=reason, fields={"reason": "mfa_reason"})  # fmt: skip


def _try(request: Request, user: User, username: str, name: str, form: FormState, done: str,
         change: Any, fields: dict[str, str] | None = None, **values: date | int | str | None,
         ) -> Response:  # fmt: skip
    """Ask the gate for ``change``; on a refusal, the page again with the message next to
    the field of form ``name`` (what was typed kept); on success, back to the page."""
    try:
        change(user.db, user.actor, username=username, now=user.now, **values)
    except HygieError as exc:
        _refused(form, exc, fields)
        return _account(request, user, username, status=_status(exc), refused=(name, form))
    return _done(username, done)
