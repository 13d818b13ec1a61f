"""Metamorphic relations MR1-MR10 of ``clinical/invariants.md``, each checked in one batch.

Every relation takes a model (a :class:`~models.predictor.Predictor`, or a callable from a
bundle to its probability frame), a bundle and the study_ids it applies to (None: every study
where the transform applies), and returns a :class:`~models.metamorphic_core.RelationResult`.
``n_checked`` counts assertions (one per variant and inequality).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from features.bundle import Bundle
from models import metamorphic_transforms as T
from models.metamorphic_core import (
    EPSILON,
    Checker,
    PredictorLike,
    ProbaFn,
    RelationResult,
    apply_per_target,
    describe,
    max_p,
    neuropathy_mass,
    one_per_study,
    p_of,
    present,
    proba_fn,
    probabilities,
    tag,
    top_class,
    variant_id,
)

Model = PredictorLike | ProbaFn
SLOWING_FACTORS: tuple[float, ...] = (0.9, 0.85, 0.8, 0.7)
STRONG_SLOWING_FACTOR = 0.55
DEFAULT_SEED = 20240611


def _first_rows(ncs: pd.DataFrame) -> pd.DataFrame:
    """The distal (first) row of every NCS response."""
    return ncs[T.response_position(ncs) == 0]


def _with_rows(bundle: Bundle, ids: Sequence[str], table: str) -> list[str]:
    have = set(getattr(bundle, table)["study_id"])
    return [s for s in ids if s in have]


# --------------------------------------------------------------------------------------------
# MR1
# --------------------------------------------------------------------------------------------
def mr1_slowing(
    model: Model,
    bundle: Bundle,
    study_ids: Sequence[str] | None = None,
    *,
    strong_ids: Sequence[str] = (),
) -> RelationResult:
    """MR1: ``S_A(f)`` and ``S_B(f)`` never lower ``p_demyelinating_pn``, monotone in f.

    ``strong_ids``: all-normal studies where ``S_B(0.55)`` must make ``demyelinating_pn`` the
    top class.
    """
    motor_ids = set(bundle.ncs.loc[bundle.ncs["kind"] == "motor", "study_id"])
    ids = [s for s in present(study_ids, bundle) if s in motor_ids]
    strong = [s for s in strong_ids if s in motor_ids]
    sub = bundle.subset(ids)
    names = {
        (d, f): f"S_{'B' if d else 'A'}({f:g})" for d in (False, True) for f in SLOWING_FACTORS
    }
    parts = [sub] + [tag(T.slow_motor(sub, f, distal=d), "mr1", n) for (d, f), n in names.items()]
    strong_name = f"S_B({STRONG_SLOWING_FACTOR:g})"
    if strong:
        strong_sub = bundle.subset(strong)
        parts.append(
            tag(T.slow_motor(strong_sub, STRONG_SLOWING_FACTOR, distal=True), "mr1", strong_name)
        )
    p = probabilities(proba_fn(model), parts)
    check = Checker("MR1 slowing")
    demy = p_of("demyelinating_pn")
    for sid in ids:
        for d in (False, True):
            prev, prev_name = p[sid], "original"
            for f in SLOWING_FACTORS:
                name = names[(d, f)]
                cur = p[variant_id(sid, "mr1", name)]
                check.at_least(sid, name, p[sid], cur, demy, "p_demyelinating_pn")
                if prev_name != "original":
                    check.at_least(
                        sid, f"{prev_name}->{name}", prev, cur, demy, "p_demyelinating_pn"
                    )
                prev, prev_name = cur, name
    for sid in strong:
        after = p[variant_id(sid, "mr1", strong_name)]
        check.holds(
            top_class(after) == "demyelinating_pn",
            sid,
            strong_name,
            f"top class {top_class(after)}, expected demyelinating_pn (strong form)",
            p[sid],
            after,
        )
    return check.result()


# --------------------------------------------------------------------------------------------
# MR2
# --------------------------------------------------------------------------------------------
def sensory_targets(bundle: Bundle) -> pd.DataFrame:
    """MR2a variants: each sensory response with amplitude > 0, halved (when >= 1 µV) and absent."""
    first = _first_rows(bundle.ncs)
    s = first[(first["kind"] == "sensory") & (first["amplitude"] > 0)]
    keys = s[list(T.RESPONSE_KEYS)]
    half = keys[s["amplitude"] * 0.5 >= T.SENSORY_AMPLITUDE_MIN_UV]
    out = [
        half.assign(
            variant=[
                describe("snap_x0.5", n, sd)
                for n, sd in zip(half["nerve"], half["side"], strict=True)
            ]
        ),
        keys.assign(
            variant=[
                describe("snap_absent", n, sd)
                for n, sd in zip(keys["nerve"], keys["side"], strict=True)
            ]
        ),
    ]
    return pd.concat(out, ignore_index=True)


def _apply_sensory(bundle: Bundle, targets: pd.DataFrame) -> Bundle:
    halves = targets[targets["variant"].str.startswith("snap_x0.5")]
    absent = targets[targets["variant"].str.startswith("snap_absent")]
    out = T.scale_column(bundle, halves, "amplitude", 0.5, kind="sensory")
    return T.make_absent(out, absent)


def mr2a_sensory_loss(
    model: Model,
    bundle: Bundle,
    study_ids: Sequence[str] | None = None,
    *,
    one_per_study_seed: int | None = None,
) -> RelationResult:
    """MR2a: halving or losing one SNAP never lowers the neuropathy mass N.

    ``one_per_study_seed``: check one random response and variant per study (simulated cohorts)
    instead of every response.
    """
    sub = bundle.subset(present(study_ids, bundle))
    targets = sensory_targets(sub)
    if one_per_study_seed is not None:
        targets = one_per_study(targets, one_per_study_seed)
    parts = apply_per_target(sub, targets, "mr2a", _apply_sensory)
    p = probabilities(proba_fn(model), [sub, *parts])
    check = Checker("MR2a sensory loss")
    for sid, variant in targets[["study_id", "variant"]].drop_duplicates().itertuples(index=False):
        check.at_least(
            sid, variant, p[sid], p[variant_id(sid, "mr2a", variant)], neuropathy_mass, "N"
        )
    return check.result()


def mr2b_sensory_als(
    model: Model, bundle: Bundle, study_ids: Sequence[str] | None = None
) -> RelationResult:
    """MR2b: every SNAP x 0.3 never raises ``p_als``."""
    ids = _with_rows(bundle, present(study_ids, bundle), "ncs")
    sub = bundle.subset(ids)
    p = probabilities(
        proba_fn(model), [sub, tag(T.shrink_sensory_all(sub, 0.3), "mr2b", "snap_x0.3")]
    )
    check = Checker("MR2b sensory loss vs ALS")
    for sid in ids:
        check.at_most(
            sid, "snap_x0.3", p[sid], p[variant_id(sid, "mr2b", "snap_x0.3")], p_of("als"), "p_als"
        )
    return check.result()


# --------------------------------------------------------------------------------------------
# MR3, MR4, MR5: muscles and regions
# --------------------------------------------------------------------------------------------
def missing_regions(bundle: Bundle, study_id: str) -> list[str]:
    """Regions of :data:`REGION_MUSCLES` with no EMG row in the study (in that order)."""
    regions = T.muscle_region()
    have = {regions.get(m) for m in bundle.emg.loc[bundle.emg["study_id"] == study_id, "muscle"]}
    return [r for r in T.REGION_MUSCLES if r not in have]


def add_normal_regions(bundle: Bundle, study_id: str, regions: Sequence[str]) -> Bundle:
    """The study with normal muscle rows added for ``regions`` (MR3)."""
    rows = [
        T.normal_muscle_row(study_id, m, side) for r in regions for m, side in T.REGION_MUSCLES[r]
    ]
    return T.upsert_emg_rows(bundle.subset([study_id]), T.emg_frame(rows))


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
        return T.spontaneous_row(study_id, muscle, side, fibs=2.0, psw=2.0, fascics=1.0)
    return T.neurogenic_muscle_row(study_id, muscle, side)


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
            current = T.upsert_emg_rows(current, T.emg_frame([_recipe_row(sid, *r) for r in step]))
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
    ratio = emg["muap_duration_ms"].to_numpy(float) / T.muap_duration_reference_ms(emg, studies)
    ok &= np.isnan(ratio) | (np.abs(ratio - 1.0) <= 0.2)
    return ok


def examined_limb(bundle: Bundle, study_id: str) -> tuple[str, str] | None:
    """(limb, side) with the most limb-muscle rows in the study (None if no limb muscle)."""
    emg = bundle.emg[bundle.emg["study_id"] == study_id]
    limb = emg["muscle"].map(T.muscle_limb())
    rows = emg[limb.isin(["upper", "lower"]).to_numpy()]
    if rows.empty:
        return None
    counts = pd.Series(
        list(zip(rows["muscle"].map(T.muscle_limb()), rows["side"], strict=True))
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
    in_limb = (emg["muscle"].map(T.muscle_limb()) == limb).to_numpy() & (
        emg["side"] == side
    ).to_numpy()
    normal = in_limb & _is_normal_row(emg, one.studies)
    rows = [
        T.neurogenic_muscle_row(study_id, m, side, fibs=1.0, psw=1.0, fascics=0.0)
        for m in emg.loc[normal, "muscle"]
    ]
    step1 = T.upsert_emg_rows(one, T.emg_frame(rows))
    e1 = step1.emg
    limb_rows = e1[
        (e1["muscle"].map(T.muscle_limb()) == limb).to_numpy() & (e1["side"] == side).to_numpy()
    ]
    mirror = limb_rows.assign(side=T.SIDE_SWAP[side]).reset_index(drop=True)
    return step1, T.upsert_emg_rows(step1, mirror)


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


# --------------------------------------------------------------------------------------------
# MR6: conduction block
# --------------------------------------------------------------------------------------------
def block_targets(bundle: Bundle, sides: Mapping[str, str] | None = None) -> pd.DataFrame:
    """MR6 variants: per study and side with proximal median/ulnar motor rows (``sides`` forces one)."""
    ncs = bundle.ncs
    prox = ncs[
        (T.response_position(ncs) > 0)
        & (ncs["kind"] == "motor").to_numpy()
        & ncs["nerve"].isin(["median", "ulnar"]).to_numpy()
    ]
    t = prox[list(T.NERVE_KEYS)].drop_duplicates()
    if sides:
        t = t[[sides.get(s, sd) == sd for s, sd in zip(t["study_id"], t["side"], strict=True)]]
    return t.assign(variant=[describe("block", sd) for sd in t["side"]]).reset_index(drop=True)


def _apply_block(bundle: Bundle, targets: pd.DataFrame) -> Bundle:
    out = T.scale_column(bundle, targets, "amplitude", 0.4, kind="motor", proximal_only=True)
    return T.scale_column(out, targets, "duration_ms", 1.1, kind="motor", proximal_only=True)


def mr6_block(
    model: Model,
    bundle: Bundle,
    study_ids: Sequence[str] | None = None,
    *,
    sides: Mapping[str, str] | None = None,
    one_per_study_seed: int | None = None,
) -> RelationResult:
    """MR6: a 60 % forearm block raises demyelination and lowers ALS and normal (within ε)."""
    sub = bundle.subset(present(study_ids, bundle))
    targets = block_targets(sub, sides)
    if one_per_study_seed is not None:
        targets = one_per_study(targets, one_per_study_seed)
    parts = apply_per_target(sub, targets, "mr6", _apply_block)
    p = probabilities(proba_fn(model), [sub, *parts])
    check = Checker("MR6 conduction block")
    for sid, variant in targets[["study_id", "variant"]].drop_duplicates().itertuples(index=False):
        after = p[variant_id(sid, "mr6", variant)]
        check.at_least(sid, variant, p[sid], after, p_of("demyelinating_pn"), "p_demyelinating_pn")
        check.at_most(sid, variant, p[sid], after, p_of("als"), "p_als")
        check.at_most(sid, variant, p[sid], after, p_of("normal"), "p_normal")
    return check.result()


# --------------------------------------------------------------------------------------------
# MR7: worse is never more normal
# --------------------------------------------------------------------------------------------
def _named(frame: pd.DataFrame, change: str, keys: Sequence[str]) -> pd.DataFrame:
    loc = frame[list(keys)].reset_index(drop=True)
    names = [describe(change, *vals[1:]) for vals in loc.itertuples(index=False)]
    return loc.assign(change=change, variant=names)


def worse_candidates(bundle: Bundle) -> pd.DataFrame:
    """Every applicable MR7 change of every study: ``study_id, change, variant`` + locator columns."""
    ncs, emg = bundle.ncs, bundle.emg
    first = _first_rows(ncs)
    kind, amp, lat = first["kind"], first["amplitude"], first["latency_ms"]
    prox = ncs[
        (T.response_position(ncs) > 0)
        & ncs["velocity_m_s"].notna().to_numpy()
        & (ncs["kind"] == "motor").to_numpy()
    ]
    slowable = prox[list(T.NERVE_KEYS)].drop_duplicates()
    nk = list(T.RESPONSE_KEYS)
    out = [
        _named(first[(kind == "motor") & (amp > 0)], "cmap_x0.5", nk),
        _named(
            first[(kind == "sensory") & (amp * 0.5 >= T.SENSORY_AMPLITUDE_MIN_UV)], "snap_x0.5", nk
        ),
        _named(first[(kind == "motor") & lat.notna()], "dml_+20%", nk),
        _named(first[(kind == "sensory") & lat.notna()], "sensory_lat_+20%", nk),
        _named(slowable.assign(kind="motor"), "motor_S_A(0.8)", nk),
        _named(first[(kind == "f_wave") & lat.notna()], "f_lat_+20%", nk),
        _named(first[(kind == "f_wave") & lat.notna()], "f_absent", nk),
    ]
    ek = list(T.EMG_KEYS)
    for col in ("fibs", "psw", "fascics"):
        out.append(_named(emg[emg[col] < T.SPONTANEOUS_MAX_GRADE], f"{col}+1", ek))
    for grade in ("reduced", "early"):
        out.append(_named(emg[emg["recruitment"] == "normal"], f"recruitment_{grade}", ek))
    for col, short in (("muap_amplitude_grade", "amp_grade"), ("muap_duration_grade", "dur_grade")):
        for grade in ("increased", "decreased"):
            out.append(_named(emg[emg[col] == "normal"], f"{short}_{grade}", ek))
    out.append(_named(emg[emg["polyphasia_grade"] == "normal"], "polyphasia_increased", ek))
    ref = T.muap_duration_reference_ms(emg, bundle.studies)
    dur = emg["muap_duration_ms"].to_numpy(float)
    has_dur = ~np.isnan(dur) & ~np.isnan(ref)
    out.append(_named(emg[has_dur], "muap_duration_q", ek))
    amp_after = emg["muap_amplitude_uv"].to_numpy(float) * np.where(dur >= ref, 2.0, 0.5)
    out.append(
        _named(emg[has_dur & (amp_after >= T.MUAP_AMPLITUDE_MIN_UV)], "muap_amplitude_q", ek)
    )
    out.append(_named(emg[emg["muap_unstable"] == 0.0], "muap_unstable", ek))
    return pd.concat(out, ignore_index=True)


def _apply_change(change: str, bundle: Bundle, t: pd.DataFrame) -> Bundle:
    """Apply one MR7 change kind to the targeted tests."""
    simple_emg = {
        "recruitment_reduced": {"recruitment": "reduced"},
        "recruitment_early": {"recruitment": "early"},
        "amp_grade_increased": {"muap_amplitude_grade": "increased"},
        "amp_grade_decreased": {"muap_amplitude_grade": "decreased"},
        "dur_grade_increased": {"muap_duration_grade": "increased"},
        "dur_grade_decreased": {"muap_duration_grade": "decreased"},
        "polyphasia_increased": {"polyphasia_grade": "increased"},
        "muap_unstable": {"muap_unstable": 1.0},
    }
    if change in simple_emg:
        return T.set_emg_values(bundle, t, simple_emg[change])
    if change.endswith("+1"):
        return T.bump_spontaneous(bundle, t, change[:-2])
    if change == "muap_duration_q":
        return T.worsen_quantitative_muap(bundle, t, "muap_duration_ms")
    if change == "muap_amplitude_q":
        return T.worsen_quantitative_muap(bundle, t, "muap_amplitude_uv")
    ncs_changes = {
        "cmap_x0.5": lambda b: T.scale_column(b, t, "amplitude", 0.5, kind="motor"),
        "snap_x0.5": lambda b: T.scale_column(b, t, "amplitude", 0.5, kind="sensory"),
        "dml_+20%": lambda b: T.lengthen_distal_latency(b, t, 0.2),
        "sensory_lat_+20%": lambda b: T.scale_column(b, t, "latency_ms", 1.2, kind="sensory"),
        "motor_S_A(0.8)": lambda b: T.slow_motor(b, 0.8, distal=False, targets=t),
        "f_lat_+20%": lambda b: T.scale_column(b, t, "latency_ms", 1.2, kind="f_wave"),
        "f_absent": lambda b: T.make_f_absent(b, t),
    }
    return ncs_changes[change](bundle)


def mr7_worse(
    model: Model,
    bundle: Bundle,
    study_ids: Sequence[str] | None = None,
    *,
    one_per_study_seed: int | None = None,
) -> RelationResult:
    """MR7: one change in the abnormal direction never raises ``p_normal``.

    ``one_per_study_seed``: one random applicable change per study instead of all of them.
    """
    sub = bundle.subset(present(study_ids, bundle))
    cands = worse_candidates(sub)
    if one_per_study_seed is not None:
        cands = one_per_study(cands, one_per_study_seed)
    parts = []
    for change, t in cands.groupby("change", sort=False):
        parts += apply_per_target(sub, t, "mr7", lambda b, tt, c=change: _apply_change(c, b, tt))
    p = probabilities(proba_fn(model), [sub, *parts])
    check = Checker("MR7 worse is not more normal")
    for sid, variant in cands[["study_id", "variant"]].drop_duplicates().itertuples(index=False):
        check.at_most(
            sid, variant, p[sid], p[variant_id(sid, "mr7", variant)], p_of("normal"), "p_normal"
        )
    return check.result()


# --------------------------------------------------------------------------------------------
# MR8: less evidence is not more confidence
# --------------------------------------------------------------------------------------------
def study_tests(bundle: Bundle, study_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tests of one study: NCS responses (``RESPONSE_KEYS``) and EMG rows (``EMG_KEYS``)."""
    ncs = bundle.ncs.loc[
        bundle.ncs["study_id"] == study_id, list(T.RESPONSE_KEYS)
    ].drop_duplicates()
    emg = bundle.emg.loc[bundle.emg["study_id"] == study_id, list(T.EMG_KEYS)].drop_duplicates()
    return ncs.reset_index(drop=True), emg.reset_index(drop=True)


