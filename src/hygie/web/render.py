"""Templates: autoescaped Jinja2 with gettext's ``_`` (French first, English from the
catalogue), one environment per language.

``page`` renders a whole page or, for an HTMX request, the same template's fragment
(templates test ``htmx`` to leave out the frame)."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hygie.web import i18n, nav
from hygie.web.actions import action_label
from hygie.web.labels import label

TEMPLATES = Path(__file__).parent / "templates"
PARIS = ZoneInfo("Europe/Paris")


def _paris(value: datetime | None, style: str = "%d/%m/%Y %H:%M") -> str:
    """A stored (UTC) time as the clinic reads it, in Paris."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(PARIS).strftime(style)


def _day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _paris(value, "%d/%m/%Y")
    return value.strftime("%d/%m/%Y")


@cache
def environment(language: str = i18n.DEFAULT) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",)),
        extensions=["jinja2.ext.i18n"],
    )
    catalogue = i18n.translations(language)
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    env.filters["paris"] = _paris
    env.filters["day"] = _day
    # A code (a role, a status, a kind) as the page says it, in the page's language.
    env.filters["label"] = lambda code: catalogue.gettext(label(code))
    # A message that is a value, not a literal (a form's error, a service's refusal):
    # translated if the catalogue knows it, and escaped like any value (``_()`` returns
    # Markup and %-formats, which is for the templates' own literals only).
    env.filters["t"] = lambda text: catalogue.gettext(str(text)) if text else ""
    env.filters["action"] = lambda code: catalogue.gettext(action_label(code))
    env.globals["lang"] = language
    return env


def language_of(request: Request | None) -> str:
    if request is None:
        return i18n.DEFAULT
    return i18n.choose(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))


def page(
    name: str, *, request: Request | None = None, status: int = 200,
    headers: dict[str, str] | None = None, **values: Any,
) -> HTMLResponse:  # fmt: skip
    """``name`` rendered in the request's language. ``htmx`` is true in the template when
    the request came from HTMX (a fragment is enough)."""
    user = values.get("user")
    if user is not None:
        values.setdefault("menu", nav.menu(user.roles))
    language = language_of(request)
    htmx = request is not None and request.headers.get("hx-request") == "true"
    path = request.url.path if request is not None else "/"
    html = environment(language).get_template(name).render(htmx=htmx, here=path, **values)
    return HTMLResponse(html, status_code=status, headers=headers)
