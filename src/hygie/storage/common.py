"""Generic fetch and add helpers, and the prefix condition of name searches."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, true
from sqlalchemy.orm import Session

from hygie.errors import NotFoundError
from hygie.kit.checks import check_id
from hygie.models import Base

M = TypeVar("M", bound=Base)


def get(session: Session, model: type[M], ident: int, *, what: str, field: str | None = None) -> M:
    """The row of ``model`` with id ``ident``, or a NotFoundError naming ``what``."""
    check_id(ident, field=field or "id")
    row = session.get(model, ident)
    if row is None:
        raise NotFoundError(f"{what} #{ident} does not exist", field=field)
    return row


def get_for_update(
    session: Session, model: type[M], ident: int, *, what: str, field: str | None = None
) -> M:
    """Like :func:`get`, locking the row until the end of the transaction (PostgreSQL), so
    that two concurrent changes of the same thing are serialised."""
    check_id(ident, field=field or "id")
    row = session.get(model, ident, with_for_update=True)
    if row is None:
        raise NotFoundError(f"{what} #{ident} does not exist", field=field)
    return row


def add(session: Session, row: M) -> M:
    """Add ``row`` and flush, so that its id is known."""
    session.add(row)
    session.flush()
    return row


def starts_with(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, written as a range of the index order rather than
    a LIKE. PostgreSQL's LIKE is not leakproof, so under row-level security it must run
    after the policy's check and cannot drive an index: a name search at 750,000 patients
    went from milliseconds to seconds. For search keys (upper-case ASCII compared byte-wise,
    ``search_key_type``) both forms select the same rows."""
    if not prefix:
        return true()
    return and_(column >= prefix, column < past_prefix(prefix))


def past_prefix(prefix: str) -> str:
    """The first key after every key that starts with ``prefix`` (not empty): the range
    ``[prefix, past_prefix(prefix))`` holds exactly the keys starting with it."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
