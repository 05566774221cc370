"""Languages of the pages: French first (the templates' own strings), English from a
gettext catalogue (``locale/en/LC_MESSAGES/messages.po``).

The catalogue is read from its ``.po`` source with Babel when first needed, so that no
compiled file has to be kept in step with it. The language is the ``hygie_lang`` cookie
if it names one of ours, else the browser's ``Accept-Language``, else French."""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE = Path(__file__).parent / "locale"
LANGUAGES = ("fr", "en")
DEFAULT = "fr"
COOKIE = "hygie_lang"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of ``language`` (French, the source language, translates nothing)."""
    if language == DEFAULT:
        return gettext.NullTranslations()
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalogue = read_po(source, locale=language)
    found = Translations()
    for message in catalogue:
        if not message.id or message.fuzzy or not message.string:
            continue
        # Babel's own store: msgid -> text, and (msgid, n) -> text for plural forms.
        store = found._catalog
        if isinstance(message.id, str) and isinstance(message.string, str):
            store[message.id] = message.string
        elif isinstance(message.string, (list, tuple)):
            for n, text in enumerate(message.string):
                store[(message.id[0], n)] = text
    return found


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The page's language: the cookie's, else the browser's first one we have."""
    if cookie in LANGUAGES:
        return str(cookie)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT
