"""What the chart page needs from the gate besides the chart itself.

:func:`chart_page` is :func:`hygie.access.gateway.read_chart` (decided, minimised and
recorded there, refusals included) plus two things the page shows with it, read in a
second transaction on the same scope:

- the actor's own live break-the-glass grant on this patient, when the chart was opened
  through one (basis ``break_the_glass``): the banner says when it ends. It is the
  actor's own access, whose opening and use are already in the trail (``break_glass``,
  then the ``chart.read`` with purpose ``break_the_glass``); reading its end adds nothing
  to what they know, so it is not a new access to record.
- the names of the professionals, departments and establishments the chart's blocks refer
  to by id (attending physician, practitioners, responsible physicians). Directory data,
  no patient data, named inside the chart read that is recorded on its own (as
  :func:`hygie.access.directory.establishments` names places).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hygie.access import directory
from hygie.access.actor import Actor
from hygie.access.gateway import Chart, read_chart
from hygie.access.scope import gate_transaction
from hygie.db import Database
from hygie.kit import clock
from hygie.storage import access as store
from hygie.storage import lists as lists_store
from hygie.storage import organisation as organisation_store


@dataclass(frozen=True)
class ChartPage:
    chart: Chart
    # When the actor's break-the-glass on this patient ends (None: not opened that way).
    glass_expires_at: datetime | None = None
    professionals: dict[int, str] = field(default_factory=dict)  # id -> "Given FAMILY"
    departments: dict[int, str] = field(default_factory=dict)  # id -> name
    establishments: dict[int, str] = field(default_factory=dict)  # id -> name


def _professional_ids(blocks: dict[str, Any]) -> set[int]:
    ids: set[int] = set()
    attending = (blocks.get("contact") or {}).get("attending_physician_id")
    if attending:
        ids.add(attending)
    for name, key in (
        ("appointments", "practitioner_id"), ("stays", "responsible_id"),
        ("allergies", "recorded_by_id"), ("conditions", "recorded_by_id"),
        ("notes", "author_id"), ("prescriptions", "prescriber_id"),
    ):  # fmt: skip
        ids.update(item[key] for item in blocks.get(name) or () if item.get(key))
    return ids


def _establishment_ids(blocks: dict[str, Any]) -> set[int]:
    ids = {f["establishment_id"] for f in (blocks.get("identity") or {}).get("files", ())}
    for name in ("appointments", "stays"):
        ids.update(item["establishment_id"] for item in blocks.get(name) or ())
    return ids


def chart_page(db: Database, actor: Actor, patient_id: int) -> ChartPage:
    """The chart as the gate allows it (see the module), with its grant and names."""
    chart = read_chart(db, actor, patient_id)  # raises NotFoundError / AccessDenied
    people = _professional_ids(chart.blocks)
    places = _establishment_ids(chart.blocks)
    wards = {s["department_id"] for s in chart.blocks.get("stays") or () if s["department_id"]}
    with gate_transaction(db, actor.establishments) as session:
        grant = None
        if chart.basis == "break_the_glass":
            grant = store.live_break_glass(
                session, user_id=actor.user_id, patient_id=patient_id, at=clock.now()
            )
        professionals = {}
        for ident in sorted(people):
            row = lists_store.professional(session, ident)
            if row is not None:
                professionals[ident] = f"{row.given_name} {row.family_name.upper()}"
        departments = {
            d.id: d.name
            for est in sorted(places if wards else ())  # no stay: no query
            for d in organisation_store.departments(session, est)
            if d.id in wards
        }
    named = directory.establishments(db)
    return ChartPage(
        chart=chart,
        glass_expires_at=grant.expires_at if grant is not None else None,
        professionals=professionals,
        departments=departments,
        establishments={e: named[e].name for e in places if e in named},
    )
