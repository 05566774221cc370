"""Professionals, accounts and habilitations (the data; permissions come with the gate)."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy.orm import Session

from hygie.errors import ConflictError, ValidationError
from hygie.kit.checks import check_day
from hygie.kit.identifiers import parse_rpps
from hygie.kit.text import clean_name, clean_text
from hygie.models import (
    AccountKind,
    Establishment,
    Habilitation,
    Profession,
    Professional,
    Role,
    User,
)
from hygie.storage import common
from hygie.storage import staff as store

# Clinical roles need the matching profession (when the account has a professional
# identity); administrative roles are open to any staff member.
ROLE_PROFESSIONS: dict[Role, set[Profession]] = {
    Role.PHYSICIAN: {Profession.PHYSICIAN},
    Role.NURSE: {Profession.NURSE, Profession.MIDWIFE},
    Role.PHARMACIST: {Profession.PHARMACIST},
}

_USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")


def create_professional(
    session: Session,
    *,
    profession: str,
    family_name: str,
    given_name: str,
    rpps: str | None = None,
    specialty: str | None = None,
) -> Professional:
    try:
        prof = Profession(profession)
    except ValueError as exc:
        allowed = ", ".join(p.value for p in Profession)
        raise ValidationError(f"unknown profession (one of {allowed})", field="profession") from exc
    if prof.has_rpps:
        if not rpps:
            raise ValidationError(f"an RPPS number is required for a {prof.value}", field="rpps")
        rpps = parse_rpps(rpps)
        if store.professional_by_rpps(session, rpps) is not None:
            raise ConflictError(f"RPPS {rpps} is already registered", field="rpps")
    elif rpps:
        raise ValidationError(f"a {prof.value} has no RPPS number", field="rpps")
    return common.add(
        session,
        Professional(
            profession=prof,
            rpps=rpps or None,
            family_name=clean_name(family_name, field="family_name"),
            given_name=clean_name(given_name, field="given_name"),
            specialty=clean_text(specialty, field="specialty", max_length=100)
            if specialty
            else None,
        ),
    )


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    professional_id: int | None = None,
    kind: AccountKind = AccountKind.HUMAN,
) -> User:
    try:
        kind = AccountKind(kind)
    except ValueError as exc:
        raise ValidationError("must be human or system", field="kind") from exc
    if not isinstance(username, str):
        raise ValidationError("must be text", field="username")
    username = username.strip().lower()
    if not _USERNAME_RE.match(username):
        raise ValidationError(
            "3 to 64 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter",
            field="username",
        )
    if store.user_by_username(session, username) is not None:
        raise ConflictError(f"username {username} is taken", field="username")
    if professional_id is not None:
        common.get(
            session, Professional, professional_id, what="professional", field="professional_id"
        )
        if store.user_of_professional(session, professional_id) is not None:
            raise ConflictError("this professional already has an account", field="professional_id")
    return common.add(
        session,
        User(
            username=username,
            display_name=clean_text(display_name, field="display_name", max_length=200),
            professional_id=professional_id,
            kind=kind,
        ),
    )


def grant_habilitation(
    session: Session,
    *,
    user_id: int,
    establishment_id: int,
    role: str,
    valid_from: date,
    valid_until: date | None = None,
) -> Habilitation:
    try:
        role_value = Role(role)
    except ValueError as exc:
        allowed = ", ".join(r.value for r in Role)
        raise ValidationError(f"unknown role (one of {allowed})", field="role") from exc
    user = common.get(session, User, user_id, what="account", field="user_id")
    if not user.active:
        raise ValidationError("the account is disabled", field="user_id")
    if (user.kind == AccountKind.SYSTEM) != (role_value == Role.INTERFACE):
        raise ValidationError(
            "the interface role is for system accounts, which hold no other role", field="role"
        )
    if user.professional_id is not None:
        prof = common.get(session, Professional, user.professional_id, what="professional")
        professions = ROLE_PROFESSIONS.get(role_value)
        if professions is not None and prof.profession not in professions:
            raise ValidationError(
                f"a {prof.profession.value} cannot hold the {role_value.value} role", field="role"
            )
    common.get(
        session, Establishment, establishment_id, what="establishment", field="establishment_id"
    )
    check_day(valid_from, field="valid_from")
    if valid_until is not None:
        check_day(valid_until, field="valid_until")
    if valid_until is not None and valid_until < valid_from:
        raise ValidationError("ends before it starts", field="valid_until")
    for existing in store.habilitations_of(session, user_id):
        same = existing.establishment_id == establishment_id and existing.role == role_value
        overlaps = (existing.valid_until is None or existing.valid_until >= valid_from) and (
            valid_until is None or existing.valid_from <= valid_until
        )
        if same and overlaps:
            raise ConflictError(
                "an overlapping habilitation for this role and establishment exists", field="role"
            )
    return common.add(
        session,
        Habilitation(
            user_id=user_id,
            establishment_id=establishment_id,
            role=role_value,
            valid_from=valid_from,
            valid_until=valid_until,
        ),
    )
