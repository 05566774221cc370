"""Forms on the server: what was typed, and a message per field.

A page reads its form with ``read_form`` (every value a stripped string, length-capped),
checks what it can itself (``FormState.require``, ``FormState.day`` …), then calls the
gate; a domain error comes back as the message of its field (``FormState.refused``), and
the page re-renders the same form with what was typed (nothing accepted is lost, nothing
refused is half-written: the gate writes in one transaction or not at all)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import Depends, Request

from hygie.errors import HygieError
from hygie.web.labels import N_

MAX_FIELD = 20_000  # characters: the longest field (a note); longer is refused, never cut
REQUIRED = N_("Ce champ est obligatoire.")
BAD_DAY = N_("Date attendue au format JJ/MM/AAAA.")
BAD_TIME = N_("Heure attendue au format HH:MM.")
BAD_NUMBER = N_("Nombre entier attendu.")
TOO_LONG = N_("Texte trop long.")
OUT_OF_RANGE = N_("Date hors des limites (1900 à 2200).")
# Dates a hospital record can hold; beyond them time-zone arithmetic overflows.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2200, 12, 31)


@dataclass
class FormState:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # "" is the whole form's
    lists: dict[str, list[str]] = field(default_factory=dict)  # every value of a repeated name

    @property
    def ok(self) -> bool:
        return not self.errors

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def require(self, *names: str) -> None:
        for name in names:
            if not self.get(name):
                self.fail(name, REQUIRED)

    def text(self, name: str, *, required: bool = False, limit: int = 500) -> str | None:
        value = self.get(name)
        if not value:
            if required:
                self.fail(name, REQUIRED)
            return None
        if len(value) > limit:
            self.fail(name, TOO_LONG)
            return None
        return value

    def day(self, name: str, *, required: bool = False) -> date | None:
        """A date typed as JJ/MM/AAAA (or sent by a date input as AAAA-MM-JJ)."""
        value = self.get(name)
        if not value:
            if required:
                self.fail(name, REQUIRED)
            return None
        for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
            try:
                day = datetime.strptime(value, pattern).replace(tzinfo=UTC).date()
            except ValueError:
                continue
            if not FIRST_DAY <= day <= LAST_DAY:
                self.fail(name, OUT_OF_RANGE)
                return None
            return day
        self.fail(name, BAD_DAY)
        return None

    def clock(self, name: str, *, required: bool = False) -> time | None:
        value = self.get(name)
        if not value:
            if required:
                self.fail(name, REQUIRED)
            return None
        try:
            return datetime.strptime(value, "%H:%M").replace(tzinfo=UTC).time()
        except ValueError:
            self.fail(name, BAD_TIME)
            return None

    def number(self, name: str, *, required: bool = False, low: int = 0,
               high: int = 2**31 - 1) -> int | None:  # fmt: skip
        value = self.get(name)
        if not value:
            if required:
                self.fail(name, REQUIRED)
            return None
        if not value.isdigit() or not low <= int(value) <= high:
            self.fail(name, BAD_NUMBER)
            return None
        return int(value)

    def refused(self, exc: HygieError, fields: dict[str, str] | None = None) -> None:
        """The gate's or a service's refusal, next to its field if the form has it
        (``fields`` maps a service's field name to the form's when they differ)."""
        name = (fields or {}).get(exc.field or "", exc.field or "")
        self.fail(name if name in self.values else "", exc.message)


async def read_form(request: Request, *, skip: tuple[str, ...] = ("csrf",)) -> FormState:
    """The submitted form as stripped strings (a repeated name keeps its first value)."""
    form = await request.form()
    values: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    too_long: list[str] = []
    for name, value in form.multi_items():
        if name in skip or not isinstance(value, str):
            continue
        text = value.strip()
        if len(text) > MAX_FIELD:
            too_long.append(name)
        lists.setdefault(name, []).append(text)
        values.setdefault(name, text)
    found = FormState(values=values, lists=lists)
    for name in too_long:
        found.fail(name, TOO_LONG)
    return found


# A route's submitted form as a dependency: the route itself stays a plain function, run
# in the thread pool (its gate calls block), while the form is read on the event loop.
async def submitted(request: Request) -> FormState:
    return await read_form(request)


Submitted = Annotated[FormState, Depends(submitted)]


def state(values: dict[str, Any] | None = None) -> FormState:
    """A fresh form, filled with ``values`` (a page's defaults)."""
    return FormState(values={k: "" if v is None else str(v) for k, v in (values or {}).items()})