def deletion_variants(bundle: Bundle, study_id: str, n_draws: int = 20) -> list[tuple[str, Bundle]]:
    """MR8a: each test deleted alone, and a random half deleted (seeds 0..n_draws-1)."""
    one = bundle.subset([study_id])
    ncs_t, emg_t = study_tests(one, study_id)
    n_ncs, n = len(ncs_t), len(ncs_t) + len(emg_t)
    out = []
    for i in range(n):
        if i < n_ncs:
            t = ncs_t.iloc[[i]]
            out.append((describe("delete", *t.iloc[0, 1:]), T.delete_tests(one, ncs_targets=t)))
        else:
            t = emg_t.iloc[[i - n_ncs]]
            out.append((describe("delete", *t.iloc[0, 1:]), T.delete_tests(one, emg_targets=t)))
    for seed in range(n_draws):
        drop = np.random.default_rng(seed).random(n) < 0.5
        if drop.all() or not drop.any():
            continue
        out.append(
            (
                f"delete_half(seed={seed})",
                T.delete_tests(
                    one, ncs_targets=ncs_t[drop[:n_ncs]], emg_targets=emg_t[drop[n_ncs:]]
                ),
            )
        )
    return out


def mr8a_deletion(
    model: Model, bundle: Bundle, study_ids: Sequence[str] | None = None
) -> RelationResult:
    """MR8a: deleting tests never raises ``max_c p_c`` by more than 0.05."""
    ids = present(study_ids, bundle)
    parts, plan = [bundle.subset(ids)], []
    for sid in ids:
        for name, b in deletion_variants(bundle, sid):
            parts.append(tag(b, "mr8a", name))
            plan.append((sid, name))
    p = probabilities(proba_fn(model), parts)
    check = Checker("MR8a deleting tests")
    for sid, name in plan:
        check.at_most(sid, name, p[sid], p[variant_id(sid, "mr8a", name)], max_p, "max p", tol=0.05)
    return check.result()


