"""Band tests of the out-of-scope conditions (simulator/out_of_scope.py); bounds cite clinical-reference.md.

Latent tests call one condition on a few hundred virtual patients; cohort tests simulate
whole studies (the rendered values, with the focal work-up the examiner adds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.vocab import CLASSES, MUSCLES
from simulator import out_of_scope as oos
from simulator.cohort import simulate_cohort, simulate_cohort_with_physiology
from simulator.parameters import OutOfScopeParams, SimulatorParams
from simulator.protocols import MOTOR_UNITS, SENSORY_UNITS

from .conftest import make_context

N = 400
_S = {u: i for i, u in enumerate(SENSORY_UNITS)}
_M = {u: i for i, u in enumerate(MOTOR_UNITS)}
_MU = {m: i for i, m in enumerate(MUSCLES)}


def _run(name: str, proxy: str, seed: int = 1):
    ctx, _ = make_context(N, seed, proxy, "none" if proxy != "radiculopathy" else "C6")
    lat = getattr(oos, name)(np.arange(N), ctx, np.random.default_rng(seed + 1))
    sym = np.arange(N), ctx.index_side
    return ctx, lat, sym


def test_default_cohort_has_no_out_of_scope_studies_and_is_unchanged() -> None:
    # share 0 (the default) draws nothing from the RNG: the cohort is the one of before
    a = simulate_cohort(300, 5)
    b = simulate_cohort(300, 5, SimulatorParams(out_of_scope=OutOfScopeParams(share=0.0)))
    pd.testing.assert_frame_equal(a.ncs, b.ncs)
    bundle, truth = simulate_cohort_with_physiology(300, 5)
    assert (truth["condition"] == oos.IN_SCOPE).all()


def test_out_of_scope_studies_carry_a_proxy_diagnosis_and_the_truth() -> None:
    bundle, truth = simulate_cohort_with_physiology(
        900, 3, SimulatorParams(out_of_scope=OutOfScopeParams(share=1.0), label_noise=0.0)
    )
    assert set(truth["condition"]) == set(oos.CONDITIONS)
    dx = bundle.studies["diagnosis"].to_numpy()
    for c in oos.CONDITIONS:
        assert set(dx[truth["condition"] == c]) == {oos.PROXY_CLASS[c]}
    assert set(dx) <= set(CLASSES)  # the contract's six classes only
    kennedy = (truth["condition"] == "kennedy").to_numpy()
    assert (bundle.studies["sex"].to_numpy()[kennedy] != "F").all()  # X-linked (T3.6)


def test_bad_condition_weight_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="Invalid condition"):
        OutOfScopeParams(weights={"lupus": 1.0})


def test_carpal_tunnel_median_ulnar_difference_and_grades() -> None:
    # T1.2 (Atroshi 2003): median-ulnar sensory latency difference > 0.5 ms; T6: severe with APB
    ctx, lat, sym = _run("carpal_tunnel", "normal")
    add = lat.slat_add_ms[sym[0], _S["median_d2"], sym[1]]
    assert (add > 0.5).all()
    dml = lat.dml_add_ms[sym[0], _M["median_apb"], sym[1]]
    assert 0.3 < (dml > 0).mean() < 0.9  # mild ones have a normal DML
    apb = lat.loss[sym[0], _MU["abductor_pollicis_brevis"], sym[1]]
    assert 0.2 < (apb > 0.2).mean() < 0.6  # APB denervation only in the severe


def test_ulnar_neuropathy_elbow_across_elbow_slowing() -> None:
    # AAEM: across-elbow CV < 50 m/s (normal 57.1, T1.1 Czech)
    ctx, lat, sym = _run("ulnar_neuropathy_elbow", "normal")
    cv = 57.1 * lat.seg_cv[sym[0], _M["ulnar_adm"], sym[1], 1]
    assert (cv < 50).mean() > 0.95
    assert (lat.loss[:, _MU["first_dorsal_interosseous"]].max(axis=1) > 0.1).mean() > 0.3


def test_fibular_neuropathy_spares_tibialis_posterior_and_biceps_short_head() -> None:
    # T1.1: across-head CV drop > 10 m/s of 50; TA/EDB denervated; L5 muscles off the fibular
    # nerve normal
    ctx, lat, sym = _run("fibular_neuropathy", "radiculopathy")
    drop = 50.0 * (1.0 - lat.seg_cv[sym[0], _M["peroneal_edb"], sym[1], 1])
    assert (drop > 10).mean() > 0.95
    assert (lat.loss[sym[0], _MU["tibialis_anterior"], sym[1]] > 0).all()
    for m in ("tibialis_posterior", "biceps_femoris_short_head", "lumbar_paraspinal"):
        assert lat.loss[:, _MU[m]].max() == 0
        assert lat.fib[:, _MU[m]].max() == 0


def test_brachial_plexopathy_spares_paraspinals_and_lowers_snaps() -> None:
    # post-ganglionic: SNAPs in the territory low, paraspinals normal
    ctx, lat, sym = _run("brachial_plexopathy", "radiculopathy")
    para = [_MU[m] for m in ("cervical_paraspinal", "thoracic_paraspinal", "lumbar_paraspinal")]
    assert lat.fib[:, para].max() == 0
    snaps = lat.snap[sym[0], :, sym[1]]
    low = snaps[:, [_S["median_d2"], _S["ulnar_d5"], _S["radial_snuffbox"]]].min(axis=1)
    assert (low < 0.7).mean() > 0.95
    assert (lat.loss.max(axis=(1, 2)) > 0.1).mean() > 0.9


def test_kennedy_widespread_lmn_with_non_length_dependent_snap_loss() -> None:
    # T3.6: SNAP abnormal in 95 %, 30-80 % below normal, median/ulnar lower than sural
    ctx, lat, sym = _run("kennedy", "als")
    arm = lat.snap[:, [_S["median_d2"], _S["ulnar_d5"]]].mean(axis=(1, 2))
    sural = lat.snap[:, _S["sural"]].mean(axis=1)
    assert (arm < 0.7).mean() > 0.9
    assert np.median(arm) < np.median(sural)
    assert lat.umn.max() == 0  # no upper motor neuron sign
    bulbar = [_MU[m] for m in ("tongue", "masseter", "frontalis")]
    assert (lat.loss[:, bulbar].max(axis=(1, 2)) > 0).mean() > 0.9


def test_sensory_neuronopathy_motor_normal() -> None:
    ctx, lat, sym = _run("sensory_neuronopathy", "axonal_pn")
    assert lat.loss.max() == 0
    assert np.allclose(lat.cmap, 1.0)
    arm = lat.snap[:, [_S["median_d2"], _S["ulnar_d5"], _S["radial_snuffbox"]]].min(axis=(1, 2))
    assert (arm < 0.5).mean() > 0.9  # non-length-dependent: the arms are hit too


def test_myasthenia_routine_study_normal() -> None:
    ctx, lat, sym = _run("myasthenia", "myopathy")
    assert lat.loss.max() == 0
    assert lat.fib.max() == 0
    assert np.allclose(lat.snap, 1.0)


def test_post_polio_old_denervation_sensory_normal() -> None:
    # T3.6: giant long units, sparse fibs, sensory normal, patchy limbs
    ctx, lat, sym = _run("post_polio", "als")
    hit = lat.loss > 0
    assert lat.reinn[hit].min() >= 0.9
    assert lat.fib[hit].astype(bool).mean() < 0.2
    assert np.allclose(lat.snap, 1.0)
    bulbar = [_MU[m] for m in ("tongue", "masseter", "frontalis", "orbicularis_oris")]
    assert lat.loss[:, bulbar].max() == 0


def test_cervical_myelopathy_confined_to_cervical_myotomes() -> None:
    # T3.6 (Kuncl 1988): thoracic paraspinals spared, no bulbar involvement, SNAPs normal
    ctx, lat, sym = _run("cervical_myelopathy", "als")
    spared = [_MU[m] for m in ("thoracic_paraspinal", "tongue", "masseter", "vastus_lateralis")]
    assert lat.loss[:, spared].max() == 0
    assert lat.fib[:, spared].max() == 0
    assert np.allclose(lat.snap, 1.0)
    assert (lat.loss.max(axis=(1, 2)) > 0.15).mean() > 0.9
