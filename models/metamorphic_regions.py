"""Metamorphic relations MR3-MR5: normal and LMN muscles in new regions, spread beyond one root.

Same calling convention as :mod:`models.metamorphic_relations`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bundle.tables import Bundle
from models import metamorphic_muscles as M
from models import metamorphic_transforms as T
from models.metamorphic_core import (
    Checker,
    Model,
    RelationResult,
    p_of,
    present,
    proba_fn,
    probabilities,
    tag,
    top_class,
    variant_id,
)


# --------------------------------------------------------------------------------------------
# MR3, MR4, MR5: muscles and regions
# --------------------------------------------------------------------------------------------
def missing_regions(bundle: Bundle, study_id: str) -> list[str]:
    """Regions of :data:`REGION_MUSCLES` with no EMG row in the study (in that order)."""
    regions = M.muscle_region()
    have = {regions.get(m) for m in bundle.emg.loc[bundle.emg["study_id"] == study_id, "muscle"]}
    return [r for r in T.REGION_MUSCLES if r not in have]


def add_normal_regions(bundle: Bundle, study_id: str, regions: Sequence[str]) -> Bundle:
    """The study with normal muscle rows added for ``regions`` (MR3)."""
    rows = [
        M.normal_muscle_row(study_id, m, side) for r in regions for m, side in T.REGION_MUSCLES[r]
    ]
    return M.upsert_emg_rows(bundle.subset([study_id]), M.emg_frame(rows))


def mr3_normal_regions(
    model: Model,
    bundle: Bundle,
    study_ids: Sequence[str] | None = None,
    *,
    strong_ids: Sequence[str] = (),
) -> RelationResult:
    """MR3: normal muscles in missing regions never raise ``p_als`` (strong: all added, <= 0.5)."""
    ids = present(study_ids, bundle)
    parts, plan = [bundle.subset(ids)], []
    for sid in ids:
        missing = missing_regions(bundle, sid)
        steps = [(r,) for r in missing] + [tuple(missing[:k]) for k in range(2, len(missing) + 1)]
        for regions in steps:
            name = "+" + "+".join(regions)
            parts.append(tag(add_normal_regions(bundle, sid, regions), "mr3", name))
            plan.append((sid, name, len(regions) == len(missing)))
    p = probabilities(proba_fn(model), parts)
    check = Checker("MR3 normal regions")
    for sid, name, everything in plan:
        after = p[variant_id(sid, "mr3", name)]
        check.at_most(sid, name, p[sid], after, p_of("als"), "p_als")
        if everything and sid in strong_ids:
            check.holds(
                after["als"] <= 0.5,
                sid,
                name,
                "p_als above 0.5 with every region examined",
                p[sid],
                after,
            )
    return check.result()


#: MR4 recipes: study -> cumulative steps of (row kind, muscle, side); strong form flag
MR4_STEP1 = (("lmn_spontaneous", "thoracic_paraspinal", "R"),)
MR4_RECIPES: Mapping[str, tuple[tuple[tuple[tuple[str, str, str], ...], ...], bool]] = {
    "vig_insuf_01_one_limb_neurogenic": (
        (
            MR4_STEP1,
            (("neurogenic", "tibialis_anterior", "L"), ("neurogenic", "vastus_lateralis", "L")),
        ),
        True,
    ),
    "vig_als_05_early_two_regions": ((MR4_STEP1,), False),
    "vig_als_02_bulbar_onset": (
        ((("neurogenic", "tibialis_anterior", "R"), ("neurogenic", "vastus_lateralis", "R")),),
        False,
    ),
}


def _recipe_row(study_id: str, kind: str, muscle: str, side: str) -> dict[str, object]:
    if kind == "lmn_spontaneous":
        return M.spontaneous_row(study_id, muscle, side, fibs=2.0, psw=2.0, fascics=1.0)
    return M.neurogenic_muscle_row(study_id, muscle, side)


def mr4_lmn_regions(
    model: Model,
    bundle: Bundle,
    recipes: Mapping[str, tuple[tuple[tuple[tuple[str, str, str], ...], ...], bool]] = MR4_RECIPES,
) -> RelationResult:
    """MR4: adding LMN regions never lowers ``p_als`` (strong: als on top with ``p_als >= 0.5``)."""
    ids = [s for s in recipes if s in set(bundle.study_ids)]
    parts, plan = [bundle.subset(ids)], []
    for sid in ids:
        steps, _ = recipes[sid]
        current = bundle.subset([sid])
        for k, step in enumerate(steps, start=1):
            current = M.upsert_emg_rows(current, M.emg_frame([_recipe_row(sid, *r) for r in step]))
            parts.append(tag(current, "mr4", f"step{k}"))
            plan.append((sid, k))
    p = probabilities(proba_fn(model), parts)
    check = Checker("MR4 LMN regions")
    for sid, k in plan:
        before = p[sid] if k == 1 else p[variant_id(sid, "mr4", f"step{k - 1}")]
        after = p[variant_id(sid, "mr4", f"step{k}")]
        check.at_least(sid, f"step{k}", before, after, p_of("als"), "p_als")
        if recipes[sid][1] and k == len(recipes[sid][0]):
            ok = top_class(after) == "als" and after["als"] >= 0.5
            check.holds(
                ok,
                sid,
                f"step{k}",
                f"top class {top_class(after)}, p_als {after['als']:.2f} (strong form)",
                p[sid],
                after,
            )
    return check.result()


def _is_normal_row(emg: pd.DataFrame, studies: pd.DataFrame) -> np.ndarray:
    """EMG rows without any abnormal finding (quantitative duration within ±20 % of reference)."""
    spont = emg[["fibs", "psw", "fascics", "crd", "myotonia"]].fillna(0).to_numpy(float)
    ok = (spont == 0).all(axis=1)
    ok &= emg["insertional"].isna().to_numpy() | (emg["insertional"] == "normal").to_numpy()
    for col in (*T.MUAP_GRADE_COLUMNS, "recruitment"):
        ok &= emg[col].isna().to_numpy() | (emg[col] == "normal").to_numpy()
    ok &= emg["muap_unstable"].to_numpy(float) != 1.0
    ratio = emg["muap_duration_ms"].to_numpy(float) / M.muap_duration_reference_ms(emg, studies)
    ok &= np.isnan(ratio) | (np.abs(ratio - 1.0) <= 0.2)
    return ok


def examined_limb(bundle: Bundle, study_id: str) -> tuple[str, str] | None:
    """(limb, side) with the most limb-muscle rows in the study (None if no limb muscle)."""
    emg = bundle.emg[bundle.emg["study_id"] == study_id]
    limb = emg["muscle"].map(M.muscle_limb())
    rows = emg[limb.isin(["upper", "lower"]).to_numpy()]
    if rows.empty:
        return None
    counts = pd.Series(
        list(zip(rows["muscle"].map(M.muscle_limb()), rows["side"], strict=True))
    ).value_counts(sort=True)
    return counts.index[0]


def spread_limb(bundle: Bundle, study_id: str) -> tuple[Bundle, Bundle] | None:
    """MR5 steps: (1) the examined limb's normal rows made neurogenic; (2) plus its mirror image."""
    found = examined_limb(bundle, study_id)
    if found is None:
        return None
    limb, side = found
    one = bundle.subset([study_id])
    emg = one.emg
    in_limb = (emg["muscle"].map(M.muscle_limb()) == limb).to_numpy() & (
        emg["side"] == side
    ).to_numpy()
    normal = in_limb & _is_normal_row(emg, one.studies)
    rows = [
        M.neurogenic_muscle_row(study_id, m, side, fibs=1.0, psw=1.0, fascics=0.0)
        for m in emg.loc[normal, "muscle"]
    ]
    step1 = M.upsert_emg_rows(one, M.emg_frame(rows))
    e1 = step1.emg
    limb_rows = e1[
        (e1["muscle"].map(M.muscle_limb()) == limb).to_numpy() & (e1["side"] == side).to_numpy()
    ]
    mirror = limb_rows.assign(side=T.SIDE_SWAP[side]).reset_index(drop=True)
    return step1, M.upsert_emg_rows(step1, mirror)


def mr5_spread(
    model: Model, bundle: Bundle, study_ids: Sequence[str] | None = None
) -> RelationResult:
    """MR5: spreading beyond one root never raises ``p_radiculopathy``; the mirror never lowers ``p_als``."""
    parts, ids = [], []
    for sid in present(study_ids, bundle):
        steps = spread_limb(bundle, sid)
        if steps is None:
            continue
        ids.append(sid)
        parts += [tag(steps[0], "mr5", "step1"), tag(steps[1], "mr5", "step2")]
    p = probabilities(proba_fn(model), [bundle.subset(ids), *parts])
    check = Checker("MR5 spread")
    radic, als = p_of("radiculopathy"), p_of("als")
    for sid in ids:
        s1, s2 = p[variant_id(sid, "mr5", "step1")], p[variant_id(sid, "mr5", "step2")]
        check.at_most(sid, "step1", p[sid], s1, radic, "p_radiculopathy")
        check.at_most(sid, "step1->step2", s1, s2, radic, "p_radiculopathy")
        check.at_least(sid, "step1->step2", s1, s2, als, "p_als")
    return check.result()