def mr8_delete_table(
    model: Model,
    bundle: Bundle,
    study_ids: Sequence[str] | None = None,
    *,
    table: str,
    cap: float,
    expected: Mapping[str, str] | None = None,
) -> RelationResult:
    """MR8b (``table="emg"``, cap 0.4) / MR8c (``"ncs"``, cap 0.3): ``p'_X <= min(p_X + ε, cap)``.

    ``expected``: study -> expected class X (default: the studies' ``diagnosis``).
    """
    if expected is None:
        expected = dict(zip(bundle.studies["study_id"], bundle.studies["diagnosis"], strict=True))
    ids = [s for s in present(study_ids, bundle) if isinstance(expected.get(s), str)]
    sub = bundle.subset(ids)
    empty = getattr(sub, table).iloc[0:0]
    stripped = Bundle(**{**{"studies": sub.studies, "ncs": sub.ncs, "emg": sub.emg}, table: empty})
    name = f"no_{table}"
    p = probabilities(proba_fn(model), [sub, tag(stripped, "mr8", name)])
    check = Checker(f"MR8{'b' if table == 'emg' else 'c'} without {table.upper()}")
    for sid in ids:
        x = expected[sid]
        after = p[variant_id(sid, "mr8", name)]
        check.at_most(sid, name, p[sid], after, p_of(x), f"p_{x}")
        check.holds(
            after[x] <= cap, sid, name, f"p_{x} {after[x]:.2f} above {cap:g}", p[sid], after
        )
    return check.result()


