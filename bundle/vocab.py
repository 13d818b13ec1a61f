"""Controlled vocabularies of the study-bundle contract (``shared/spec/data-contract.md``).

The one place where class names, nerves, sides, kinds, muscles, grades and their accepted
synonyms live. Everything else imports from here. Matching is case-insensitive after trimming;
synonyms are normalised to the canonical value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = [
    "CLASSES",
    "CLASS_LABELS",
    "PATTERNS",
    "PATTERN_OF",
    "GENERAL_LAB_PRIOR",
    "PRIORS",
    "DIAGNOSIS_SYNONYMS",
    "SEXES",
    "SEX_SYNONYMS",
    "NERVES",
    "NERVE_SYNONYMS",
    "UPPER_LIMB_NERVES",
    "LOWER_LIMB_NERVES",
    "NCS_SIDES",
    "SIDE_SYNONYMS",
    "KINDS",
    "SPECIAL_KINDS",
    "H_REFLEX_NERVE",
    "H_REFLEX_RECORDING_SITES",
    "H_REFLEX_STIM_SITES",
    "RNS_RECORDING_SITES",
    "EMG_SIDES",
    "MUSCLES",
    "MUSCLE_SYNONYMS",
    "MIDLINE_MUSCLES",
    "REGIONS",
    "INSERTIONAL",
    "SIZE_GRADES",
    "POLYPHASIA_GRADES",
    "RECRUITMENT",
    "ACTIVATION",
    "SPONTANEOUS_COLUMNS",
    "BOOLEAN_SYNONYMS",
    "normalise_token",
    "canonical",
    "check_option",
]

# --- diagnoses and patterns -------------------------------------------------------------------
CLASSES: tuple[str, ...] = (
    "normal",
    "als",
    "axonal_pn",
    "demyelinating_pn",
    "myopathy",
    "radiculopathy",
)
CLASS_LABELS: Mapping[str, str] = {
    "normal": "Normal study",
    "als": "ALS / motor neuron disease",
    "axonal_pn": "Axonal polyneuropathy",
    "demyelinating_pn": "Demyelinating polyneuropathy",
    "myopathy": "Myopathy",
    "radiculopathy": "Radiculopathy",
}
PATTERNS: tuple[str, ...] = ("neurogenic", "myopathic", "normal")
PATTERN_OF: Mapping[str, str] = {
    "normal": "normal",
    "als": "neurogenic",
    "axonal_pn": "neurogenic",
    "demyelinating_pn": "neurogenic",
    "myopathy": "myopathic",
    "radiculopathy": "neurogenic",
}
#: Realistic general-lab class mix of clinical reference §7.5 / T5.2 (Podnar 2005; J Clin
#: Neurosci 2019): normal about 80 %, radiculopathy 8 %, PN 9 % (axonal : demyelinating about
#: 85 : 15), ALS and myopathy about 1 % each [sim estimate for the last two]. The simulator's
#: training mix differs; predictions can be restated for this prevalence (Bayes' rule).
GENERAL_LAB_PRIOR: Mapping[str, float] = {
    "normal": 0.805,
    "als": 0.01,
    "axonal_pn": 0.0765,
    "demyelinating_pn": 0.0135,
    "myopathy": 0.01,
    "radiculopathy": 0.085,
}
#: Class prevalences a prediction can be stated for.
PRIORS: tuple[str, ...] = ("training", "general_lab")
DIAGNOSIS_SYNONYMS: Mapping[str, str] = {
    "mnd": "als",
    "motor_neuron_disease": "als",
    "axonal_polyneuropathy": "axonal_pn",
    "cidp": "demyelinating_pn",
    "demyelinating_polyneuropathy": "demyelinating_pn",
}

# --- studies ----------------------------------------------------------------------------------
SEXES: tuple[str, ...] = ("F", "M", "U")
SEX_SYNONYMS: Mapping[str, str] = {"female": "F", "male": "M", "unknown": "U"}

# --- nerve conduction -------------------------------------------------------------------------
NERVES: tuple[str, ...] = (
    "median",
    "ulnar",
    "radial",
    "peroneal",
    "tibial",
    "sural",
    "superficial_peroneal",
)
NERVE_SYNONYMS: Mapping[str, str] = {
    "fibular": "peroneal",
    "superficial_fibular": "superficial_peroneal",
}
UPPER_LIMB_NERVES: frozenset[str] = frozenset({"median", "ulnar", "radial"})
LOWER_LIMB_NERVES: frozenset[str] = frozenset(
    {"peroneal", "tibial", "sural", "superficial_peroneal"}
)
NCS_SIDES: tuple[str, ...] = ("L", "R")
SIDE_SYNONYMS: Mapping[str, str] = {"left": "L", "right": "R", "midline": "M"}
KINDS: tuple[str, ...] = ("motor", "sensory", "f_wave", "h_reflex", "rns")
#: the optional NCS kinds added to the contract on 2026-12-01 (``docs/data-contract.md``): the
#: tibial H-reflex and repetitive nerve stimulation at 2-3 Hz
SPECIAL_KINDS: tuple[str, ...] = ("h_reflex", "rns")
#: the H-reflex of the contract is the tibial H-reflex recorded from soleus, stimulated in the
#: popliteal fossa (data contract, "Two optional kinds")
H_REFLEX_NERVE = "tibial"
H_REFLEX_RECORDING_SITES: frozenset[str] = frozenset({"soleus"})
H_REFLEX_STIM_SITES: frozenset[str] = frozenset({"popliteal_fossa"})
#: recording sites (normalised tokens: abbreviation or canonical muscle) that fit repetitive
#: stimulation of each motor nerve of the contract (data contract: ulnar -> adm, median -> apb;
#: the others are the distal muscles of the motor studies, T1.1). Sensory nerves carry no RNS.
RNS_RECORDING_SITES: Mapping[str, frozenset[str]] = {
    "median": frozenset({"apb", "abductor_pollicis_brevis"}),
    "ulnar": frozenset({"adm", "abductor_digiti_minimi", "fdi", "first_dorsal_interosseous"}),
    "radial": frozenset({"eip", "extensor_indicis", "edc", "extensor_digitorum", "anconeus"}),
    "peroneal": frozenset({"edb", "extensor_digitorum_brevis", "ta", "tibialis_anterior"}),
    "tibial": frozenset({"ah", "abductor_hallucis"}),
}

# --- needle EMG -------------------------------------------------------------------------------
EMG_SIDES: tuple[str, ...] = ("L", "R", "M")
MUSCLES: tuple[str, ...] = (
    "tongue",
    "masseter",
    "sternocleidomastoid",
    "frontalis",
    "orbicularis_oris",
    "cervical_paraspinal",
    "thoracic_paraspinal",
    "lumbar_paraspinal",
    "deltoid",
    "supraspinatus",
    "infraspinatus",
    "biceps",
    "triceps",
    "brachioradialis",
    "pronator_teres",
    "flexor_carpi_radialis",
    "flexor_carpi_ulnaris",
    "extensor_digitorum",
    "extensor_indicis",
    "first_dorsal_interosseous",
    "abductor_pollicis_brevis",
    "abductor_digiti_minimi",
    "iliopsoas",
    "gluteus_medius",
    "gluteus_maximus",
    "tensor_fasciae_latae",
    "adductor_longus",
    "vastus_lateralis",
    "vastus_medialis",
    "rectus_femoris",
    "biceps_femoris_short_head",
    "tibialis_anterior",
    "peroneus_longus",
    "tibialis_posterior",
    "extensor_hallucis_longus",
    "medial_gastrocnemius",
    "soleus",
    "abductor_hallucis",
    "extensor_digitorum_brevis",
)
MUSCLE_SYNONYMS: Mapping[str, str] = {
    "genioglossus": "tongue",
    "scm": "sternocleidomastoid",
    "fdi": "first_dorsal_interosseous",
    "first_dorsal_interosseus": "first_dorsal_interosseous",
    "apb": "abductor_pollicis_brevis",
    "adm": "abductor_digiti_minimi",
    "edc": "extensor_digitorum",
    "extensor_digitorum_communis": "extensor_digitorum",
    "eip": "extensor_indicis",
    "extensor_indicis_proprius": "extensor_indicis",
    "fcr": "flexor_carpi_radialis",
    "fcu": "flexor_carpi_ulnaris",
    "biceps_brachii": "biceps",
    "triceps_brachii": "triceps",
    "ta": "tibialis_anterior",
    "tib_ant": "tibialis_anterior",
    "ehl": "extensor_hallucis_longus",
    "edb": "extensor_digitorum_brevis",
    "ah": "abductor_hallucis",
    "gastrocnemius_medial": "medial_gastrocnemius",
    "gastrocnemius": "medial_gastrocnemius",
    "medial_gastroc": "medial_gastrocnemius",
    "peroneus_longus_muscle": "peroneus_longus",
    "fibularis_longus": "peroneus_longus",
    "tfl": "tensor_fasciae_latae",
    "vl": "vastus_lateralis",
    "vm": "vastus_medialis",
    "rf": "rectus_femoris",
    "bfsh": "biceps_femoris_short_head",
    "lumbosacral_paraspinal": "lumbar_paraspinal",
    "paraspinal_lumbar": "lumbar_paraspinal",
    "paraspinal_cervical": "cervical_paraspinal",
    "paraspinal_thoracic": "thoracic_paraspinal",
}
#: muscles that may be examined on the midline (side ``M``): head and axial muscles
#: (``limb`` ``head`` or ``axial`` in ``features/reference/muscles.csv``; a test keeps them equal)
MIDLINE_MUSCLES: frozenset[str] = frozenset(
    {
        "tongue",
        "masseter",
        "sternocleidomastoid",
        "frontalis",
        "orbicularis_oris",
        "cervical_paraspinal",
        "thoracic_paraspinal",
        "lumbar_paraspinal",
    }
)
REGIONS: tuple[str, ...] = ("bulbar", "cervical", "thoracic", "lumbosacral")
INSERTIONAL: tuple[str, ...] = ("normal", "increased", "decreased")
SIZE_GRADES: tuple[str, ...] = ("decreased", "normal", "increased")
POLYPHASIA_GRADES: tuple[str, ...] = ("normal", "increased")
RECRUITMENT: tuple[str, ...] = ("normal", "reduced", "early", "discrete", "none")
ACTIVATION: tuple[str, ...] = ("normal", "reduced")
SPONTANEOUS_COLUMNS: tuple[str, ...] = ("fibs", "psw", "fascics", "crd", "myotonia")
BOOLEAN_SYNONYMS: Mapping[str, bool] = {
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
}


def normalise_token(value: object) -> str:
    """Lower-case, trim and snake-case a free-text vocabulary token (``"First Dorsal"`` → ``first_dorsal``)."""
    return "_".join(str(value).strip().lower().replace("-", " ").split())


def canonical(
    value: object, allowed: Iterable[str], synonyms: Mapping[str, str] | None = None
) -> str | None:
    """Return the canonical spelling of ``value`` or ``None`` when it is not in the vocabulary.

    Matching is case-insensitive after trimming; ``synonyms`` maps normalised tokens to
    canonical values. Case-sensitive vocabularies (``L``/``R``, ``F``/``M``) are matched by
    their lower-case form.
    """
    token = normalise_token(value)
    by_lower = {a.lower(): a for a in allowed}
    if token in by_lower:
        return by_lower[token]
    if synonyms and token in synonyms:
        return synonyms[token]
    return None


def check_option(name: str, value: object, allowed: Iterable[str]) -> str:
    """Validate a single option, raising a ``ValueError`` that lists what is allowed."""
    allowed = tuple(allowed)
    found = canonical(value, allowed)
    if found is None:
        raise ValueError(
            f"Invalid value for the {name!r} parameter: {value!r}. Allowed: {', '.join(allowed)}."
        )
    return found
