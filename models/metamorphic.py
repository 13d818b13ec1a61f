"""Metamorphic relations MR1-MR12 of ``clinical/invariants.md``: run them all with :func:`check_all`.

The library is split by concern:

* :mod:`models.metamorphic_transforms`, :mod:`models.metamorphic_muscles` — pure
  ``Bundle -> Bundle`` transforms (NCS, studies, presentation; needle EMG rows);
* :mod:`models.metamorphic_core` — :class:`RelationResult`, :class:`Violation`, batching;
* :mod:`models.metamorphic_relations` (MR1, MR2, MR6, MR9, MR10),
  :mod:`models.metamorphic_regions` (MR3-MR5), :mod:`models.metamorphic_evidence` (MR7, MR8) —
  probabilities only, one batch each;
* :mod:`models.metamorphic_io` — MR11 (unit mix-ups through validation) and MR12 (exact).

Each relation runs on the vignettes invariants.md names; the generic ones (MR1, MR2a, MR6,
MR7, MR9, MR10, MR12 a-c) also run on simulated studies, wherever their transform applies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bundle.tables import Bundle
from models.metamorphic_core import (
    EPSILON,
    EXACT,
    PredictorLike,
    RelationResult,
    Violation,
)
from models.metamorphic_evidence import mr7_worse, mr8_delete_table, mr8a_deletion
from models.metamorphic_io import mr11_unit_mixups, mr12_presentation, validate_written
from models.metamorphic_regions import (
    MR4_RECIPES,
    mr3_normal_regions,
    mr4_lmn_regions,
    mr5_spread,
)
from models.metamorphic_relations import (
    DEFAULT_SEED,
    mr1_slowing,
    mr2a_sensory_loss,
    mr2b_sensory_als,
    mr6_block,
    mr9_absent,
    mr10_cooling,
)

logger = logging.getLogger(__name__)


def _vig(*names: str) -> tuple[str, ...]:
    return tuple(f"vig_{n}" for n in names)


#: the vignettes invariants.md applies each relation to
MR1_IDS = _vig(
    "normal_01_full_protocol", "normal_02_cold_hand", "normal_04_polyphasic_one_muscle",
    "normal_06_elderly_low_sural", "insuf_02_ncs_only_normal", "als_01_limb_onset_four_regions",
    "als_03_split_hand", "axpn_01_typical", "axpn_03_severe_arm_snaps_absent", "axpn_04_ncs_only",
    "demy_01_cidp_block_dispersion", "demy_02_cmt1_uniform", "demy_03_aidp_sural_sparing",
    "demy_04_cidp_mild", "demy_05_distal_ncs_only", "radic_05_c7", "myo_03_ibm_like",
    "oos_02_mmn", "oos_06_myasthenia_normal", "oos_07_sensory_neuronopathy",
)  # fmt: skip
MR1_STRONG_IDS = _vig(
    "normal_01_full_protocol", "insuf_02_ncs_only_normal", "oos_06_myasthenia_normal"
)
MR2B_IDS = _vig(
    "als_01_limb_onset_four_regions", "als_02_bulbar_onset", "als_03_split_hand",
    "als_04_with_cts", "als_05_early_two_regions", "als_06_lumbosacral_onset",
)  # fmt: skip
MR3_IDS = _vig(
    "insuf_01_one_limb_neurogenic", "insuf_03_single_muscle", "radic_01_l5_full",
    "radic_02_s1_paraspinal", "radic_05_c7", "radic_06_c5c6_no_paraspinal",
    "radic_07_c8_low_cmap", "radic_08_l5_severe_low_edb", "radic_09_l5_chronic",
    "oos_03_ulnar_elbow", "oos_05_lower_trunk_plexopathy",
)  # fmt: skip
MR3_STRONG_IDS = _vig(
    "insuf_01_one_limb_neurogenic", "radic_05_c7", "radic_06_c5c6_no_paraspinal",
    "radic_07_c8_low_cmap",
)  # fmt: skip
MR5_IDS = _vig(
    "radic_01_l5_full", "radic_02_s1_paraspinal", "radic_05_c7", "radic_06_c5c6_no_paraspinal",
    "radic_09_l5_chronic",
)  # fmt: skip
MR6_IDS = _vig(
    "normal_01_full_protocol", "insuf_02_ncs_only_normal", "als_01_limb_onset_four_regions",
    "als_03_split_hand", "als_05_early_two_regions", "insuf_01_one_limb_neurogenic",
)  # fmt: skip
MR6_SIDES = {"vig_als_03_split_hand": "R"}
MR8A_IDS = _vig(
    "normal_01_full_protocol", "normal_02_cold_hand", "normal_07_one_leg_no_temp",
    "insuf_02_ncs_only_normal", "oos_06_myasthenia_normal", "demy_02_cmt1_uniform",
    "axpn_03_severe_arm_snaps_absent", "myo_01_proximal_quantitative",
    "myo_05_emg_only_quantitative",
)  # fmt: skip
MR8B_IDS = _vig(
    "radic_01_l5_full", "radic_02_s1_paraspinal", "radic_05_c7", "radic_06_c5c6_no_paraspinal",
    "radic_09_l5_chronic", "myo_01_proximal_quantitative", "myo_02_inflammatory_fibs",
    "myo_04_mild_proximal", "als_02_bulbar_onset", "als_05_early_two_regions",
)  # fmt: skip
MR8C_IDS = _vig("demy_02_cmt1_uniform", "demy_04_cidp_mild", "axpn_02_mild_sensory")
MR9_IDS = _vig(
    "normal_06_elderly_low_sural", "axpn_01_typical", "axpn_03_severe_arm_snaps_absent",
    "axpn_04_ncs_only", "axpn_05_minimal_cool_foot", "demy_01_cidp_block_dispersion",
    "demy_02_cmt1_uniform", "demy_03_aidp_sural_sparing", "demy_05_distal_ncs_only",
    "oos_07_sensory_neuronopathy",
)  # fmt: skip
MR10_IDS = _vig(
    "normal_01_full_protocol", "normal_02_cold_hand", "normal_04_polyphasic_one_muscle",
    "insuf_02_ncs_only_normal", "axpn_01_typical", "axpn_04_ncs_only", "demy_04_cidp_mild",
    "als_01_limb_onset_four_regions", "oos_04_carpal_tunnel", "oos_07_sensory_neuronopathy",
)  # fmt: skip
MR10_CONVERSE_IDS = _vig("normal_02_cold_hand")
#: MR12 on simulated studies: probabilities of every study, full predictions (flags,
#: explanations) of a seeded sample of this many (explanations cost ~4 ms a study)
SIM_EXPLAIN_SAMPLE = 300


@dataclass(frozen=True)
class RelationRun:
    """One relation on one set of studies: ``run(model, bundle)`` -> result (named for reports)."""

    name: str
    run: Callable[[Any, Bundle], RelationResult]
    generic: bool = False


def vignette_runs() -> list[RelationRun]:
    """Every relation as invariants.md applies it to the vignettes."""
    return [
        RelationRun("MR1", lambda m, b: mr1_slowing(m, b, MR1_IDS, strong_ids=MR1_STRONG_IDS)),
        RelationRun("MR2a", lambda m, b: mr2a_sensory_loss(m, b)),
        RelationRun("MR2b", lambda m, b: mr2b_sensory_als(m, b, MR2B_IDS)),
        RelationRun(
            "MR3", lambda m, b: mr3_normal_regions(m, b, MR3_IDS, strong_ids=MR3_STRONG_IDS)
        ),
        RelationRun("MR4", lambda m, b: mr4_lmn_regions(m, b, MR4_RECIPES)),
        RelationRun("MR5", lambda m, b: mr5_spread(m, b, MR5_IDS)),
        RelationRun("MR6", lambda m, b: mr6_block(m, b, MR6_IDS, sides=MR6_SIDES)),
        RelationRun("MR7", lambda m, b: mr7_worse(m, b)),
        RelationRun("MR8a", lambda m, b: mr8a_deletion(m, b, MR8A_IDS)),
        RelationRun("MR8b", lambda m, b: mr8_delete_table(m, b, MR8B_IDS, table="emg", cap=0.4)),
        RelationRun("MR8c", lambda m, b: mr8_delete_table(m, b, MR8C_IDS, table="ncs", cap=0.3)),
        RelationRun("MR9", lambda m, b: mr9_absent(m, b, MR9_IDS)),
        RelationRun(
            "MR10", lambda m, b: mr10_cooling(m, b, MR10_IDS, converse_ids=MR10_CONVERSE_IDS)
        ),
        RelationRun("MR11", lambda m, b: mr11_unit_mixups(m, b)),
        RelationRun("MR12", lambda m, b: mr12_presentation(m, b)),
    ]


def simulated_runs(seed: int = DEFAULT_SEED) -> list[RelationRun]:
    """The generic relations, on every simulated study where the transform applies."""
    return [
        RelationRun("MR1", lambda m, b: mr1_slowing(m, b), generic=True),
        RelationRun(
            "MR2a", lambda m, b: mr2a_sensory_loss(m, b, one_per_study_seed=seed), generic=True
        ),
        RelationRun("MR6", lambda m, b: mr6_block(m, b, one_per_study_seed=seed), generic=True),
        RelationRun("MR7", lambda m, b: mr7_worse(m, b, one_per_study_seed=seed), generic=True),
        RelationRun("MR9", lambda m, b: mr9_absent(m, b), generic=True),
        RelationRun("MR10", lambda m, b: mr10_cooling(m, b), generic=True),
        RelationRun(
            "MR12",
            lambda m, b: mr12_presentation(
                m, b, parts="abc", seed=seed, explain_sample=SIM_EXPLAIN_SAMPLE
            ),
            generic=True,
        ),
    ]


def _named(result: RelationResult, name: str) -> RelationResult:
    return RelationResult(name, result.n_checked, result.violations)


def check_all(
    predictor: PredictorLike,
    vignettes: Bundle,
    simulated: Bundle | None = None,
    *,
    seed: int = DEFAULT_SEED,
) -> list[RelationResult]:
    """Run every relation on the vignettes, and the generic ones on ``simulated`` too.

    Returns
    -------
    list of RelationResult
        Vignette results named ``"MRx (vignettes)"``, then ``"MRx (simulated)"``.
    """
    out = []
    for run in vignette_runs():
        out.append(_named(run.run(predictor, vignettes), f"{run.name} (vignettes)"))
        logger.info("%s", out[-1].summary(max_listed=0))
    if simulated is not None:
        for run in simulated_runs(seed):
            out.append(_named(run.run(predictor, simulated), f"{run.name} (simulated)"))
            logger.info("%s", out[-1].summary(max_listed=0))
    return out


__all__ = [
    "EPSILON",
    "EXACT",
    "RelationResult",
    "RelationRun",
    "Violation",
    "check_all",
    "simulated_runs",
    "validate_written",
    "vignette_runs",
]
