"""Names, search keys and contact details."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hygie.errors import ValidationError
from hygie.kit.text import (
    clean_email,
    clean_name,
    clean_phone,
    clean_postal_code,
    clean_text,
    search_key,
    strip_accents,
)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Le Bœuf-d'Arc", "LE BOEUF D ARC"),
        ("Éléonore", "ELEONORE"),
        ("LÆTITIA lætitia", "LAETITIA LAETITIA"),
        ("  de   la   Tour  ", "DE LA TOUR"),
        ("O’Neil", "O NEIL"),
        ("Çağlar Müller-Lüdenscheidt", "CAGLAR MULLER LUDENSCHEIDT"),
        ("Strauß", "STRAUSS"),
        ("Jean-Pierre2", "JEAN PIERRE"),
        ("123 - '", ""),
        ("", ""),
    ],
)
def test_search_key_examples(raw: str, key: str) -> None:
    assert search_key(raw) == key


@pytest.mark.parametrize(
    ("raw", "key"),
    [("Łukasz Wałęsa", "LUKASZ WALESA"), ("Søren Ørsted", "SOREN ORSTED"), ("Đorđe", "DORDE")],
)
def test_search_key_transliterates_letters_without_decomposition(raw: str, key: str) -> None:
    assert search_key(raw) == key


@given(st.text())
def test_search_key_is_upper_ascii_words_and_idempotent(raw: str) -> None:
    key = search_key(raw)
    assert re.fullmatch(r"(?:[A-Z]+(?: [A-Z]+)*)?", key)
    assert search_key(key) == key


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèêëàâäîïôöùûüç", min_size=1))
def test_search_key_ignores_case_and_accents(word: str) -> None:
    assert search_key(word) == search_key(word.upper()) == search_key(strip_accents(word))


def test_strip_accents() -> None:
    assert strip_accents("àéîõü ÇÉ") == "aeiou CE"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Jean   Pierre ", "Jean Pierre"),
        ("O’Neil", "O'Neil"),
        ("Saint-Exupéry", "Saint-Exupéry"),
        ("Ðorđević", "Ðorđević"),
        ("Lætitia", "Lætitia"),
    ],
)
def test_clean_name_accepts_and_tidies(raw: str, clean: str) -> None:
    assert clean_name(raw, field="birth_name") == clean


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "is required"),
        ("   \t ", "is required"),
        ("Jean2", "only letters"),
        ("Jean--Pierre", "only letters"),
        ("-Jean", "only letters"),
        ("Jean-", "only letters"),
        ("Jean_Pierre", "only letters"),
        ("J@n", "only letters"),
        ("Jean ' Pierre", "only letters"),
        ("A" * 101, "longer than 100"),
    ],
)
def test_clean_name_refuses(raw: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        clean_name(raw, field="birth_name")
    assert info.value.field == "birth_name"


def test_clean_name_max_length_is_a_parameter() -> None:
    assert clean_name("A" * 101, field="x", max_length=200) == "A" * 101
    with pytest.raises(ValidationError, match="longer than 3"):
        clean_name("Jean", field="x", max_length=3)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("06 12 34 56 78", "0612345678"),
        ("06.12.34.56.78", "0612345678"),
        ("(01)-23-45-67-89", "0123456789"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+1 (212) 555-0100", "+12125550100"),
    ],
)
def test_clean_phone_accepts(raw: str, clean: str) -> None:
    assert clean_phone(raw, field="phone_mobile") == clean


@pytest.mark.parametrize(
    "raw",
    ["", "061234567", "06123456789", "0012345678", "+0612345678", "+331", "06 12 34 56 7a", "tel"],
)
def test_clean_phone_refuses(raw: str) -> None:
    with pytest.raises(ValidationError, match="not a phone number") as info:
        clean_phone(raw, field="phone_home")
    assert info.value.field == "phone_home"


def test_clean_email_trims_and_lowercases() -> None:
    assert clean_email("  Jean.Dupont@Example.FR ", field="email") == "jean.dupont@example.fr"


@pytest.mark.parametrize(
    "raw",
    ["", "jean", "jean@", "@example.fr", "a@b", "a@@b.fr", "a b@c.fr", "a@b.f", "a@b.fr1",
     "x" * 195 + "@ex.fr"],
)  # fmt: skip
def test_clean_email_refuses(raw: str) -> None:
    with pytest.raises(ValidationError, match="not an e-mail address") as info:
        clean_email(raw, field="email")
    assert info.value.field == "email"


def test_clean_text() -> None:
    assert clean_text("  motif \n", field="reason", max_length=10) == "motif"
    assert clean_text("a\tb\nc", field="reason", max_length=10) == "a\tb\nc"
    assert clean_text("  ", field="reason", max_length=10, required=False) == ""


@pytest.mark.parametrize(
    ("raw", "message"),
    [(" ", "is required"), ("x" * 11, "longer than 10"), ("a\x00b", "control"),
     ("a\x1bb", "control")],
)  # fmt: skip
def test_clean_text_refuses(raw: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        clean_text(raw, field="reason", max_length=10)
    assert info.value.field == "reason"


def test_clean_postal_code() -> None:
    assert clean_postal_code(" 75001 ", field="postal_code") == "75001"
    for raw in ("7500", "750011", "2A000", "", "75 001"):
        with pytest.raises(ValidationError, match="postal code") as info:
            clean_postal_code(raw, field="postal_code")
        assert info.value.field == "postal_code"
