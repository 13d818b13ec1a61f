"""Metamorphic relations MR1-MR10 of ``clinical/invariants.md``, each checked in one batch.

Conduction and temperature relations here; MR3-MR5 are in :mod:`models.metamorphic_regions`,
MR7-MR8 in :mod:`models.metamorphic_evidence`. Every relation takes a model (a :class:`~models.predictor.Predictor`, or a callable from a
bundle to its probability frame), a bundle and the study_ids it applies to (None: every study
where the transform applies), and returns a :class:`~models.metamorphic_core.RelationResult`.
``n_checked`` counts assertions (one per variant and inequality).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bundle.tables import Bundle
from models import metamorphic_transforms as T
from models.metamorphic_core import (
    DEFAULT_SEED,
    EPSILON,
    Checker,
    Model,
    RelationResult,
    apply_per_target,
    describe,
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

SLOWING_FACTORS: tuple[float, ...] = (0.9, 0.85, 0.8, 0.7)
STRONG_SLOWING_FACTOR = 0.55


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
    first = T.first_rows(bundle.ncs)
    s = first[(first["kind"] == "sensory") & (first["amplitude"] > 0)]
    keys = s[list(T.RESPONSE_KEYS)].drop_duplicates()
    half = s.loc[s["amplitude"] * 0.5 >= T.SENSORY_AMPLITUDE_MIN_UV, list(T.RESPONSE_KEYS)]
    half = half.drop_duplicates()
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
# MR9: absent >= not measured >= normal
# --------------------------------------------------------------------------------------------
def absent_targets(bundle: Bundle) -> pd.DataFrame:
    """Absent responses (distal amplitude 0) and absent F-waves (no latency, persistence 0)."""
    ncs = bundle.ncs
    first = T.first_rows(ncs)
    resp = first[first["kind"].isin(["motor", "sensory"]) & (first["amplitude"] == 0)]
    f = ncs[ncs["kind"] == "f_wave"]
    grouped = f.groupby(list(T.RESPONSE_KEYS), sort=False)
    absent_f = (grouped["latency_ms"].count() == 0) & grouped["persistence_pct"].apply(
        lambda s: (s == 0).any()
    )
    f_keys = absent_f[absent_f].index.to_frame(index=False)
    resp = resp.drop_duplicates(list(T.RESPONSE_KEYS))
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
    "mr6_block",
    "mr9_absent",
    "mr10_cooling",
]
