"""Training-time augmentation: make studies look like those of labs that test less.

LightGBM learns where a missing value goes only from training rows where it was missing
(``shared/notes/transfer-lessons.md``, lesson 3). :func:`drop_tests` therefore removes, at
random, whole nerves (all rows of one nerve on one side), muscles, whole regions, whole limbs,
numeric MUAP values (keeping or deriving the grades, so the study looks like a grades-only lab),
single measured values and the temperature. It only removes: it never adds rows or changes a
value that it keeps.

Probabilities named ``p_*`` are per study (does this study get thinned in this way?); ``*_share``
is per item inside a selected study (which of its nerves / muscles / values go).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bundle.tables import Bundle
from features.limits import muap_limit_arrays
from features.reference import load_muscles
from features.vocab import LOWER_LIMB_NERVES, UPPER_LIMB_NERVES

_NCS_VALUE_COLUMNS = ("latency_ms", "duration_ms", "velocity_m_s", "persistence_pct")
_EMG_VALUE_COLUMNS = (
    "fibs",
    "psw",
    "fascics",
    "muap_amplitude_uv",
    "muap_duration_ms",
    "muap_polyphasic_pct",
)


def _check_p(**probs: float) -> None:
    for name, p in probs.items():
        if not 0.0 <= p <= 1.0:
            raise ValueError(
                f"Invalid value for the {name!r} parameter: {p!r}. Expected 0 <= p <= 1."
            )


def _per_study(study_ids: pd.Series, chosen: pd.Index) -> np.ndarray:
    return study_ids.isin(chosen).to_numpy()


def _grade(value: np.ndarray, lln: np.ndarray, uln: np.ndarray) -> np.ndarray:
    out = np.where(value > uln, "increased", np.where(value < lln, "decreased", "normal")).astype(
        object
    )
    out[np.isnan(value)] = None
    return out


def numeric_muap_to_grades(
    emg: pd.DataFrame, studies: pd.DataFrame, rows: np.ndarray
) -> pd.DataFrame:
    """Copy of ``emg`` where the selected rows keep only MUAP grades (numbers derived to grades).

    A grade already recorded is kept; a missing grade is derived from the number against the
    same limits the feature pipeline uses (age-adjusted ±20 % duration band, amplitude limits,
    polyphasic ULN), so the harmonised ``size_score`` of the muscle does not change.
    """
    out = emg.copy()
    if not rows.any():
        return out
    ages = pd.Series(
        studies["age_years"].to_numpy(dtype=float), index=studies["study_id"].astype(str)
    )
    age = emg["study_id"].astype(str).map(ages).to_numpy(dtype=float)
    lim = muap_limit_arrays(emg["muscle"], age)
    dur = emg["muap_duration_ms"].to_numpy(dtype=float)
    amp = emg["muap_amplitude_uv"].to_numpy(dtype=float)
    poly = emg["muap_polyphasic_pct"].to_numpy(dtype=float)
    derived = {
        "muap_duration_grade": _grade(dur, lim["duration_lln_ms"], lim["duration_uln_ms"]),
        "muap_amplitude_grade": _grade(amp, lim["amplitude_lln_uv"], lim["amplitude_uln_uv"]),
        "polyphasia_grade": np.where(
            np.isnan(poly), None, np.where(poly > lim["polyphasic_uln_pct"], "increased", "normal")
        ).astype(object),
    }
    for col, values in derived.items():
        current = out[col].astype(object)
        fill = rows & current.isna().to_numpy() & pd.notna(values)
        out[col] = current.where(~fill, pd.Series(values, index=out.index))
    for col in ("muap_amplitude_uv", "muap_duration_ms", "muap_polyphasic_pct"):
        out.loc[rows, col] = np.nan
    return out


def drop_tests(
    bundle: Bundle,
    rng: np.random.Generator,
    *,
    p_drop_nerve: float = 0.3,
    nerve_share: float = 0.3,
    p_drop_muscle: float = 0.3,
    muscle_share: float = 0.3,
    p_drop_region: float = 0.15,
    p_drop_limb: float = 0.05,
    p_drop_numeric_muap: float = 0.3,
    p_drop_value: float = 0.1,
    value_share: float = 0.1,
    p_drop_temperature: float = 0.3,
) -> Bundle:
    """Return a thinned copy of ``bundle`` (input unchanged; deterministic for a given ``rng``).

    Parameters
    ----------
    bundle : Bundle
        Canonical bundle.
    rng : numpy.random.Generator
        Source of randomness (the only one).
    p_drop_nerve, nerve_share : float
        Share of studies thinned, and share of their nerve/side groups removed (all kinds:
        motor, sensory, F-wave rows of that nerve on that side).
    p_drop_muscle, muscle_share : float
        Share of studies thinned, and share of their muscles removed.
    p_drop_region : float
        Share of studies losing one whole needle-EMG region (chosen among those examined).
    p_drop_limb : float
        Share of studies losing a whole limb level: all leg nerves and lumbosacral muscles, or
        all arm nerves and cervical muscles (equally likely) — "no legs" / "no arms".
    p_drop_numeric_muap : float
        Share of studies whose numeric MUAP values are replaced by grades (grades-only lab).
    p_drop_value, value_share : float
        Share of studies, and share of their single measured values (latency, duration, velocity,
        persistence, spontaneous-activity grades, MUAP numbers) blanked. Amplitudes are kept.
    p_drop_temperature : float
        Share of studies whose limb temperature is removed (assumed warm).
    """
    _check_p(
        p_drop_nerve=p_drop_nerve,
        nerve_share=nerve_share,
        p_drop_muscle=p_drop_muscle,
        muscle_share=muscle_share,
        p_drop_region=p_drop_region,
        p_drop_limb=p_drop_limb,
        p_drop_numeric_muap=p_drop_numeric_muap,
        p_drop_value=p_drop_value,
        value_share=value_share,
        p_drop_temperature=p_drop_temperature,
    )
    studies, ncs, emg = bundle.studies, bundle.ncs, bundle.emg
    sids = studies["study_id"].astype(str)
    n = len(studies)
    # one draw per study per kind of thinning, in a fixed order (determinism)
    u = rng.random((7, n))
    pick = {
        name: pd.Index(sids[u[i] < p])
        for i, (name, p) in enumerate(
            [
                ("nerve", p_drop_nerve),
                ("muscle", p_drop_muscle),
                ("region", p_drop_region),
                ("limb", p_drop_limb),
                ("numeric", p_drop_numeric_muap),
                ("value", p_drop_value),
                ("temperature", p_drop_temperature),
            ]
        )
    }
    limb_upper = pd.Series(rng.random(n) < 0.5, index=sids)

    ncs_sid = ncs["study_id"].astype(str)
    emg_sid = emg["study_id"].astype(str)
    keep_ncs = np.ones(len(ncs), dtype=bool)
    keep_emg = np.ones(len(emg), dtype=bool)

    # whole nerves (nerve/side groups)
    grp = pd.MultiIndex.from_arrays([ncs_sid, ncs["nerve"].astype(str), ncs["side"].astype(str)])
    codes, _ = pd.factorize(grp)
    g_draw = rng.random(int(codes.max()) + 1 if len(codes) else 0)
    if len(codes):
        keep_ncs &= ~(_per_study(ncs_sid, pick["nerve"]) & (g_draw[codes] < nerve_share))

    # single muscles
    m_draw = rng.random(len(emg))
    keep_emg &= ~(_per_study(emg_sid, pick["muscle"]) & (m_draw < muscle_share))

    # one whole region
    regions = emg["muscle"].map(load_muscles()["region"]).astype(str)
    r_codes, r_uniques = pd.factorize(pd.MultiIndex.from_arrays([emg_sid, regions]))
    r_draw = rng.random(len(r_uniques))
    if len(r_codes):
        pair = pd.DataFrame({"sid": r_uniques.get_level_values(0), "u": r_draw})
        chosen = pair.groupby("sid")["u"].transform("min").to_numpy() == r_draw
        drop_pair = chosen & pair["sid"].isin(pick["region"]).to_numpy()
        keep_emg &= ~drop_pair[r_codes]

    # whole limb level
    in_limb = _per_study(ncs_sid, pick["limb"])
    upper_n = ncs["nerve"].isin(UPPER_LIMB_NERVES).to_numpy()
    lower_n = ncs["nerve"].isin(LOWER_LIMB_NERVES).to_numpy()
    up_ncs = ncs_sid.map(limb_upper).fillna(False).to_numpy(dtype=bool)
    keep_ncs &= ~(in_limb & np.where(up_ncs, upper_n, lower_n))
    in_limb_e = _per_study(emg_sid, pick["limb"])
    up_emg = emg_sid.map(limb_upper).fillna(False).to_numpy(dtype=bool)
    keep_emg &= ~(
        in_limb_e
        & np.where(
            up_emg, (regions == "cervical").to_numpy(), (regions == "lumbosacral").to_numpy()
        )
    )

    # values (drawn for every row so the stream does not depend on which studies were picked)
    new_ncs = ncs.copy()
    v_ncs = rng.random((len(ncs), len(_NCS_VALUE_COLUMNS)))
    sel_ncs = _per_study(ncs_sid, pick["value"])
    for j, col in enumerate(_NCS_VALUE_COLUMNS):
        if col in new_ncs.columns:
            new_ncs.loc[sel_ncs & (v_ncs[:, j] < value_share), col] = np.nan
    new_emg = numeric_muap_to_grades(emg, studies, _per_study(emg_sid, pick["numeric"]))
    v_emg = rng.random((len(emg), len(_EMG_VALUE_COLUMNS)))
    sel_emg = _per_study(emg_sid, pick["value"])
    for j, col in enumerate(_EMG_VALUE_COLUMNS):
        if col in new_emg.columns:
            new_emg.loc[sel_emg & (v_emg[:, j] < value_share), col] = np.nan

    new_studies = studies.copy()
    if "limb_temp_c" in new_studies.columns:
        new_studies.loc[sids.isin(pick["temperature"]).to_numpy(), "limb_temp_c"] = np.nan

    return Bundle(
        studies=new_studies,
        ncs=new_ncs.loc[keep_ncs].reset_index(drop=True),
        emg=new_emg.loc[keep_emg].reset_index(drop=True),
    )


def transplant_protocols(
    bundle: Bundle, rng: np.random.Generator, *, p: float, donors: Bundle | None = None
) -> Bundle:
    """Give a share ``p`` of studies the protocol of another study drawn at random.

    What a lab tests follows the referral question, and the referral question follows the
    suspected diagnosis, so *which* nerves and muscles are present carries the label — also
    through missing values (an empty leg/arm SNAP ratio says "lumbar screen", an empty F-wave
    says "not a neuropathy work-up"; transfer lessons 1 and 3). For each chosen study only the
    NCS responses whose (nerve, kind) the donor also recorded and the needle EMG rows of regions
    the donor also sampled are kept. Donors are drawn from all studies whatever their class, so
    after augmentation what was tested says less about the diagnosis.

    Rows are only removed, never added or changed; a study that would be left with no NCS and
    no EMG row keeps its own protocol. Deterministic for ``rng``; the input is not modified.

    Parameters
    ----------
    bundle : Bundle
        Normalised bundle (training studies).
    rng : numpy.random.Generator
        Source of randomness.
    p : float
        Share of studies that get another study's protocol (0–1).
    donors : Bundle, optional
        Where the donors come from (default: ``bundle`` itself). The out-of-scope detector
        gives in-scope studies the protocols of simulated out-of-scope studies
        (:mod:`pipelines.scope`), so that what was tested does not tell them apart.
    """
    _check_p(p=p)
    ids = bundle.studies["study_id"].astype(str).to_numpy()
    pool = donors if donors is not None else bundle
    pool_ids = pool.studies["study_id"].astype(str).to_numpy()
    if len(ids) < 2 or p == 0.0 or len(pool_ids) == 0:
        return bundle
    chosen = rng.random(len(ids)) < p
    drawn = (
        ids[rng.permutation(len(ids))]
        if donors is None
        else pool_ids[rng.integers(0, len(pool_ids), len(ids))]
    )
    # donor keys are tagged with their source so that equal study ids never collide
    own = np.char.add("s|", ids.astype(str))
    donor_key = np.where(chosen, np.char.add("d|" if donors is not None else "s|", drawn), own)
    donor_of = pd.Series(donor_key, index=ids)

    ncs, emg = bundle.ncs, bundle.emg
    tag = "d|" if donors is not None else "s|"
    ncs_sid = ncs["study_id"].astype(str)
    ncs_key = ncs["nerve"].astype(str) + "|" + ncs["kind"].astype(str)
    pool_key = pool.ncs["nerve"].astype(str) + "|" + pool.ncs["kind"].astype(str)
    tested = pd.MultiIndex.from_arrays([tag + pool.ncs["study_id"].astype(str), pool_key])
    if donors is not None:  # a study keeping its own protocol keeps every row
        tested = tested.append(pd.MultiIndex.from_arrays(["s|" + ncs_sid, ncs_key]))
    keep_ncs = pd.MultiIndex.from_arrays([donor_of.reindex(ncs_sid).to_numpy(), ncs_key]).isin(
        tested.unique()
    )

    emg_sid = emg["study_id"].astype(str)
    regions = load_muscles()["region"]
    region = emg["muscle"].astype(str).map(regions).fillna("unknown")
    pool_region = pool.emg["muscle"].astype(str).map(regions).fillna("unknown")
    sampled = pd.MultiIndex.from_arrays([tag + pool.emg["study_id"].astype(str), pool_region])
    if donors is not None:
        sampled = sampled.append(pd.MultiIndex.from_arrays(["s|" + emg_sid, region]))
    keep_emg = pd.MultiIndex.from_arrays([donor_of.reindex(emg_sid).to_numpy(), region]).isin(
        sampled.unique()
    )

    # a study with nothing left keeps its own protocol
    left = pd.concat([ncs_sid[keep_ncs], emg_sid[keep_emg]]).unique()
    emptied = pd.Index(ids).difference(pd.Index(left))
    keep_ncs |= ncs_sid.isin(emptied).to_numpy()
    keep_emg |= emg_sid.isin(emptied).to_numpy()
    return Bundle(
        studies=bundle.studies,
        ncs=ncs.loc[keep_ncs].reset_index(drop=True),
        emg=emg.loc[keep_emg].reset_index(drop=True),
    )
