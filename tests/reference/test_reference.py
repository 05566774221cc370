"""The shipped reference tables load, are internally consistent, and can be searched."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from importlib import resources

import pytest

from hygie import reference
from hygie.reference import (
    ACT_SYSTEMS,
    ROUTES,
    acts,
    cim10_codes,
    cim10_search,
    communes,
    countries,
    drug_search,
    drugs,
    is_known_birthplace,
)

CIM10_CODE = re.compile(r"^[A-Z][0-9]{2}(\.[0-9]{1,2})?$")
ATC_CODE = re.compile(r"^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$")
CCAM_CODE = re.compile(r"^[A-Z]{4}[0-9]{3}$")
COMMUNE_CODE = re.compile(r"^(?:[0-9]{5}|2[AB][0-9]{3})$")
COUNTRY_CODE = re.compile(r"^99[0-9]{3}$")
FILES = {
    "cim10.csv": "code",
    "drugs.csv": "code",
    "acts.csv": "code",
    "communes.csv": "insee_code",
    "countries.csv": "insee_code",
}


def _raw_rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("hygie.reference").joinpath("data", filename).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@pytest.mark.parametrize(("filename", "key"), sorted(FILES.items()))
def test_files_have_unique_keys(filename: str, key: str) -> None:
    rows = _raw_rows(filename)
    keys = [row[key] for row in rows]
    assert keys, filename
    assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1]


def test_every_table_loads_with_expected_size() -> None:
    assert 300 <= len(cim10_codes()) <= 400
    assert 150 <= len(drugs()) <= 250
    assert 40 <= len(acts()) <= 80
    assert 250 <= len(communes()) <= 400
    assert 40 <= len(countries()) <= 60
    # Every row of each file made it into its mapping (no silent overwrite).
    assert len(cim10_codes()) == len(_raw_rows("cim10.csv"))
    assert len(drugs()) == len(_raw_rows("drugs.csv"))
    assert len(acts()) == len(_raw_rows("acts.csv"))
    assert len(communes()) == len(_raw_rows("communes.csv"))
    assert len(countries()) == len(_raw_rows("countries.csv"))


def test_tables_are_loaded_once_and_read_only() -> None:
    assert cim10_codes() is cim10_codes()
    assert drugs() is drugs()
    table = acts()
    with pytest.raises(TypeError):
        table["X"] = table["G"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        table["G"].label = "changed"  # type: ignore[misc]


def test_cim10_codes_are_well_formed() -> None:
    for code, entry in cim10_codes().items():
        assert code == entry.code
        assert CIM10_CODE.match(code), code
        assert entry.label == entry.label.strip() and entry.label, code
    # Every chapter of the classification is represented (U: codes for special purposes).
    letters = {code[0] for code in cim10_codes()}
    assert set("ABCDEFGHIJKLMNOPQRSTVWZ") <= letters
    assert cim10_codes()["I10"].label == "Hypertension essentielle (primitive)"
    assert cim10_codes()["E11.9"].label == "Diabète sucré de type 2, sans complication"


def test_drugs_are_well_formed() -> None:
    for code, drug in drugs().items():
        assert code == drug.code
        assert re.match(r"^D[0-9]{4}$", code), code
        assert ATC_CODE.match(drug.atc), (code, drug.atc)
        assert drug.route in ROUTES, (code, drug.route)
        assert drug.name == drug.name.lower(), (code, drug.name)
    by_name = {d.name: d.atc for d in drugs().values()}
    assert by_name["paracétamol"] == "N02BE01"
    assert by_name["amoxicilline"] == "J01CA04"
    assert by_name["sulfaméthoxazole + triméthoprime"] == "J01EE01"


def test_drugs_cover_the_allergy_classes() -> None:
    atcs = {d.atc for d in drugs().values()}
    names = {d.name for d in drugs().values()}
    assert any(a.startswith("J01C") for a in atcs)  # penicillins
    assert any(a.startswith("J01D") for a in atcs)  # cephalosporins and carbapenems
    assert any(a.startswith("J01E") for a in atcs)  # sulfonamides
    assert any(a.startswith("M01A") for a in atcs)  # NSAIDs
    assert {"ibuprofène", "kétoprofène", "acide acétylsalicylique", "morphine"} <= names
    assert any("codéine" in n for n in names)


def test_acts_are_well_formed() -> None:
    for code, act in acts().items():
        assert code == act.code
        assert act.system in ACT_SYSTEMS
        assert isinstance(act.amount_eur, Decimal)
        assert act.amount_eur > 0
        assert act.amount_eur == act.amount_eur.quantize(Decimal("0.01")), code
        if act.system == "CCAM":
            assert CCAM_CODE.match(code), code
        else:
            assert re.match(r"^[A-Z]{1,5}$", code), code
    assert acts()["G"].amount_eur == Decimal("30.00")
    assert acts()["DEQP003"].system == "CCAM"
    assert {a.system for a in acts().values()} == ACT_SYSTEMS


def test_communes_are_consistent_with_their_department() -> None:
    for code, commune in communes().items():
        assert code == commune.insee_code
        assert len(code) == 5 and COMMUNE_CODE.match(code), code
        dep = commune.department
        if code.startswith("97"):
            assert len(dep) == 3, code
        else:
            assert len(dep) == 2, code
        assert code.startswith(dep), (code, dep)
    paris = {f"751{n:02d}" for n in range(1, 21)}
    assert paris <= communes().keys()
    for code, name in {
        "13055": "Marseille",
        "69123": "Lyon",
        "31555": "Toulouse",
        "06088": "Nice",
        "2A004": "Ajaccio",
        "2B033": "Bastia",
        "97101": "Les Abymes",
        "97209": "Fort-de-France",
        "97411": "Saint-Denis",
        "97302": "Cayenne",
    }.items():
        assert communes()[code].name == name
    departments = {c.department for c in communes().values()}
    assert {"77", "78", "91", "92", "93", "94", "95", "2A", "2B", "971", "972", "973", "974"} <= (
        departments
    )


def test_countries_are_well_formed() -> None:
    for code, country in countries().items():
        assert code == country.insee_code
        assert code.startswith("99") and COUNTRY_CODE.match(code), code
    assert "99100" not in countries()  # France itself is not a foreign country
    assert countries()["99352"].name == "Algérie"
    assert countries()["99134"].name == "Espagne"


def test_is_known_birthplace() -> None:
    assert is_known_birthplace("75115")
    assert is_known_birthplace("2a004")
    assert is_known_birthplace(" 99350 ")
    assert not is_known_birthplace("99100")
    assert not is_known_birthplace("00000")
    assert not is_known_birthplace("")


def test_cim10_search_is_accent_and_case_insensitive() -> None:
    found = cim10_search("diabete")
    assert found and all("iabète" in c.label for c in found)
    assert "E11.9" in {c.code for c in found}
    assert "E11.9" in {c.code for c in cim10_search("DIABÈTE TYPE 2")}
    assert cim10_search("E11.9")[0].code == "E11.9"
    assert cim10_search("e119")[0].code == "E11.9"
    assert {c.code for c in cim10_search("j45")} == {"J45.0", "J45.9"}
    assert "K21.0" in {c.code for c in cim10_search("oesophagite")}
    assert len(cim10_search("a", limit=3)) == 3
    assert cim10_search("diabete", limit=0) == []
    assert cim10_search("   ") == []
    assert cim10_search("zzzz") == []


def test_drug_search_is_accent_and_case_insensitive() -> None:
    found = drug_search("paracetamol")
    assert found and found[0].name == "paracétamol"
    assert all("paracétamol" in d.name for d in found)
    assert {d.strength for d in drug_search("Paracétamol 500")} >= {"500 mg"}
    assert {d.name for d in drug_search("J01C")} >= {"amoxicilline", "cloxacilline"}
    assert drug_search("D0001")[0].code == "D0001"
    assert drug_search("ibuprofene", limit=1)[0].atc == "M01AE01"
    assert drug_search("") == []


def test_public_api_is_exported() -> None:
    for name in reference.__all__:
        assert hasattr(reference, name), name