# --------------------------------------------------------------------------------------------
# MR9: absent >= not measured >= normal
# --------------------------------------------------------------------------------------------
def absent_targets(bundle: Bundle) -> pd.DataFrame:
    """Absent responses (distal amplitude 0) and absent F-waves (no latency, persistence 0)."""
    ncs = bundle.ncs
    first = _first_rows(ncs)
    resp = first[first["kind"].isin(["motor", "sensory"]) & (first["amplitude"] == 0)]
    f = ncs[ncs["kind"] == "f_wave"]
    grouped = f.groupby(list(T.RESPONSE_KEYS), sort=False)
    absent_f = (grouped["latency_ms"].count() == 0) & grouped["persistence_pct"].apply(
        lambda s: (s == 0).any()
    )
    f_keys = absent_f[absent_f].index.to_frame(index=False)
    keys = pd.concat([resp[[*T.RESPONSE_KEYS, "recording_site"]], f_keys], ignore_index=True)
    normal = [
        T.has_normal_version(n, k, r)
        for n, k, r in zip(keys["nerve"], keys["kind"], keys.get("recording_site"), strict=True)
    ]
    return keys.assign(has_normal=normal).reset_index(drop=True)


def mr9_absent(
    model: Model, bundle: Bundle, study_ids: Sequence[str] | None = None
) -> RelationResult:
    """MR9: absent >= not measured >= normal, on N (responses) or ``p_demyelinating_pn`` (F-waves)."""
    sub = bundle.subset(present(study_ids, bundle))
    t = absent_targets(sub)
    label = [f"{n} {sd} {k}" for n, sd, k in zip(t["nerve"], t["side"], t["kind"], strict=True)]
    t_m = t.assign(variant=[f"M[{x}]" for x in label])
    t_n = t.assign(variant=[f"N[{x}]" for x in label])[t["has_normal"].to_numpy(bool)]
    parts = apply_per_target(sub, t_m, "mr9", lambda b, tt: T.delete_tests(b, ncs_targets=tt))
    parts += apply_per_target(sub, t_n, "mr9", T.normal_response)
    p = probabilities(proba_fn(model), [sub, *parts])
    check = Checker("MR9 absent vs not measured vs normal")
    for i, row in t.iterrows():
        sid = row["study_id"]
        quantity = p_of("demyelinating_pn") if row["kind"] == "f_wave" else neuropathy_mass
        what = "p_demyelinating_pn" if row["kind"] == "f_wave" else "N"
        a, m = p[sid], p[variant_id(sid, "mr9", f"M[{label[i]}]")]
        check.at_least(
            sid, f"A vs M[{label[i]}]", m, a, quantity, f"{what} (absent below not measured)"
        )
        if row["has_normal"]:
            n = p[variant_id(sid, "mr9", f"N[{label[i]}]")]
            check.at_least(
                sid, f"M vs N[{label[i]}]", n, m, quantity, f"{what} (not measured below normal)"
            )
    return check.result()


