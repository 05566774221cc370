"""The English catalogue translates every string the pages show: the strings are extracted
from the templates and the web package exactly as `make messages` extracts them (Babel),
and each must have an English translation that keeps its placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from hygie.web import i18n
from hygie.web.render import environment

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "src/hygie/web/locale/en/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]*\}")


def _extracted() -> set[str]:
    method_map = [("src/hygie/web/**.py", "python"), ("src/hygie/web/templates/**.html", "jinja2")]
    options = {"src/hygie/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options, keywords={"_": None, "N_": None, "gettext": None}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return {m for m in found if m}


def test_every_page_string_has_an_english_translation() -> None:
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f)
    translated = {m.id: m.string for m in catalogue if m.id and m.string and not m.fuzzy}
    missing = sorted(_extracted() - set(translated))
    assert missing == [], f"{len(missing)} strings without English (run `make messages`): {missing[:20]}"
    for source, english in translated.items():
        assert isinstance(source, str) and isinstance(english, str)
        assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(english)), source


def test_french_is_the_default_and_english_translates() -> None:
    assert i18n.choose(None, None) == "fr"
    assert i18n.choose(None, "en-GB,en;q=0.8") == "en"
    assert i18n.choose("fr", "en-GB") == "fr"
    assert i18n.choose("xx", "de-DE") == "fr"
    assert environment("en").globals["lang"] == "en"
    assert i18n.translations("en").gettext("Se déconnecter") == "Sign out"
