"""Pure ``Bundle -> Bundle`` transforms of the metamorphic relations (``clinical/invariants.md``).

Every function returns a new :class:`~bundle.tables.Bundle` and never changes its argument.
A transform acts on every study of the bundle it is given; the ones that change a single test
take ``targets``, a frame naming the tests (``study_id`` plus the response columns
``nerve, side, kind`` for NCS, or ``muscle, side`` for EMG rows). An NCS *response* is all rows
sharing ``study_id, nerve, side, kind``; its rows are distal-first, and a proximal row carries
``distance_mm`` and ``velocity_m_s`` of the segment from the previous site.

Missing means "not measured": deleting a test removes its rows, while an absent response keeps
its rows with amplitude ``0`` and no latency (:func:`make_absent`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bundle.tables import Bundle

#: one test (invariants.md): all rows of a study, nerve, side and kind
RESPONSE_KEYS: tuple[str, ...] = ("study_id", "nerve", "side", "kind")
#: one recorded response, distal-first (a second recording site, e.g. ulnar to FDI beside
#: ulnar to ADM, is its own distal-first sequence)
SITE_KEYS: tuple[str, ...] = (*RESPONSE_KEYS, "recording_site")
NERVE_KEYS: tuple[str, ...] = ("study_id", "nerve", "side")
EMG_KEYS: tuple[str, ...] = ("study_id", "muscle", "side")
MUAP_GRADE_COLUMNS: tuple[str, ...] = (
    "muap_amplitude_grade",
    "muap_duration_grade",
    "polyphasia_grade",
)
#: invariants.md, MR3: the normal rows added per region (muscle, side)
REGION_MUSCLES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "bulbar": (("tongue", "M"),),
    "thoracic": (("thoracic_paraspinal", "R"),),
    "lumbosacral": (
        ("tibialis_anterior", "R"),
        ("vastus_lateralis", "R"),
        ("medial_gastrocnemius", "R"),
    ),
    "cervical": (("first_dorsal_interosseous", "R"), ("biceps", "R"), ("triceps", "R")),
}
#: invariants.md, MR9 version N: (nerve, kind) -> (amplitude, latency_ms); peroneal motor EDB only
NORMAL_RESPONSES: Mapping[tuple[str, str], tuple[float, float]] = {
    ("median", "sensory"): (30.0, 3.1),
    ("ulnar", "sensory"): (25.0, 2.7),
    ("radial", "sensory"): (25.0, 2.3),
    ("sural", "sensory"): (12.0, 3.7),
    ("superficial_peroneal", "sensory"): (9.0, 3.7),
    ("peroneal", "motor"): (4.0, 4.8),
}
#: clinical reference §7.1 / T1.3: mean minimal F latency at 170 cm (ms) and its height slope
#: (ms per cm); persistence of the all-normal vignette (``normal_01``), in %.
F_MEAN_170_MS: Mapping[str, float] = {
    "median": 25.0,
    "ulnar": 26.0,
    "peroneal": 46.5,
    "tibial": 47.0,
}
F_HEIGHT_SLOPE_MS_PER_CM: Mapping[str, float] = {
    "median": 0.15,
    "ulnar": 0.18,
    "peroneal": 0.29,
    "tibial": 0.27,
}
F_NORMAL_PERSISTENCE_PCT: Mapping[str, float] = {
    "median": 70.0,
    "ulnar": 85.0,
    "peroneal": 55.0,
    "tibial": 95.0,
}
REFERENCE_HEIGHT_CM = 170.0
#: MR7: MUAP duration reference grows 0.7 % a year from age 25 (T2.1, §7.2)
MUAP_AGE_SLOPE_PER_YR = 0.007
MUAP_REFERENCE_AGE_YEARS = 25.0
#: smallest values that still pass the contract's plausibility rules (bundle.rules)
SENSORY_AMPLITUDE_MIN_UV = 0.5
MUAP_AMPLITUDE_MIN_UV = 20.0
SPONTANEOUS_MAX_GRADE = 4.0
SIDE_SWAP: Mapping[str, str] = {"L": "R", "R": "L"}


# --------------------------------------------------------------------------------------------
# selection helpers
# --------------------------------------------------------------------------------------------
def rows_matching(
    frame: pd.DataFrame, targets: pd.DataFrame | None, keys: Sequence[str]
) -> np.ndarray:
    """Boolean mask of the rows of ``frame`` whose ``keys`` equal those of a row of ``targets``.

    ``targets=None`` selects every row.
    """
    if targets is None:
        return np.ones(len(frame), dtype=bool)
    if len(targets) == 0 or len(frame) == 0:
        return np.zeros(len(frame), dtype=bool)
    cols = list(keys)
    rows = pd.MultiIndex.from_frame(frame[cols].astype(object))
    wanted = pd.MultiIndex.from_frame(targets[cols].astype(object))
    return np.asarray(rows.isin(wanted), dtype=bool)


def response_position(ncs: pd.DataFrame) -> np.ndarray:
    """0 for the distal (first) row of each response (:data:`SITE_KEYS`), 1, 2, ... for proximal rows."""
    if len(ncs) == 0:
        return np.zeros(0, dtype=np.int64)
    return ncs.groupby(list(SITE_KEYS), sort=False, dropna=False).cumcount().to_numpy()


def first_rows(ncs: pd.DataFrame) -> pd.DataFrame:
    """The distal (first) row of every NCS response."""
    return ncs[response_position(ncs) == 0]


def with_tables(bundle: Bundle, **tables: pd.DataFrame) -> Bundle:
    """The bundle with some of its tables replaced."""
    return Bundle(
        studies=tables.get("studies", bundle.studies),
        ncs=tables.get("ncs", bundle.ncs),
        emg=tables.get("emg", bundle.emg),
    )


# --------------------------------------------------------------------------------------------
# conduction slowing (MR1, MR7)
# --------------------------------------------------------------------------------------------
def slow_motor(
    bundle: Bundle, factor: float, *, distal: bool, targets: pd.DataFrame | None = None
) -> Bundle:
    """Consistent slowing ``S_A(f)`` (``distal=False``) or ``S_B(f)`` (``distal=True``).

    Every proximal motor row gets ``velocity' = velocity * f`` and ``latency' = latency' of the
    previous site + distance_mm / velocity'``, distal to proximal. ``S_B`` also sets the distal
    latency to ``DML / f`` and the nerve's F latency to ``DML' + (F - DML) / f``.

    Parameters
    ----------
    bundle : Bundle
        Canonical bundle (not modified).
    factor : float
        ``f`` with ``0 < f <= 1``.
    distal : bool
        True for ``S_B`` (distal latency and F-wave slowed too).
    targets : DataFrame, optional
        ``study_id, nerve, side`` of the motor responses to slow (None: every motor response).
    """
    if not 0 < factor <= 1:
        raise ValueError(
            f"Invalid value for the 'factor' parameter: {factor!r}. Expected 0 < f <= 1."
        )
    ncs = bundle.ncs.copy()
    chosen = rows_matching(ncs, targets, NERVE_KEYS)
    kind = ncs["kind"].to_numpy()
    motor = chosen & (kind == "motor")
    lat = ncs["latency_ms"].to_numpy(dtype=float)
    vel = ncs["velocity_m_s"].to_numpy(dtype=float)
    dist = ncs["distance_mm"].to_numpy(dtype=float)
    new_lat, new_vel = lat.copy(), vel.copy()
    keys = list(zip(*(ncs[k].to_numpy() for k in SITE_KEYS), strict=True))
    previous: dict[tuple, tuple[float, float]] = {}
    dml: dict[tuple, tuple[float, float]] = {}
    for i in np.flatnonzero(motor):
        key = keys[i]
        if key not in previous:  # distal row
            new_lat[i] = lat[i] / factor if distal else lat[i]
            if distal and not np.isnan(vel[i]):
                new_vel[i] = vel[i] * factor
            previous[key] = (lat[i], new_lat[i])
            dml.setdefault(key[:3], (lat[i], new_lat[i]))
            dml[(*key[:3], key[4])] = (lat[i], new_lat[i])
            continue
        if not np.isnan(vel[i]):
            new_vel[i] = vel[i] * factor
        if np.isnan(lat[i]):
            continue
        old_prev, new_prev = previous[key]
        if not np.isnan(vel[i]) and not np.isnan(dist[i]) and vel[i] > 0 and not np.isnan(new_prev):
            new_lat[i] = new_prev + dist[i] / new_vel[i]
        elif not np.isnan(old_prev) and not np.isnan(new_prev):
            new_lat[i] = new_prev + (lat[i] - old_prev) / factor
        previous[key] = (lat[i], new_lat[i])
    if distal:
        for i in np.flatnonzero(chosen & (kind == "f_wave")):
            key = keys[i]
            old, new = dml.get((*key[:3], key[4]), dml.get(key[:3], (np.nan, np.nan)))
            if not np.isnan(lat[i]) and not np.isnan(old):
                new_lat[i] = new + (lat[i] - old) / factor
    ncs["latency_ms"] = new_lat
    ncs["velocity_m_s"] = new_vel
    return with_tables(bundle, ncs=ncs)


def lengthen_distal_latency(bundle: Bundle, targets: pd.DataFrame, fraction: float) -> Bundle:
    """Motor DML ``x (1 + fraction)``; proximal latencies shift by the same ms (CVs unchanged)."""
    ncs = bundle.ncs.copy()
    sel = rows_matching(ncs, targets, NERVE_KEYS) & (ncs["kind"] == "motor").to_numpy()
    lat = ncs["latency_ms"].to_numpy(dtype=float).copy()
    pos = response_position(ncs)
    resp = ncs.groupby(list(SITE_KEYS), sort=False, dropna=False).ngroup().to_numpy()
    distal = sel & (pos == 0)
    shift = pd.Series(lat[distal] * fraction, index=resp[distal])
    delta = shift.reindex(resp).to_numpy()
    lat[sel] = lat[sel] + np.nan_to_num(delta[sel])
    ncs["latency_ms"] = lat
    return with_tables(bundle, ncs=ncs)


# --------------------------------------------------------------------------------------------
# amplitudes, latencies, absence (MR2, MR6, MR7, MR9)
# --------------------------------------------------------------------------------------------
def scale_column(
    bundle: Bundle,
    targets: pd.DataFrame | None,
    column: str,
    factor: float,
    *,
    kind: str | None = None,
    proximal_only: bool = False,
) -> Bundle:
    """Multiply ``column`` of every row of the targeted responses by ``factor``.

    ``kind`` restricts to one kind (motor, sensory, f_wave); ``proximal_only`` skips the distal
    row of each response. Targets are matched on ``study_id, nerve, side`` (plus ``kind`` when
    the targets carry it).
    """
    ncs = bundle.ncs.copy()
    keys = RESPONSE_KEYS if targets is not None and "kind" in targets.columns else NERVE_KEYS
    sel = rows_matching(ncs, targets, keys)
    if kind is not None:
        sel &= (ncs["kind"] == kind).to_numpy()
    if proximal_only:
        sel &= response_position(ncs) > 0
    values = ncs[column].to_numpy(dtype=float).copy()
    values[sel] = values[sel] * factor
    ncs[column] = values
    return with_tables(bundle, ncs=ncs)


def make_absent(bundle: Bundle, targets: pd.DataFrame) -> Bundle:
    """Make the targeted motor/sensory responses absent: amplitude 0, no latency/velocity/duration."""
    ncs = bundle.ncs.copy()
    sel = rows_matching(ncs, targets, RESPONSE_KEYS)
    ncs.loc[sel, "amplitude"] = 0.0
    ncs.loc[sel, ["latency_ms", "velocity_m_s", "duration_ms"]] = np.nan
    return with_tables(bundle, ncs=ncs)


def make_f_absent(bundle: Bundle, targets: pd.DataFrame) -> Bundle:
    """Make the targeted F-waves absent: no latency, persistence 0."""
    ncs = bundle.ncs.copy()
    sel = rows_matching(ncs, targets, NERVE_KEYS) & (ncs["kind"] == "f_wave").to_numpy()
    ncs.loc[sel, "latency_ms"] = np.nan
    ncs.loc[sel, "persistence_pct"] = 0.0
    return with_tables(bundle, ncs=ncs)


def shrink_sensory_all(bundle: Bundle, factor: float) -> Bundle:
    """Every sensory amplitude ``x factor``; a result below the contract's 0.5 µV floor is made absent."""
    ncs = bundle.ncs.copy()
    sens = (ncs["kind"] == "sensory").to_numpy()
    amp = ncs["amplitude"].to_numpy(dtype=float) * np.where(sens, factor, 1.0)
    ncs["amplitude"] = amp
    too_small = sens & (amp > 0) & (amp < SENSORY_AMPLITUDE_MIN_UV)
    ncs.loc[too_small, "amplitude"] = 0.0
    ncs.loc[too_small, ["latency_ms", "velocity_m_s", "duration_ms"]] = np.nan
    return with_tables(bundle, ncs=ncs)


