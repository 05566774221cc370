"""The allergy/drug match, as a pure function over the shipped drug list."""

from __future__ import annotations

import pytest

from hygie import reference
from hygie.clinical.allergy_check import allergy_concerns_drug


@pytest.mark.parametrize(
    ("substance", "drug_code", "concerned"),
    [
        ("Allergie à l'amoxicilline", "D0034", True),  # ingredient inside a typed phrase
        ("amoxicilline (Clamoxyl)", "D0034", True),
        ("Pénicilline G", "D0034", True),  # class
        ("Aspirine", "D0017", True),  # synonym
        ("codéine", "D0006", True),  # one ingredient of two
        ("acide acétylsalicylique", "D0216", False),  # acide folique
        ("valproate de sodium", "D0232", False),  # chlorure de sodium
        ("Latex", "D0034", False),
    ],
)
def test_allergy_concerns_drug(substance: str, drug_code: str, concerned: bool) -> None:
    drug = reference.drugs()[drug_code]
    assert (
        allergy_concerns_drug(substance=substance, allergen_drug_code=None, drug=drug) is concerned
    )