# --------------------------------------------------------------------------------------------
# MR10: cooling
# --------------------------------------------------------------------------------------------
COOL_TEMPS_C: tuple[float, ...] = (27.0, 24.0)


def mr10_cooling(
    model: Model,
    bundle: Bundle,
    study_ids: Sequence[str] | None = None,
    *,
    converse_ids: Sequence[str] = (),
) -> RelationResult:
    """MR10: a cooler limb never raises ``p_demyelinating_pn``; converse: emptying the temperature."""
    ids = present(study_ids, bundle)
    sub = bundle.subset(ids)
    conv = [s for s in converse_ids if s in set(bundle.study_ids)]
    parts = [sub] + [tag(T.cool_limb(sub, t), "mr10", f"{t:g}C") for t in COOL_TEMPS_C]
    if conv:
        parts.append(tag(T.clear_limb_temp(bundle.subset(conv)), "mr10", "no_temp"))
        parts.append(bundle.subset([s for s in conv if s not in set(ids)]))
    p = probabilities(proba_fn(model), parts)
    temps = dict(zip(sub.studies["study_id"], sub.studies["limb_temp_c"], strict=True))
    check = Checker("MR10 cooling")
    demy = p_of("demyelinating_pn")
    for sid in ids:
        for t in COOL_TEMPS_C:
            if np.isnan(temps[sid]) or temps[sid] > t:
                check.at_most(
                    sid,
                    f"{t:g}C",
                    p[sid],
                    p[variant_id(sid, "mr10", f"{t:g}C")],
                    demy,
                    "p_demyelinating_pn",
                )
    for sid in conv:
        after = p[variant_id(sid, "mr10", "no_temp")]
        check.at_most(sid, "no_temp", p[sid], after, p_of("normal"), "p_normal")
        check.at_least(sid, "no_temp", p[sid], after, demy, "p_demyelinating_pn")
    return check.result()


__all__ = [
    "DEFAULT_SEED",
    "EPSILON",
    "mr1_slowing",
    "mr2a_sensory_loss",
    "mr2b_sensory_als",
    "mr3_normal_regions",
    "mr4_lmn_regions",
    "mr5_spread",
    "mr6_block",
    "mr7_worse",
    "mr8_delete_table",
    "mr8a_deletion",
    "mr9_absent",
    "mr10_cooling",
]
