"""Setting up a group: its establishments and their departments."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hygie.errors import ConflictError, ValidationError
from hygie.kit.identifiers import parse_finess
from hygie.kit.text import clean_postal_code, clean_text
from hygie.models import Department, Establishment, Group
from hygie.storage import common
from hygie.storage import organisation as store


def create_group(session: Session, *, name: str) -> Group:
    name = clean_text(name, field="name", max_length=200)
    if store.group_by_name(session, name) is not None:
        raise ConflictError(f"a group named {name!r} already exists", field="name")
    return common.add(session, Group(name=name))


def create_establishment(
    session: Session,
    *,
    group_id: int,
    finess: str,
    name: str,
    address_line: str,
    postal_code: str,
    city: str,
) -> Establishment:
    common.get(session, Group, group_id, what="group", field="group_id")
    finess = parse_finess(finess)
    if store.establishment_by_finess(session, finess) is not None:
        raise ConflictError(f"establishment FINESS {finess} already exists", field="finess")
    return common.add(
        session,
        Establishment(
            group_id=group_id,
            finess=finess,
            name=clean_text(name, field="name", max_length=200),
            address_line=clean_text(address_line, field="address_line", max_length=200),
            postal_code=clean_postal_code(postal_code, field="postal_code"),
            city=clean_text(city, field="city", max_length=100),
        ),
    )


def add_department(
    session: Session, *, establishment_id: int, code: str, name: str, beds: int = 0
) -> Department:
    common.get(
        session, Establishment, establishment_id, what="establishment", field="establishment_id"
    )
    code = clean_text(code, field="code", max_length=20).upper()
    if len(code) > 20:  # upper() may lengthen some letters
        raise ValidationError("is longer than 20 characters", field="code")
    if not 0 <= beds <= 2000:
        raise ValidationError("must be between 0 and 2000", field="beds")
    if store.department_by_code(session, establishment_id, code) is not None:
        raise ConflictError(f"department {code} already exists in this establishment", field="code")
    return common.add(
        session,
        Department(
            establishment_id=establishment_id,
            code=code,
            name=clean_text(name, field="name", max_length=200),
            beds=beds,
        ),
    )
