"""Metamorphic relations MR7-MR8: worse is never more normal; less evidence is not more confidence.

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
    apply_per_target,
    describe,
    max_p,
    one_per_study,
    p_of,
    present,
    proba_fn,
    probabilities,
    tag,
    variant_id,
)


# --------------------------------------------------------------------------------------------
# MR7: worse is never more normal
# --------------------------------------------------------------------------------------------
def _named(frame: pd.DataFrame, change: str, keys: Sequence[str]) -> pd.DataFrame:
    loc = frame[list(keys)].drop_duplicates().reset_index(drop=True)
    names = [describe(change, *vals[1:]) for vals in loc.itertuples(index=False)]
    return loc.assign(change=change, variant=names)


def worse_candidates(bundle: Bundle) -> pd.DataFrame:
    """Every applicable MR7 change of every study: ``study_id, change, variant`` + locator columns."""
    ncs, emg = bundle.ncs, bundle.emg
    first = T.first_rows(ncs)
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
    ref = M.muap_duration_reference_ms(emg, bundle.studies)
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
        return M.set_emg_values(bundle, t, simple_emg[change])
    if change.endswith("+1"):
        return M.bump_spontaneous(bundle, t, change[:-2])
    if change == "muap_duration_q":
        return M.worsen_quantitative_muap(bundle, t, "muap_duration_ms")
    if change == "muap_amplitude_q":
        return M.worsen_quantitative_muap(bundle, t, "muap_amplitude_uv")
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
