"""Robustness sets: test studies re-featurized after removing tests or swapping protocols.

A model that reads which tests were done instead of what they found loses on these.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bundle.tables import Bundle


def thinned_features(
    bundle: Bundle, study_ids: Sequence[str], *, keep: float, seed: int
) -> pd.DataFrame:
    """Features of the given studies after keeping about ``keep`` of their nerves and muscles."""
    from features.augment import drop_tests
    from features.build import build_features

    rng = np.random.default_rng(seed)
    thinned = drop_tests(
        bundle.subset(list(study_ids)),
        rng,
        p_drop_nerve=1.0,
        p_drop_muscle=1.0,
        nerve_share=1.0 - keep,
        muscle_share=1.0 - keep,
        p_drop_region=0.0,
        p_drop_limb=0.0,
        p_drop_numeric_muap=0.0,
        p_drop_value=0.0,
        p_drop_temperature=0.0,
    )
    return build_features(thinned)


def protocol_swapped_features(
    bundle: Bundle, study_ids: Sequence[str], *, seed: int
) -> pd.DataFrame:
    """Features of the given studies after each took the protocol of another test study.

    Only the tests the donor study also did are kept (``features.augment.transplant_protocols``
    with ``p=1``), so the nerves and muscles present no longer follow the study's own referral
    question: a model that reads the protocol instead of the findings loses here.
    """
    from features.augment import transplant_protocols
    from features.build import build_features

    swapped = transplant_protocols(
        bundle.subset(list(study_ids)), np.random.default_rng(seed), p=1.0
    )
    return build_features(swapped)
