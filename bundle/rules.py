"""Cross-column rules of the contract: unit mix-ups and plausibility that one column alone
cannot show (a motor amplitude in µV, a sensory one in mV, a latency for an absent response).

They name the likely cause and never fix a value (data contract, "Plausibility is part of
validation"). Single-column ranges and physiological ceilings are in :mod:`bundle.spec`.
"""

from __future__ import annotations

import pandas as pd

from bundle import vocab
from bundle.collect import Collector
from bundle.readers import RawTable

# Plausibility limits (data contract, "Plausibility is part of validation").
MOTOR_AMPLITUDE_MAX_MV = 50.0  # contract: above 50 is almost surely µV in a mV column
SENSORY_AMPLITUDE_MIN_UV = 0.5  # contract: below 0.5 with a latency is almost surely mV
VELOCITY_MAX_M_S = 120.0  # contract: above 120 m/s is not physiological
MUAP_AMPLITUDE_MIN_UV = 20.0  # a mean MUAP below 20 µV is not physiological; mV typed into µV


def check_ncs(raw: RawTable, df: pd.DataFrame, sids: pd.Series, coll: Collector) -> None:
    """Row rules of the ncs table: required amplitude, unit mix-ups, plausibility."""
    kind, amp, lat, vel = df["kind"], df["amplitude"], df["latency_ms"], df["velocity_m_s"]
    motor, sensory = (kind == "motor").to_numpy(), (kind == "sensory").to_numpy()
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
    coll.rows(
        raw,
        motor & (amp > MOTOR_AMPLITUDE_MAX_MV).to_numpy(),
        "amplitude",
        amp,
        f"motor amplitude in mV (0–{MOTOR_AMPLITUDE_MAX_MV:g})",
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
        ((amp == 0) & lat.notna()).to_numpy() & (motor | sensory),
        "latency_ms",
        lat,
        "no latency when the amplitude is 0 (no response)",
        kind="absent_response_latency",
        study_ids=sids,
        severity="warning",
        cause="a latency was recorded for an absent response",
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
