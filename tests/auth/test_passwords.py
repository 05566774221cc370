"""The password policy (NIST SP 800-63B) and argon2id hashing."""

from __future__ import annotations

import unicodedata

import pytest
from argon2 import PasswordHasher
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hygie.auth import passwords
from hygie.errors import ValidationError


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("short pass", ["too short"]),
        ("x" * 129 + "yz", ["too long"]),
        ("password1234", ["too common"]),  # straight from the breached lists
        ("Summer2024!!!", ["too common"]),  # a breached word stretched with digits
        ("!!monkey123456", ["too common"]),
        ("marie.curie2026", ["too common"]),  # the account's own name
        ("Hygie-2026-!!!", ["too common"]),  # the service's name
        ("aaaaaaaaaaaaaaaa", ["repetition"]),
        ("abcabcabcabcabc", ["repetition"]),
        ("abcdefghijklmnop", ["sequence"]),
    ],
)
def test_refused(password: str, words: list[str]) -> None:
    with pytest.raises(ValidationError) as refused:
        passwords.check_password(password, username="marie.curie")
    assert refused.value.field == "password"
    for word in words:
        assert word in str(refused.value)


@pytest.mark.parametrize(
    "password",
    [
        "violet tram under the bridge",  # no digit, no capital, no symbol: fine
        "correcthorsebattery",
        "ŒUVRE-d'art-à-Lyon",
        "x" * 64 + "yz" * 32,  # exactly 128
        "日本語のパスワードです十二",  # 13 code points, well over 12 bytes
    ],
)
def test_accepted_without_composition_rules(password: str) -> None:
    assert passwords.check_password(password) == unicodedata.normalize("NFKC", password)


def test_length_counts_code_points_after_nfkc() -> None:
    # U+FB01 (the "ﬁ" ligature) is one code point that NFKC turns into two: "fi".
    eleven = "ﬁ" + "gure-out8x"  # 11 code points as typed, 12 after NFKC
    assert len(eleven) == 11
    assert passwords.check_password(eleven) == "figure-out8x"
    with pytest.raises(ValidationError, match="too short"):
        passwords.check_password("é" * 5 + "ûxyzw6")  # 11 code points, more bytes


def test_the_shipped_list_is_loaded() -> None:
    blocked = passwords.breached_passwords()
    assert len(blocked) > 30_000
    assert {"password", "123456", "qwertyuiop"} <= blocked


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=140))
def test_policy_is_length_and_block_list_only(candidate: str) -> None:
    value = passwords.normalise(candidate)
    try:
        accepted = passwords.check_password(candidate)
    except ValidationError:
        accepted = None
    if not passwords.MIN_LENGTH <= len(value) <= passwords.MAX_LENGTH:
        assert accepted is None
    elif accepted is not None:
        assert accepted == value


@settings(max_examples=100, deadline=None)
@given(
    st.text(
        alphabet=st.characters(codec="utf-8", categories=["Ll", "Lu", "Nd", "Zs", "Po"]),
        min_size=12,
        max_size=60,
    )
)
def test_varied_passwords_of_any_composition_are_accepted(candidate: str) -> None:
    value = passwords.normalise(candidate)
    assume(len(value) >= 12 and len(set(value.casefold())) >= 8)
    assume(value.casefold() not in passwords.breached_passwords())
    stem = passwords._AFFIXES.sub("", value.casefold())
    assume(stem not in passwords.breached_passwords() and stem != "hygie")
    assert passwords.check_password(candidate) == value


def test_hash_is_argon2id_and_verifies() -> None:
    stored = passwords.hash_password("violet tram under the bridge")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify_password(stored, "violet tram under the bridge")
    assert not passwords.verify_password(stored, "violet tram under the bridgE")
    assert not passwords.verify_password("not a hash", "violet tram under the bridge")
    assert not passwords.needs_rehash(stored)


def test_hash_of_the_normalised_form() -> None:
    stored = passwords.hash_password("ﬁgure it out now")
    assert passwords.verify_password(stored, "figure it out now")


def test_old_parameters_need_a_rehash() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("whatever it is")
    assert passwords.needs_rehash(old)
    assert passwords.verify_password(old, "whatever it is")


def test_generated_passwords_pass_the_policy() -> None:
    made = {passwords.generate_password() for _ in range(20)}
    assert len(made) == 20
    for value in made:
        assert len(value) == 24
        assert passwords.check_password(value) == value
