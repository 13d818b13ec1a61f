"""Cross-column rules of the contract: unit mix-ups and plausibility that one column alone
cannot show (a motor amplitude in µV, a sensory one in mV, a latency for an absent response).

They name the likely cause and never fix a value (data contract, "Plausibility is part of
validation"). Single-column ranges and physiological ceilings are in :mod:`bundle.spec`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bundle import vocab
from bundle.collect import Collector
from bundle.readers import RawTable

# Plausibility limits (data contract, "Plausibility is part of validation").
MOTOR_AMPLITUDE_MAX_MV = 50.0  # contract: above 50 is almost surely µV in a mV column
SENSORY_AMPLITUDE_MIN_UV = 0.5  # contract: below 0.5 with a latency is almost surely mV
VELOCITY_MAX_M_S = 120.0  # contract: above 120 m/s is not physiological
MUAP_AMPLITUDE_MIN_UV = 20.0  # a mean MUAP below 20 µV is not physiological; mV typed into µV
#: tibial H latency outside this band (ms) is almost surely another response typed into an
#: h_reflex row (a DML of ~5 ms); normal adults 28-35 ms, up to about 2 x in demyelinating PN (clinical
#: reference T1.3, ULN 34-35 ms †); the band itself is a plausibility choice [sim]
H_LATENCY_PLAUSIBLE_MS = (20.0, 80.0)


def check_ncs(raw: RawTable, df: pd.DataFrame, sids: pd.Series, coll: Collector) -> None:
    """Row rules of the ncs table: required amplitude, unit mix-ups, plausibility."""
    kind, amp, lat, vel = df["kind"], df["amplitude"], df["latency_ms"], df["velocity_m_s"]
    motor, sensory = (kind == "motor").to_numpy(), (kind == "sensory").to_numpy()
    in_mv = motor | kind.isin(vocab.SPECIAL_KINDS).to_numpy()  # H-reflex and RNS CMAP in mV
    if "amplitude" in raw.frame.columns:
        coll.rows(
            raw,
            (motor | sensory) & amp.isna().to_numpy() & raw.frame["amplitude"].isna().to_numpy(),
            "amplitude",
            None,
            "an amplitude for motor/sensory rows (0 = no response)",
            kind="missing_value",
            study_ids=sids,
        )
    for rows, what in ((motor, "motor"), (in_mv & ~motor, "h_reflex / rns")):
        coll.rows(
            raw,
            rows & (amp > MOTOR_AMPLITUDE_MAX_MV).to_numpy(),
            "amplitude",
            amp,
            f"{what} amplitude in mV (0–{MOTOR_AMPLITUDE_MAX_MV:g})",
            kind="unit_mixup",
            study_ids=sids,
            cause="value entered in µV",
        )
    coll.rows(
        raw,
        sensory & ((amp > 0) & (amp < SENSORY_AMPLITUDE_MIN_UV) & lat.notna()).to_numpy(),
        "amplitude",
        amp,
        f"sensory amplitude in µV (≥ {SENSORY_AMPLITUDE_MIN_UV:g} when a response was recorded)",
        kind="unit_mixup",
        study_ids=sids,
        cause="value entered in mV",
    )
    coll.rows(
        raw,
        (vel > VELOCITY_MAX_M_S).to_numpy(),
        "velocity_m_s",
        vel,
        f"conduction velocity ≤ {VELOCITY_MAX_M_S:g} m/s",
        kind="implausible",
        study_ids=sids,
        cause="not physiological; check distance (mm) and latency (ms)",
    )
    coll.rows(
        raw,
        (df["persistence_pct"].notna() & (kind != "f_wave")).to_numpy(),
        "persistence_pct",
        df["persistence_pct"],
        "persistence only on f_wave rows",
        kind="misplaced_value",
        study_ids=sids,
        severity="warning",
    )
    coll.rows(
        raw,
        ((amp == 0) & lat.notna()).to_numpy() & (motor | sensory | (kind == "h_reflex").to_numpy()),
        "latency_ms",
        lat,
        "no latency when the amplitude is 0 (no response)",
        kind="absent_response_latency",
        study_ids=sids,
        severity="warning",
        cause="a latency was recorded for an absent response",
    )


def check_special_kinds(raw: RawTable, df: pd.DataFrame, sids: pd.Series, coll: Collector) -> None:
    """Rules of the two optional kinds (data contract, "Two optional kinds extend the NCS table").

    * ``h_reflex``: nerve ``tibial``, recording site ``soleus`` when given (errors); a
      stimulation site other than ``popliteal_fossa`` is a warning.
    * ``rns``: a motor nerve with a recording site that fits it (:data:`vocab.RNS_RECORDING_SITES`)
      and a ``decrement_pct`` (errors).
    * ``decrement_pct`` on any other kind is an error (it has no meaning there).
    * an ``h_reflex`` latency outside :data:`H_LATENCY_PLAUSIBLE_MS`, or an ``h_reflex`` row
      with neither latency nor amplitude (it says nothing: read as not measured), is a warning.
    """
    kind = df["kind"]
    is_h = (kind == "h_reflex").to_numpy()
    is_rns = (kind == "rns").to_numpy()
    dec = df["decrement_pct"]
    coll.rows(
        raw,
        (dec.notna() & (kind != "rns") & kind.notna()).to_numpy(),
        "decrement_pct",
        dec,
        "decrement_pct only on rns rows (empty on motor, sensory, f_wave and h_reflex rows)",
        kind="misplaced_value",
        study_ids=sids,
    )
    if not (is_h.any() or is_rns.any()):
        return
    if "decrement_pct" in raw.frame.columns:
        raw_missing = raw.frame["decrement_pct"].isna().to_numpy()
    else:
        raw_missing = np.ones(len(df), dtype=bool)
    coll.rows(
        raw,
        is_rns & dec.isna().to_numpy() & raw_missing,
        "decrement_pct",
        None,
        "a decrement_pct for rns rows (% from the 1st to the 4th or 5th response, −100–100)",
        kind="missing_value",
        study_ids=sids,
    )
    lat, amp = df["latency_ms"], df["amplitude"]
    lo, hi = H_LATENCY_PLAUSIBLE_MS
    coll.rows(
        raw,
        is_h & ((lat < lo) | (lat > hi)).to_numpy(),
        "latency_ms",
        lat,
        f"an H latency of {lo:g}–{hi:g} ms on h_reflex rows (normal adults about 28–35 ms)",
        kind="implausible",
        study_ids=sids,
        cause="a distal motor or F-wave latency in an h_reflex row?",
        severity="warning",
    )
    coll.rows(
        raw,
        is_h & (lat.isna() & amp.isna()).to_numpy(),
        "latency_ms",
        None,
        "a latency_ms or an amplitude on h_reflex rows (0 = absent); the row is read as "
        "not measured",
        kind="missing_value",
        study_ids=sids,
        severity="warning",
    )
    nerve = df["nerve"]
    site = df["recording_site"].astype(object)
    stim = df["stim_site"].astype(object)
    known_nerve = nerve.isin(vocab.NERVES).to_numpy()
    coll.rows(
        raw,
        is_h & known_nerve & (nerve != vocab.H_REFLEX_NERVE).to_numpy(),
        "nerve",
        nerve,
        "nerve tibial on h_reflex rows (the tibial H-reflex recorded from soleus)",
        kind="kind_site_mismatch",
        study_ids=sids,
    )
    coll.rows(
        raw,
        is_h & site.notna().to_numpy() & ~site.isin(vocab.H_REFLEX_RECORDING_SITES).to_numpy(),
        "recording_site",
        site,
        "recording_site soleus on h_reflex rows",
        kind="kind_site_mismatch",
        study_ids=sids,
    )
    coll.rows(
        raw,
        is_h & stim.notna().to_numpy() & ~stim.isin(vocab.H_REFLEX_STIM_SITES).to_numpy(),
        "stim_site",
        stim,
        "stim_site popliteal_fossa on h_reflex rows",
        kind="kind_site_mismatch",
        study_ids=sids,
        severity="warning",
    )
    coll.rows(
        raw,
        is_rns & known_nerve & ~nerve.isin(list(vocab.RNS_RECORDING_SITES)).to_numpy(),
        "nerve",
        nerve,
        f"a motor nerve on rns rows ({', '.join(vocab.RNS_RECORDING_SITES)})",
        kind="kind_site_mismatch",
        study_ids=sids,
    )
    fits = np.array(
        [
            s in vocab.RNS_RECORDING_SITES.get(str(n), frozenset())
            for n, s in zip(nerve.to_numpy(), site.to_numpy(), strict=True)
        ],
        dtype=bool,
    )
    motor_nerve = nerve.isin(list(vocab.RNS_RECORDING_SITES)).to_numpy()
    coll.rows(
        raw,
        is_rns & motor_nerve & site.notna().to_numpy() & ~fits,
        "recording_site",
        site,
        "a muscle of the stimulated nerve on rns rows (e.g. ulnar adm or fdi, median apb, "
        "peroneal edb or tibialis_anterior, tibial ah, radial eip or anconeus)",
        kind="kind_site_mismatch",
        study_ids=sids,
    )


def check_emg(raw: RawTable, df: pd.DataFrame, sids: pd.Series, coll: Collector) -> None:
    """Row rules of the emg table: midline side only for head/axial muscles, MUAP unit mix-up."""
    limb_muscle = df["muscle"].isin(vocab.MUSCLES) & ~df["muscle"].isin(vocab.MIDLINE_MUSCLES)
    coll.rows(
        raw,
        ((df["side"] == "M") & limb_muscle).to_numpy(),
        "side",
        df["side"],
        "L or R for a limb muscle (M is for midline muscles such as the tongue)",
        kind="unknown_value",
        study_ids=sids,
    )
    a = df["muap_amplitude_uv"]
    coll.rows(
        raw,
        ((a > 0) & (a < MUAP_AMPLITUDE_MIN_UV)).to_numpy(),
        "muap_amplitude_uv",
        a,
        f"mean MUAP amplitude in µV (≥ {MUAP_AMPLITUDE_MIN_UV:g} when measured)",
        kind="unit_mixup",
        study_ids=sids,
        cause="value entered in mV",
    )
