"""The per-study peer of the feature benchmark computes the same values as build_features."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from features.build import build_features
from simulator.cohort import simulate_cohort

# benchmarks/ is not an installed package (it is run from the checkout): load the file itself
_PEERS = Path(__file__).resolve().parents[1] / "benchmarks" / "peers.py"
_spec = importlib.util.spec_from_file_location("emgdx_bench_peers", _PEERS)
peers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peers)
PEER_FEATURES, peer_features = peers.PEER_FEATURES, peers.peer_features


def test_peer_equals_build_features_on_its_subset():
    bundle = simulate_cohort(150, seed=4)
    expected = build_features(bundle)[list(PEER_FEATURES)]
    got = peer_features(bundle)
    assert list(got.index) == list(expected.index)
    assert np.array_equal(got.to_numpy(), expected.to_numpy(), equal_nan=True)
    assert expected["cov_muscles_count"].sum() > 0  # not a comparison of empty columns
