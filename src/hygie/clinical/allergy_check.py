"""Does an allergy concern a drug? A pure function, shared by prescribing and by the
synthetic data generator.

An allergy is a substance as typed by a clinician ("Pénicillines", "bêta-lactamines",
"Aspirine"), optionally coded with the drug it names. It concerns a drug when:
- it is coded with that very drug, or with a drug sharing an active ingredient or the
  same ATC chemical subgroup (first five characters);
- the substance names one of the drug's active ingredients (or is named by one), compared
  as whole names, so that "acide acétylsalicylique" does not match "acide folique";
- the substance names a drug class (penicillins, cephalosporins, quinolones...) whose ATC
  prefix the drug carries.
"""

from __future__ import annotations

from hygie import reference
from hygie.kit.text import search_key

# Class names (normalised, singular) and the ATC prefixes of the drugs they cover.
CLASS_ALLERGENS: dict[str, tuple[str, ...]] = {
    "PENICILLINE": ("J01C",),
    "BETALACTAMINE": ("J01C", "J01D"),
    "CEPHALOSPORINE": ("J01D",),
    "CARBAPENEME": ("J01DH",),
    "SULFAMIDE": ("J01E",),
    "SULFAMIDE ANTIBACTERIEN": ("J01E",),
    "MACROLIDE": ("J01F",),
    "QUINOLONE": ("J01M",),
    "FLUOROQUINOLONE": ("J01M",),
    "AMINOSIDE": ("J01G",),
    "TETRACYCLINE": ("J01A",),
    "AIN": ("M01A",),  # "AINS" once the plural is dropped
    "ANTI INFLAMMATOIRE NON STEROIDIEN": ("M01A",),
    "OPIACE": ("N02A",),
    "OPIOIDE": ("N02A",),
}

# Common names clinicians type for a substance listed under its INN.
SYNONYMS: dict[str, str] = {
    "ASPIRINE": "ACIDE ACETYLSALICYLIQUE",
    "AMOXICILLINE ACIDE CLAVULANIQUE": "AMOXICILLINE",
    "CO TRIMOXAZOLE": "SULFAMETHOXAZOLE",
    "COTRIMOXAZOLE": "SULFAMETHOXAZOLE",
}


def normalise(text: str) -> str:
    """Upper-case ASCII words, singular, with "bêta-lactamine" written as one word."""
    words = search_key(text).replace("BETA LACTAM", "BETALACTAM").split()
    singular = [w[:-1] if len(w) > 3 and w.endswith(("S", "X")) else w for w in words]
    return " ".join(singular)


def ingredients(drug_name: str) -> list[str]:
    """The active ingredients of a drug named like "amoxicilline + acide clavulanique"."""
    return [normalise(part) for part in drug_name.split("+") if part.strip()]


def _names(phrase: str, name: str) -> bool:
    """Whether ``name`` holds ``phrase`` as whole words."""
    return f" {phrase} " in f" {name} "


def allergy_concerns_drug(
    *, substance: str, allergen_drug_code: str | None, drug: reference.Drug
) -> bool:
    if allergen_drug_code == drug.code:
        return True
    drug_parts = ingredients(drug.name)
    allergen = reference.drugs().get(allergen_drug_code or "")
    if allergen is not None and (
        allergen.atc[:5] == drug.atc[:5] or set(ingredients(allergen.name)) & set(drug_parts)
    ):
        return True
    typed = normalise(substance)
    typed = SYNONYMS.get(typed, typed)
    # Either way round: "amoxicilline" is in "amoxicilline + acide clavulanique", and the
    # ingredient "amoxicilline" is in a typed "allergie à l'amoxicilline (Clamoxyl)".
    if typed and any(_names(typed, part) or _names(part, typed) for part in drug_parts):
        return True
    return any(
        drug.atc.startswith(prefix)
        for name, prefixes in CLASS_ALLERGENS.items()
        if _names(name, typed)
        for prefix in prefixes
    )
