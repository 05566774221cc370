"""The shared assertion of the bad-input tests: refused, with the right error and field,
and nothing written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hygie.db import Database
from hygie.errors import HygieError
from hygie.models import Base


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    with db.engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in Base.metadata.sorted_tables
        }


def assert_refused(
    db: Database,
    action: Callable[[Session], object],
    error: type[HygieError],
    field: str | None,
    match: str,
) -> None:
    """``action`` fails with exactly ``error`` on ``field``, and its transaction changes nothing."""
    before = snapshot(db)
    with pytest.raises(error, match=match) as info, db.transaction() as session:
        action(session)
    assert type(info.value) is error
    after = snapshot(db)
    assert {t: len(rows) for t, rows in after.items()} == {t: len(r) for t, r in before.items()}
    assert after == before
    assert info.value.field == field


def call(
    service: Callable[..., object], **defaults: Any
) -> Callable[..., Callable[[Session, Any], object]]:
    """Actions calling ``service`` with ``defaults`` updated by the overrides; a callable value
    is a function of the test's scene (``attrgetter("w.nurse")``), resolved when the action runs."""

    def with_overrides(**overrides: Any) -> Callable[[Session, Any], object]:
        def action(s: Session, scene: Any) -> object:
            kwargs = {**defaults, **overrides}
            return service(s, **{k: v(scene) if callable(v) else v for k, v in kwargs.items()})

        return action

    return with_overrides