def delete_tests(
    bundle: Bundle, ncs_targets: pd.DataFrame | None = None, emg_targets: pd.DataFrame | None = None
) -> Bundle:
    """Delete NCS responses (``study_id, nerve, side, kind``) and/or EMG rows (``study_id, muscle, side``)."""
    ncs, emg = bundle.ncs, bundle.emg
    if ncs_targets is not None:
        ncs = ncs[~rows_matching(ncs, ncs_targets, RESPONSE_KEYS)].reset_index(drop=True)
    if emg_targets is not None:
        emg = emg[~rows_matching(emg, emg_targets, EMG_KEYS)].reset_index(drop=True)
    return with_tables(bundle, ncs=ncs, emg=emg)


def normal_response(bundle: Bundle, targets: pd.DataFrame) -> Bundle:
    """Replace each targeted absent response by the normal one of invariants.md MR9 (version N).

    Targets carry ``study_id, nerve, side, kind``; ``kind`` ``f_wave`` gets the height-scaled
    mean F latency (§7.1, T1.3) with a normal persistence. The new row keeps the sites and
    distance of the original distal row (a peroneal motor response keeps only its distal site).
    """
    ncs = bundle.ncs
    sel = rows_matching(ncs, targets, RESPONSE_KEYS)
    first = sel & (response_position(ncs) == 0)
    new = ncs[first].copy()
    height = (
        bundle.studies.set_index("study_id")["height_cm"].reindex(new["study_id"]).to_numpy(float)
    )
    height = np.where(np.isnan(height), REFERENCE_HEIGHT_CM, height)
    for j, (nerve, kind) in enumerate(zip(new["nerve"], new["kind"], strict=True)):
        idx = new.index[j]
        if kind == "f_wave":
            lat = F_MEAN_170_MS[nerve] + F_HEIGHT_SLOPE_MS_PER_CM[nerve] * (
                height[j] - REFERENCE_HEIGHT_CM
            )
            new.loc[idx, ["latency_ms", "persistence_pct"]] = [lat, F_NORMAL_PERSISTENCE_PCT[nerve]]
            continue
        amp, lat = NORMAL_RESPONSES[(nerve, kind)]
        new.loc[idx, ["amplitude", "latency_ms", "velocity_m_s"]] = [amp, lat, np.nan]
    kept = ncs[~sel]
    out = pd.concat([kept, new], ignore_index=False).sort_index(kind="stable")
    return with_tables(bundle, ncs=out.reset_index(drop=True))


def has_normal_version(nerve: str, kind: str, recording_site: object) -> bool:
    """True when invariants.md MR9 defines a normal version N for this absent response."""
    if kind == "f_wave":
        return nerve in F_MEAN_170_MS
    if (nerve, kind) == ("peroneal", "motor"):
        return recording_site == "edb"
    return (nerve, kind) in NORMAL_RESPONSES


# --------------------------------------------------------------------------------------------
# temperature (MR10)
# --------------------------------------------------------------------------------------------
def cool_limb(bundle: Bundle, temp_c: float) -> Bundle:
    """``limb_temp_c = temp_c`` where the stated temperature is higher or missing (warm)."""
    studies = bundle.studies.copy()
    t = studies["limb_temp_c"].to_numpy(dtype=float)
    studies["limb_temp_c"] = np.where(np.isnan(t) | (t > temp_c), temp_c, t)
    return with_tables(bundle, studies=studies)


def clear_limb_temp(bundle: Bundle) -> Bundle:
    """Empty ``limb_temp_c`` (read as warm)."""
    return with_tables(bundle, studies=bundle.studies.assign(limb_temp_c=np.nan))


# --------------------------------------------------------------------------------------------
# unit mix-ups (MR11): the whole bundle
# --------------------------------------------------------------------------------------------
def motor_amplitude_in_uv(bundle: Bundle) -> Bundle:
    """(a) every motor amplitude x 1000 (mV entered as µV)."""
    ncs = bundle.ncs.copy()
    motor = (ncs["kind"] == "motor").to_numpy()
    ncs["amplitude"] = ncs["amplitude"].to_numpy(float) * np.where(motor, 1000.0, 1.0)
    return with_tables(bundle, ncs=ncs)


def sensory_amplitude_in_mv(bundle: Bundle) -> Bundle:
    """(b) every sensory amplitude > 0 x 0.001 (µV entered as mV)."""
    ncs = bundle.ncs.copy()
    amp = ncs["amplitude"].to_numpy(float)
    sens = (ncs["kind"] == "sensory").to_numpy() & (amp > 0)
    ncs["amplitude"] = amp * np.where(sens, 0.001, 1.0)
    return with_tables(bundle, ncs=ncs)


def muap_amplitude_in_mv(bundle: Bundle) -> Bundle:
    """(c) every ``muap_amplitude_uv`` x 0.001."""
    emg = bundle.emg.assign(muap_amplitude_uv=bundle.emg["muap_amplitude_uv"] * 0.001)
    return with_tables(bundle, emg=emg)


def temperature_in_f(bundle: Bundle) -> Bundle:
    """(d) ``limb_temp_c`` converted to °F."""
    t = bundle.studies["limb_temp_c"]
    return with_tables(bundle, studies=bundle.studies.assign(limb_temp_c=t * 9.0 / 5.0 + 32.0))


def height_in_m(bundle: Bundle) -> Bundle:
    """(e) ``height_cm`` given in metres."""
    h = bundle.studies["height_cm"]
    return with_tables(bundle, studies=bundle.studies.assign(height_cm=h / 100.0))


# --------------------------------------------------------------------------------------------
# presentation (MR12)
# --------------------------------------------------------------------------------------------
def swap_sides(bundle: Bundle) -> Bundle:
    """Swap ``L`` and ``R`` in every ``ncs.side`` and ``emg.side`` (``M`` unchanged)."""
    ncs = bundle.ncs.assign(side=bundle.ncs["side"].replace(dict(SIDE_SWAP)))
    emg = bundle.emg.assign(side=bundle.emg["side"].replace(dict(SIDE_SWAP)))
    return with_tables(bundle, ncs=ncs, emg=emg)


def permute_rows(bundle: Bundle, seed: int) -> Bundle:
    """Shuffle study rows, EMG rows and whole NCS responses (:data:`SITE_KEYS`; rows within a
    response keep their distal-first order)."""
    rng = np.random.default_rng(seed)
    studies = bundle.studies.iloc[rng.permutation(len(bundle.studies))].reset_index(drop=True)
    emg = bundle.emg.iloc[rng.permutation(len(bundle.emg))].reset_index(drop=True)
    ncs = bundle.ncs
    resp = ncs.groupby(list(SITE_KEYS), sort=False, dropna=False).ngroup().to_numpy()
    new_rank = rng.permutation(int(resp.max()) + 1 if len(resp) else 0)
    order = np.lexsort((np.arange(len(ncs)), new_rank[resp])) if len(resp) else np.zeros(0, int)
    return Bundle(studies=studies, ncs=ncs.iloc[order].reset_index(drop=True), emg=emg)


def rename_studies(
    bundle: Bundle, study_ids: Mapping[str, str], patient_prefix: str | None = None
) -> Bundle:
    """Rename ``study_id`` (old -> new; ids not listed are kept) and optionally ``patient_id``.

    ``patient_prefix`` replaces each patient id by ``<prefix><n>`` (same patient, same number).
    """

    def rename(s: pd.Series) -> pd.Series:
        return s.map(lambda x: study_ids.get(x, x))

    studies = bundle.studies.assign(study_id=rename(bundle.studies["study_id"]))
    if patient_prefix is not None:
        codes = pd.factorize(studies["patient_id"])[0]
        studies["patient_id"] = [np.nan if c < 0 else f"{patient_prefix}{c:05d}" for c in codes]
    return Bundle(
        studies=studies,
        ncs=bundle.ncs.assign(study_id=rename(bundle.ncs["study_id"])),
        emg=bundle.emg.assign(study_id=rename(bundle.emg["study_id"])),
    )


#: MR12(f): canonical value -> accepted synonym or other case, per (table, column)
SYNONYMS: Mapping[tuple[str, str], Mapping[str, str]] = {
    ("ncs", "nerve"): {"peroneal": "fibular", "superficial_peroneal": "superficial_fibular"},
    ("emg", "muscle"): {"first_dorsal_interosseous": "FDI", "tibialis_anterior": "TA"},
    ("ncs", "side"): {"R": "right"},
    ("emg", "side"): {"R": "right"},
    ("ncs", "kind"): {"motor": "Motor"},
    ("studies", "diagnosis"): {"demyelinating_pn": "cidp"},
}


def with_synonyms(bundle: Bundle) -> Bundle:
    """The bundle's tables with canonical values replaced by synonyms (for writing, not predicting)."""
    tables = {"studies": bundle.studies, "ncs": bundle.ncs, "emg": bundle.emg}
    out = {name: frame.copy() for name, frame in tables.items()}
    for (table, column), mapping in SYNONYMS.items():
        out[table][column] = out[table][column].map(lambda v, m=mapping: m.get(v, v))
    return Bundle(**out)
