"""Word pools for synthetic people and places: Faker's fr_FR data plus Hygie's reference
lists, loaded once per process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from faker.providers.person.fr_FR import Provider as PersonProvider

from hygie import reference
from hygie.kit.text import search_key

# Île-de-France towns with their postal code, where the group's patients mostly live.
TOWNS: tuple[tuple[str, str], ...] = (
    ("Paris", "75011"),
    ("Paris", "75012"),
    ("Paris", "75013"),
    ("Paris", "75014"),
    ("Paris", "75015"),
    ("Paris", "75017"),
    ("Paris", "75018"),
    ("Paris", "75019"),
    ("Paris", "75020"),
    ("Paris", "75005"),
    ("Paris", "75010"),
    ("Paris", "75016"),
    ("Boulogne-Billancourt", "92100"),
    ("Nanterre", "92000"),
    ("Colombes", "92700"),
    ("Courbevoie", "92400"),
    ("Rueil-Malmaison", "92500"),
    ("Issy-les-Moulineaux", "92130"),
    ("Montrouge", "92120"),
    ("Clichy", "92110"),
    ("Saint-Denis", "93200"),
    ("Montreuil", "93100"),
    ("Aubervilliers", "93300"),
    ("Aulnay-sous-Bois", "93600"),
    ("Bobigny", "93000"),
    ("Pantin", "93500"),
    ("Noisy-le-Grand", "93160"),
    ("Créteil", "94000"),
    ("Vitry-sur-Seine", "94400"),
    ("Champigny-sur-Marne", "94500"),
    ("Ivry-sur-Seine", "94200"),
    ("Saint-Maur-des-Fossés", "94100"),
    ("Vincennes", "94300"),
    ("Villejuif", "94800"),
    ("Versailles", "78000"),
    ("Argenteuil", "95100"),
    ("Cergy", "95000"),
    ("Évry-Courcouronnes", "91000"),
    ("Massy", "91300"),
    ("Meaux", "77100"),
    ("Melun", "77000"),
)

STREET_NAMES: tuple[str, ...] = (
    "de la République",
    "Victor Hugo",
    "Jean Jaurès",
    "de la Gare",
    "Pasteur",
    "du Général de Gaulle",
    "des Lilas",
    "de Paris",
    "Gambetta",
    "Voltaire",
    "de la Paix",
    "Carnot",
    "Émile Zola",
    "des Écoles",
    "de la Mairie",
    "du Moulin",
    "Jules Ferry",
    "de Verdun",
    "Anatole France",
    "du Château",
    "des Tilleuls",
    "Lafayette",
    "de Belleville",
    "de Charonne",
    "Aristide Briand",
    "Marcel Cachin",
    "Paul Vaillant-Couturier",
    "de la Liberté",
    "des Roses",
    "du Marché",
    "Saint-Antoine",
    "Faidherbe",
    "de Montreuil",
)

MUTUELLES: tuple[tuple[str, str], ...] = (
    ("MGEN", "77568536"),
    ("Harmonie Mutuelle", "53851259"),
    ("MACIF Mutuelle", "77934350"),
    ("Malakoff Humanis", "77574020"),
    ("AG2R La Mondiale", "33319372"),
    ("Mutuelle Générale", "77570066"),
    ("MAAF Santé", "31241850"),
    ("Swiss Life Santé", "32215064"),
    ("AXA Santé", "31049908"),
    ("Groupama Santé", "34311510"),
    ("April Santé", "42889395"),
    ("Complémentaire santé solidaire", "99999997"),
)

REGIMES: tuple[tuple[str, int], ...] = (
    ("01", 85),
    ("02", 7),
    ("03", 3),
    ("04", 2),
    ("05", 1),
    ("10", 2),
)

ALLERGENS: tuple[tuple[str, str | None, str], ...] = (
    # substance, drug it names (looked up by name in the drug list), typical reaction
    ("Pénicillines", None, "urticaire généralisée"),
    ("Amoxicilline", "amoxicilline", "éruption cutanée"),
    ("Aspirine", "acide acétylsalicylique", "bronchospasme"),
    ("Sulfamides", None, "éruption cutanée"),
    ("Iode (produits de contraste)", None, "urticaire"),
    ("Latex", None, "dermite de contact"),
    ("Arachide", None, "œdème de Quincke"),
    ("Pollens de graminées", None, "rhinite"),
    ("Codéine", "codéine", "nausées, vomissements"),
    ("Ibuprofène", "ibuprofène", "œdème de Quincke"),
    ("Céphalosporines", None, "urticaire"),
    ("Acariens", None, "asthme"),
)

CONSULTATION_REASONS: tuple[str, ...] = (
    "Consultation de suivi",
    "Renouvellement d'ordonnance",
    "Bilan annuel",
    "Douleurs abdominales",
    "Suivi HTA",
    "Suivi diabète",
    "Contrôle post-opératoire",
    "Douleurs lombaires",
    "Toux persistante",
    "Avis spécialisé",
    "Bilan cardiologique",
    "Suivi de grossesse",
    "Consultation pré-anesthésique",
    "Vaccination",
    "Fièvre",
)

STAY_REASONS: tuple[str, ...] = (
    "Décompensation cardiaque",
    "Pneumopathie",
    "Chirurgie programmée",
    "Fracture du col du fémur",
    "Douleur thoracique",
    "Cholécystectomie",
    "Accouchement",
    "Altération de l'état général",
    "Pose de prothèse de hanche",
    "Appendicectomie",
    "Malaise",
    "Chute",
)


@dataclass(frozen=True)
class Pools:
    male_first: tuple[str, ...]
    female_first: tuple[str, ...]
    last_names: tuple[str, ...]
    street_prefixes: tuple[str, ...]
    birthplaces: tuple[str, ...]  # INSEE codes of communes
    countries: tuple[str, ...]  # INSEE codes of countries (99xxx)
    cim10: tuple[str, ...]
    drugs_oral: tuple[str, ...]
    drugs_hospital: tuple[str, ...]
    ngap_consultations: tuple[str, ...]
    ccam_acts: tuple[str, ...]
    allergen_drug_codes: dict[str, str]


@cache
def pools() -> Pools:
    drugs = reference.drugs()
    by_name = {search_key(d.name): d.code for d in drugs.values()}
    allergen_codes = {
        substance: by_name[search_key(name)]
        for substance, name, _ in ALLERGENS
        if name is not None and search_key(name) in by_name
    }
    acts = reference.acts()
    consultations = (
        tuple(code for code in ("G", "GS", "CS", "APC", "APY", "CSC") if code in acts)
        or tuple(a.code for a in acts.values() if a.system == "NGAP")[:3]
    )
    return Pools(
        male_first=tuple(PersonProvider.first_names_male),
        female_first=tuple(PersonProvider.first_names_female),
        last_names=tuple(PersonProvider.last_names),
        street_prefixes=("rue", "rue", "rue", "avenue", "boulevard", "allée", "place", "impasse"),
        birthplaces=tuple(sorted(reference.communes())),
        countries=tuple(sorted(reference.countries())),
        cim10=tuple(sorted(reference.cim10_codes())),
        drugs_oral=tuple(sorted(c for c, d in drugs.items() if d.route == "oral")),
        drugs_hospital=tuple(
            sorted(c for c, d in drugs.items() if d.route in ("iv", "sc", "oral"))
        ),
        ngap_consultations=consultations,
        ccam_acts=tuple(sorted(a.code for a in acts.values() if a.system == "CCAM")),
        allergen_drug_codes=allergen_codes,
    )


__all__ = ["Pools", "pools"]
