"""Vocabularies: synonyms normalise, unknown values are rejected with the allowed list."""

from __future__ import annotations

import pytest

from bundle import vocab
from features.reference import load_muscles


@pytest.mark.parametrize(
    ("value", "allowed", "synonyms", "expected"),
    [
        ("Fibular", vocab.NERVES, vocab.NERVE_SYNONYMS, "peroneal"),
        (" superficial_fibular ", vocab.NERVES, vocab.NERVE_SYNONYMS, "superficial_peroneal"),
        ("left", vocab.NCS_SIDES, vocab.SIDE_SYNONYMS, "L"),
        ("r", vocab.NCS_SIDES, vocab.SIDE_SYNONYMS, "R"),
        ("FDI", vocab.MUSCLES, vocab.MUSCLE_SYNONYMS, "first_dorsal_interosseous"),
        ("Extensor Digitorum Communis", vocab.MUSCLES, vocab.MUSCLE_SYNONYMS, "extensor_digitorum"),
        ("CIDP", vocab.CLASSES, vocab.DIAGNOSIS_SYNONYMS, "demyelinating_pn"),
        ("MND", vocab.CLASSES, vocab.DIAGNOSIS_SYNONYMS, "als"),
        ("gastrocnemius_medial", vocab.MUSCLES, vocab.MUSCLE_SYNONYMS, "medial_gastrocnemius"),
    ],
)
def test_canonical_resolves_synonyms_case_insensitively(value, allowed, synonyms, expected):
    assert vocab.canonical(value, allowed, synonyms) == expected


def test_canonical_returns_none_for_unknown():
    assert vocab.canonical("pinky_toe", vocab.MUSCLES, vocab.MUSCLE_SYNONYMS) is None


def test_check_option_names_parameter_and_allowed_values():
    with pytest.raises(ValueError, match=r"'nerve' parameter: 'femoral'.*median"):
        vocab.check_option("nerve", "femoral", vocab.NERVES)


def test_every_synonym_points_to_a_canonical_value():
    assert set(vocab.MUSCLE_SYNONYMS.values()) <= set(vocab.MUSCLES)
    assert set(vocab.NERVE_SYNONYMS.values()) <= set(vocab.NERVES)
    assert set(vocab.DIAGNOSIS_SYNONYMS.values()) <= set(vocab.CLASSES)


def test_pattern_of_covers_every_class():
    assert set(vocab.PATTERN_OF) == set(vocab.CLASSES)
    assert set(vocab.PATTERN_OF.values()) == set(vocab.PATTERNS)


def test_muscle_table_covers_every_canonical_muscle_with_region():
    table = load_muscles()
    assert list(table.index) == list(vocab.MUSCLES)
    assert set(table["region"]) == set(vocab.REGIONS)
    limb = table[table["limb"].isin(["upper", "lower"])]
    assert all(len(r) >= 1 for r in limb["main_roots"]), "every limb muscle has a main root"
    assert table.loc["tibialis_anterior", "main_roots"] == ("L5",)
    assert table.loc["first_dorsal_interosseous", "region"] == "cervical"
