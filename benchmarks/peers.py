"""The per-study pandas peer of the feature engine: ``groupby("study_id").apply``, one study at a time.

This is what a straightforward first implementation looks like: for each study, take its NCS
and EMG rows and compute the features with ordinary pandas calls. It computes a representative
subset of :func:`features.build.build_features`' columns — the coverage counts (distinct
motor/sensory/F-wave responses per nerve and side, motor stimulation sites, muscles, sides,
temperature and height recorded) and the EMG aggregates (grade of fibrillations or positive sharp waves, mean/max;
CRD/myotonia shares) — i.e. the filter -> group -> reduce work every feature does, without the
reference-limit arithmetic (which would only make the peer slower). :data:`PEER_FEATURES`
lists them; ``tests`` / the benchmark check on a small cohort that the peer's values equal
``build_features`` on exactly these columns, so the speed ratio compares like with like.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bundle.tables import Bundle
from bundle.vocab import SPECIAL_KINDS
from features.focal import outside_focal_territories

#: the build_features columns the peer reproduces
PEER_FEATURES: tuple[str, ...] = (
    "cov_motor_nerves_count",
    "cov_sensory_nerves_count",
    "cov_f_waves_count",
    "cov_motor_sites_count",
    "cov_muscles_count",
    "cov_sides_count",
    "cov_temperature_recorded",
    "cov_height_recorded",
    "emg_max_fib_grade",
    "emg_mean_fib_grade",
    "emg_crd_frac",
    "emg_myotonia_frac",
)


def _ncs_one_study(rows: pd.DataFrame) -> pd.Series:
    def responses(kind: str) -> float:
        sel = rows[rows["kind"] == kind]
        return float(len(sel[["nerve", "side"]].drop_duplicates()))

    return pd.Series(
        {
            "cov_motor_nerves_count": responses("motor"),
            "cov_sensory_nerves_count": responses("sensory"),
            "cov_f_waves_count": responses("f_wave"),
            "cov_motor_sites_count": float((rows["kind"] == "motor").sum()),
            # the optional kinds (h_reflex, rns) feed no other feature (features.build)
            "ncs_sides": frozenset(rows.loc[~rows["kind"].isin(SPECIAL_KINDS), "side"].dropna()),
        }
    )


def _emg_one_study(rows: pd.DataFrame) -> pd.Series:
    muscles = rows.drop_duplicates(["muscle", "side"])
    fib = muscles[["fibs", "psw"]].max(axis=1).dropna()  # fibrillations or positive sharp waves
    crd = muscles["crd"].dropna()
    myo = muscles["myotonia"].dropna()
    return pd.Series(
        {
            "cov_muscles_count": float(len(muscles)),
            "emg_max_fib_grade": float(fib.max()) if len(fib) else np.nan,
            "emg_mean_fib_grade": float(fib.mean()) if len(fib) else np.nan,
            "emg_crd_frac": float((crd > 0).mean()) if len(crd) else np.nan,
            "emg_myotonia_frac": float((myo > 0).mean()) if len(myo) else np.nan,
            "emg_sides": frozenset(s for s in muscles["side"].dropna() if s in ("L", "R")),
        }
    )


def peer_features(bundle: Bundle) -> pd.DataFrame:
    """The :data:`PEER_FEATURES` of every study, computed one study at a time.

    Parameters
    ----------
    bundle : Bundle
        Canonical bundle.

    Returns
    -------
    DataFrame
        Index ``study_id`` in ``bundle.studies`` order, float64 columns :data:`PEER_FEATURES`.
    """
    # the product's features leave an isolated focal neuropathy's territory out
    # (features.focal.outside_focal_territories); the peer reads the same rows
    bundle, _ = outside_focal_territories(bundle)
    ids = bundle.studies["study_id"].astype(str)
    ncs = bundle.ncs.groupby("study_id", sort=False).apply(_ncs_one_study)
    emg = bundle.emg.groupby("study_id", sort=False).apply(_emg_one_study)
    out = pd.DataFrame(index=pd.Index(ids, name="study_id"))
    out = out.join(ncs).join(emg)
    empty: frozenset[str] = frozenset()
    sides = [
        float(
            len(
                (a if isinstance(a, frozenset) else empty)
                | (b if isinstance(b, frozenset) else empty)
            )
        )
        for a, b in zip(out["ncs_sides"], out["emg_sides"], strict=True)
    ]
    out["cov_sides_count"] = sides
    for col in ("cov_motor_nerves_count", "cov_sensory_nerves_count", "cov_f_waves_count"):
        out[col] = out[col].astype("float64").fillna(0.0)  # no NCS row: 0 responses tested
    out["cov_motor_sites_count"] = out["cov_motor_sites_count"].astype("float64").fillna(0.0)
    out["cov_muscles_count"] = out["cov_muscles_count"].astype("float64").fillna(0.0)
    studies = bundle.studies.set_index(bundle.studies["study_id"].astype(str))
    out["cov_temperature_recorded"] = studies["limb_temp_c"].notna().astype("float64")
    out["cov_height_recorded"] = studies["height_cm"].notna().astype("float64")
    return out[list(PEER_FEATURES)].astype("float64")
