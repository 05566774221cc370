"""NIR, RPPS and FINESS validation, with property tests over the whole space of valid NIRs."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hygie.errors import ValidationError
from hygie.kit.identifiers import (
    luhn_key,
    luhn_valid,
    nir_key,
    normalise_nir,
    parse_finess,
    parse_nir,
    parse_rpps,
)
from tests.factories import finess, nir, rpps

# --- NIR --------------------------------------------------------------------------------

REAL_MONTHS = list(range(1, 13))
CONVENTIONAL_MONTHS = [*range(20, 43), *range(50, 100)]
DEPARTMENTS = [f"{d:02d}" for d in range(1, 100)] + ["2A", "2B"]


@st.composite
def nir_bodies(draw: st.DrawFn) -> str:
    """A 13-character NIR body that every structural rule accepts."""
    sex = draw(st.sampled_from("12"))
    year = draw(st.integers(0, 99))
    month = draw(st.sampled_from(REAL_MONTHS + CONVENTIONAL_MONTHS))
    dep = draw(st.sampled_from(DEPARTMENTS))
    commune = draw(st.integers(0, 999))
    order = draw(st.integers(1, 999))
    return f"{sex}{year:02d}{month:02d}{dep}{commune:03d}{order:03d}"


def with_key(body: str) -> str:
    return f"{body}{nir_key(body):02d}"


@given(nir_bodies())
def test_every_nir_with_its_computed_key_is_accepted(body: str) -> None:
    value = with_key(body)
    parsed = parse_nir(value)
    assert parsed.value == value
    assert parse_nir(parsed.formatted).value == value  # the spaced form reads back


@given(nir_bodies(), st.data())
def test_changing_any_single_digit_is_refused(body: str, data: st.DataObject) -> None:
    value = with_key(body)
    positions = [i for i, c in enumerate(value) if c.isdigit()]
    i = data.draw(st.sampled_from(positions))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != value[i]]))
    with pytest.raises(ValidationError) as info:
        parse_nir(value[:i] + digit + value[i + 1 :])
    assert info.value.field == "nir"


@given(nir_bodies(), st.integers(0, 99))
def test_any_other_key_is_refused(body: str, key: int) -> None:
    assume(key != nir_key(body))
    with pytest.raises(ValidationError, match="key") as info:
        parse_nir(f"{body}{key:02d}")
    assert f"expected {nir_key(body):02d}" in info.value.message


@pytest.mark.parametrize(
    ("body", "number_for_key"),
    [("185052A012345", 1850519012345), ("285052B012345", 2850518012345)],
)
def test_corsica_keys_count_2a_as_19_and_2b_as_18(body: str, number_for_key: int) -> None:
    expected = 97 - number_for_key % 97
    assert nir_key(body) == expected
    assert parse_nir(f"{body}{expected:02d}").department == body[5:7]
    assert parse_nir(f"{body.lower()}{expected:02d}").value == f"{body}{expected:02d}"
    # The naive reading (Corsica as 20) gives another key, which is refused.
    naive = 97 - int(body[:5] + "20" + body[7:]) % 97
    assert naive != expected
    with pytest.raises(ValidationError, match="key"):
        parse_nir(f"{body}{naive:02d}")


@pytest.mark.parametrize("month", [*range(13, 20), *range(43, 50), 0])
def test_months_13_to_19_and_43_to_49_are_refused(month: int) -> None:
    with pytest.raises(ValidationError, match="not a month") as info:
        parse_nir(nir(mm=month))
    assert info.value.field == "nir"


@pytest.mark.parametrize("month", CONVENTIONAL_MONTHS)
def test_conventional_months_are_accepted_as_unknown(month: int) -> None:
    assert parse_nir(nir(mm=month)).birth_month is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (nir()[:-1], "15 characters"),
        (nir() + "0", "15 characters"),
        ("", "15 characters"),
        *[(with_key(f"{sex}800575056001"), "starts with 1") for sex in "0345789"],
        ("18005AB05600112", "2A or 2B"),
        ("1800575O5600112", "2A or 2B"),  # a letter O for a zero
        (with_key("1800500056001"), "department 00"),
        (with_key("1800575056000"), "order number 000"),
    ],
)
def test_malformed_nirs_are_refused(raw: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_nir(raw)


def test_spaces_dots_and_hyphens_are_tolerated() -> None:
    value = nir()
    spaced = f" {value[0]} {value[1:3]} {value[3:5]}.{value[5:7]}-{value[7:10]} {value[10:13]}  {value[13:]} "
    assert parse_nir(spaced).value == value
    assert normalise_nir("2 a") == "2A"


def test_the_error_names_the_field_it_was_given() -> None:
    with pytest.raises(ValidationError) as info:
        parse_nir("123", field="insured_nir")
    assert info.value.field == "insured_nir"
    assert str(info.value).startswith("insured_nir: ")


def test_what_a_nir_says_of_its_holder() -> None:
    parsed = parse_nir(nir(sex=2, yy=91, mm=11, dep="69"))
    assert (parsed.sex, parsed.birth_year_2, parsed.birth_month) == ("female", 91, 11)
    assert parsed.department == "69"
    assert parse_nir(nir(sex=1, dep="97", commune="411")).department == "974"
    assert parse_nir(nir()).formatted == " ".join(
        [nir()[0], nir()[1:3], nir()[3:5], nir()[5:7], nir()[7:10], nir()[10:13], nir()[13:]]
    )


# --- Luhn, RPPS, FINESS -------------------------------------------------------------------


def test_luhn_known_values() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert luhn_key("7992739871") == "3"


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_every_rpps_with_its_luhn_key_is_accepted(body: str) -> None:
    assert parse_rpps(body + luhn_key(body)) == body + luhn_key(body)


@given(st.integers(1, 10**6), st.data())
def test_a_single_wrong_digit_in_an_rpps_is_refused(n: int, data: st.DataObject) -> None:
    value = rpps(n)
    i = data.draw(st.integers(0, 10))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != value[i]]))
    with pytest.raises(ValidationError, match="Luhn") as info:
        parse_rpps(value[:i] + digit + value[i + 1 :])
    assert info.value.field == "rpps"


@pytest.mark.parametrize("raw", ["", "1234567890", "123456789012", "1000000000A", "10000-000013"])
def test_malformed_rpps_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError, match="11 digits"):
        parse_rpps(raw)


def test_rpps_spaces_are_tolerated() -> None:
    value = rpps(42)
    assert parse_rpps(f" {value[:5]} {value[5:]} ") == value


def test_valid_finess_numbers() -> None:
    value = finess(1)
    assert parse_finess(f"{value[:2]} {value[2:]}") == value
    key = luhn_key("20123456")  # Corsica counts as 20 in the key
    for dep in ("2A", "2B"):
        assert parse_finess(f"{dep.lower()}123456{key}") == f"{dep}123456{key}"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "9 characters"),
        ("75000001", "9 characters"),
        ("7500000123", "9 characters"),
        ("2C0000001", "9 characters"),
        ("75000A001", "9 characters"),
        (finess(1)[:-1] + str((int(finess(1)[-1]) + 1) % 10), "Luhn"),
    ],
)
def test_malformed_finess_numbers_are_refused(raw: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        parse_finess(raw)
    assert info.value.field == "finess"
