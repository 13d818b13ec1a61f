"""Feature registry: what every feature column means, its unit, group and how to state its value.

The explanation and the web page render findings from these entries, e.g.
``describe_value("ncs_sural_sensory_amp_pct_lln", 0.0) -> "absent response"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from features.criteria import CRITERIA_COLUMNS
from features.emg import REGION_FLAGS
from features.ncs import F_NERVES, MOTOR_NERVES, SENSORY_NERVES
from features.special_ncs import SPECIAL_NCS_TEXT
from features.vocab import REGIONS

GROUPS: tuple[str, ...] = (
    "patient",
    "ncs_motor",
    "ncs_sensory",
    "f_wave",
    "special_ncs",
    "spontaneous_activity",
    "muap",
    "recruitment",
    "distribution",
    "criteria",
    "coverage",
)
LIMIT_KINDS: tuple[str, ...] = ("pct_lln", "pct_uln", "ratio", "frac", "count", "flag", "raw")

#: % of ULN features that read 100 % for any value within the limit (features.ncs
#: F_LAT_FLOOR_PCT_ULN): shown as "within the upper limit", never as a value at the limit
FLOORED_AT_LIMIT: frozenset[str] = frozenset(
    [f"ncs_{n}_f_lat_pct_uln" for n in F_NERVES] + ["ncs_f_max_lat_pct_uln"]
)


@dataclass(frozen=True)
class FeatureInfo:
    """Registry entry of one feature column.

    Attributes
    ----------
    name : str
        Column name.
    label : str
        Short clinical label ("Sural SNAP amplitude").
    unit : str
        Unit of the value ("% of LLN", "ms", "share of muscles", ...).
    group : str
        One of :data:`GROUPS`.
    description : str
        One sentence a clinician can read.
    direction_text : str
        What high or low values mean ("low values mean axon loss").
    limit_kind : str
        How to state the value, one of :data:`LIMIT_KINDS`.
    """

    name: str
    label: str
    unit: str
    group: str
    description: str
    direction_text: str
    limit_kind: str


def _nice(nerve: str) -> str:
    return nerve.replace("_", " ").capitalize()


def _build() -> dict[str, FeatureInfo]:
    out: dict[str, FeatureInfo] = {}

    def add(
        name: str, label: str, unit: str, group: str, desc: str, direction: str, kind: str
    ) -> None:
        out[name] = FeatureInfo(name, label, unit, group, desc, direction, kind)

    add(
        "age_years",
        "Age",
        "years",
        "patient",
        "Age at the study.",
        "older age lowers several normal limits",
        "raw",
    )
    add(
        "height_cm",
        "Height",
        "cm",
        "patient",
        "Height, used for F-wave and leg limits.",
        "taller people have longer F-waves",
        "raw",
    )
    add("sex_female", "Female sex", "1 = female", "patient", "Sex (1 female, 0 male).", "", "flag")

    for n in MOTOR_NERVES:
        nn = _nice(n)
        p = f"ncs_{n}_motor"
        add(
            f"{p}_lat_pct_uln",
            f"{nn} distal motor latency",
            "% of ULN",
            "ncs_motor",
            f"{nn} distal motor latency as % of the patient's upper limit (worse side).",
            "values ≥150 % suggest demyelination",
            "pct_uln",
        )
        add(
            f"{p}_amp_pct_lln",
            f"{nn} CMAP amplitude",
            "% of LLN",
            "ncs_motor",
            f"{nn} distal CMAP amplitude as % of the lower limit (worse side); 0 = no response.",
            "low values mean motor axon loss (or distal block)",
            "pct_lln",
        )
        add(
            f"{p}_cv_pct_lln",
            f"{nn} motor conduction velocity",
            "% of LLN",
            "ncs_motor",
            f"Slowest {nn.lower()} motor segment velocity as % of the lower limit (worse side).",
            "values ≤70 % suggest demyelination; 75-100 % fits axon loss",
            "pct_lln",
        )
        add(
            f"{p}_cb_ratio",
            f"{nn} proximal/distal CMAP ratio",
            "ratio",
            "ncs_motor",
            f"Lowest proximal/distal {nn.lower()} CMAP amplitude ratio (conduction block when low).",
            "a ratio ≤0.7 (≥30 % drop) suggests conduction block",
            "ratio",
        )
        add(
            f"{p}_td_ratio",
            f"{nn} proximal/distal CMAP duration ratio",
            "ratio",
            "ncs_motor",
            f"Largest proximal/distal {nn.lower()} CMAP duration ratio (temporal dispersion when high).",
            "a ratio >1.3 suggests temporal dispersion",
            "ratio",
        )
        add(
            f"{p}_amp_side_ratio",
            f"{nn} CMAP side-to-side ratio",
            "ratio",
            "ncs_motor",
            f"Smaller/larger {nn.lower()} CMAP (% of LLN) between the two sides.",
            "low values mean asymmetric motor involvement",
            "ratio",
        )
        if n in F_NERVES:
            add(
                f"{p}_dur_pct_uln",
                f"{nn} distal CMAP duration",
                "% of ULN",
                "ncs_motor",
                f"{nn} distal CMAP duration as % of the EFNS/PNS 2010 limit (worse side).",
                "high values suggest distal demyelination",
                "pct_uln",
            )
    for n, where, site, uln in (
        ("ulnar", "elbow", "across the elbow", "15 m/s"),
        ("peroneal", "fibular_head", "across the fibular head", "10 m/s"),
    ):
        nn = _nice(n)
        add(
            f"ncs_{n}_{where}_cv_drop_pct",
            f"{nn} slowing {site}",
            "%",
            "ncs_motor",
            f"{nn} velocity {site} below that of the other segments, in % of the other "
            "segments' velocity (worse side); entrapment segments are left out of the "
            "demyelination criteria. A relative drop, so uniform slowing of every segment "
            "leaves it unchanged.",
            f"a drop above {uln} (T1.1; about 25 % of a normal segment) is focal slowing at an "
            "entrapment site, not a polyneuropathy",
            "raw",
        )
        add(
            f"ncs_{n}_{where}_cb_ratio",
            f"{nn} CMAP ratio {site}",
            "ratio",
            "ncs_motor",
            f"{nn} CMAP amplitude above over below the entrapment site (worse side).",
            "a low ratio is a focal block at the entrapment site",
            "ratio",
        )
    for n in F_NERVES:
        nn = _nice(n)
        add(
            f"ncs_{n}_f_lat_pct_uln",
            f"{nn} F-wave latency",
            "% of ULN",
            "f_wave",
            f"{nn} minimal F-wave latency as % of the height-adjusted upper limit (worse side); "
            "a latency within the limit reads 100 %.",
            "values ≥130 % suggest proximal demyelination",
            "pct_uln",
        )
        add(
            f"ncs_{n}_f_persist_pct",
            f"{nn} F-wave persistence",
            "%",
            "f_wave",
            f"{nn} F-wave persistence (lower side).",
            "low persistence fits motor neuron loss or proximal block",
            "raw",
        )
    for name, (label, unit, kind, desc, direction) in SPECIAL_NCS_TEXT.items():
        add(name, label, unit, "special_ncs", desc, direction, kind)
    for n in SENSORY_NERVES:
        nn = _nice(n)
        p = f"ncs_{n}_sensory"
        add(
            f"{p}_lat_pct_uln",
            f"{nn} sensory peak latency",
            "% of ULN",
            "ncs_sensory",
            f"{nn} sensory peak latency as % of the upper limit (worse side).",
            "high values mean slowed sensory conduction",
            "pct_uln",
        )
        add(
            f"{p}_amp_pct_lln",
            f"{nn} SNAP amplitude",
            "% of LLN",
            "ncs_sensory",
            f"{nn} SNAP amplitude as % of the age-adjusted lower limit (worse side); 0 = no response.",
            "low values mean sensory axon loss",
            "pct_lln",
        )
        add(
            f"{p}_amp_side_ratio",
            f"{nn} SNAP side-to-side ratio",
            "ratio",
            "ncs_sensory",
            f"Smaller/larger {nn.lower()} SNAP (% of LLN) between the two sides.",
            "low values mean asymmetric sensory involvement",
            "ratio",
        )

    add(
        "ncs_sensory_upper_min_amp_pct_lln",
        "Lowest arm SNAP",
        "% of LLN",
        "ncs_sensory",
        "Lowest upper-limb SNAP amplitude as % of its lower limit.",
        "low values mean arm sensory axon loss",
        "pct_lln",
    )
    add(
        "ncs_sensory_lower_min_amp_pct_lln",
        "Lowest leg SNAP",
        "% of LLN",
        "ncs_sensory",
        "Lowest lower-limb SNAP amplitude as % of its lower limit.",
        "low values mean leg sensory axon loss",
        "pct_lln",
    )
    add(
        "ncs_sensory_lower_second_amp_pct_lln",
        "Second-lowest leg SNAP",
        "% of LLN",
        "ncs_sensory",
        "Second-lowest lower-limb SNAP amplitude (either side) as % of its lower limit.",
        "two low leg SNAPs confirm leg sensory axon loss",
        "pct_lln",
    )
    add(
        "ncs_motor_upper_min_amp_pct_lln",
        "Lowest arm CMAP",
        "% of LLN",
        "ncs_motor",
        "Lowest upper-limb CMAP amplitude as % of its lower limit.",
        "low values mean arm motor axon loss",
        "pct_lln",
    )
    add(
        "ncs_motor_lower_min_amp_pct_lln",
        "Lowest leg CMAP",
        "% of LLN",
        "ncs_motor",
        "Lowest lower-limb CMAP amplitude as % of its lower limit.",
        "low values mean leg motor axon loss",
        "pct_lln",
    )
    add(
        "ncs_motor_min_cv_pct_lln",
        "Slowest motor conduction",
        "% of LLN",
        "ncs_motor",
        "Slowest motor conduction velocity of any nerve as % of its lower limit.",
        "values ≤70 % suggest demyelination",
        "pct_lln",
    )
    add(
        "ncs_motor_max_lat_pct_uln",
        "Longest distal motor latency",
        "% of ULN",
        "ncs_motor",
        "Longest distal motor latency of any nerve as % of its upper limit.",
        "values ≥150 % suggest demyelination (or CTS in the median nerve)",
        "pct_uln",
    )
    add(
        "ncs_f_max_lat_pct_uln",
        "Longest F-wave latency",
        "% of ULN",
        "f_wave",
        "Longest minimal F-wave latency of any nerve as % of its upper limit; latencies "
        "within the limit read 100 %.",
        "values ≥130 % suggest proximal demyelination",
        "pct_uln",
    )
    add(
        "ncs_motor_min_cb_ratio",
        "Lowest proximal/distal CMAP ratio",
        "ratio",
        "ncs_motor",
        "Lowest proximal/distal CMAP amplitude ratio of any nerve.",
        "low values suggest conduction block",
        "ratio",
    )
    add(
        "ncs_sensory_lower_upper_ratio",
        "Leg/arm SNAP ratio",
        "ratio",
        "ncs_sensory",
        "Lowest leg SNAP over lowest arm SNAP, both in % of LLN (capped at 5).",
        "low values mean length-dependent sensory loss",
        "ratio",
    )
    add(
        "ncs_median_ulnar_sensory_lat_diff_ms",
        "Median-ulnar sensory latency difference",
        "ms",
        "ncs_sensory",
        "Same-side median minus ulnar sensory peak latency.",
        "values >0.5 ms suggest carpal tunnel syndrome",
        "raw",
    )
    add(
        "ncs_split_hand_ratio",
        "Median/ulnar CMAP ratio",
        "ratio",
        "ncs_motor",
        "Lowest same-side median (APB) / ulnar (ADM) CMAP ratio, both in % of LLN (split-hand proxy).",
        "low values fit the split hand of ALS",
        "ratio",
    )
    add(
        "ncs_sensory_abnormal_frac",
        "Share of abnormal SNAPs",
        "share of nerves",
        "ncs_sensory",
        "Share of sensory nerves whose SNAP is below the lower limit or absent.",
        "high values argue for a neuropathy and against ALS, myopathy or radiculopathy",
        "frac",
    )
    add(
        "ncs_motor_low_amp_frac",
        "Share of low CMAPs",
        "share of nerves",
        "ncs_motor",
        "Share of motor nerves whose CMAP is below the lower limit or absent.",
        "high values mean motor axon loss",
        "frac",
    )

    region_text = {
        "fibs": (
            "fibrillations / positive sharp waves",
            "spontaneous_activity",
            "active denervation",
        ),
        "fasc": (
            "fasciculations",
            "spontaneous_activity",
            "fasciculations (frequent in ALS, also seen in other conditions)",
        ),
        "large_muap": ("large / long MUAPs", "muap", "chronic reinnervation"),
        "small_muap": ("small / short MUAPs", "muap", "myopathy"),
        "poly_muap": ("polyphasic MUAPs", "muap", "reinnervation or myopathy"),
        "reduced_recruit": ("reduced recruitment", "recruitment", "motor unit loss"),
        "early_recruit": ("early recruitment", "recruitment", "myopathy"),
        "lmn_muscle": (
            "LMN signs (active + chronic change)",
            "distribution",
            "lower motor neuron involvement",
        ),
    }
    for r in REGIONS:
        for key in REGION_FLAGS:
            what, group, meaning = region_text[key]
            add(
                f"emg_{r}_{key}_frac",
                f"{r.capitalize()} muscles with {what}",
                "share of muscles",
                group,
                f"Share of {r} muscles examined that show {what} (0: none found, also when no {r} muscle was examined).",
                f"high values suggest {meaning}",
                "frac",
            )
    for p in ("proximal", "distal"):
        add(
            f"emg_{p}_myopathic_frac",
            f"{p.capitalize()} muscles with myopathic units",
            "share of muscles",
            "distribution",
            f"Share of {p} limb muscles with small/short MUAPs or early recruitment (0 when none was examined).",
            "high proximal values suggest myopathy",
            "frac",
        )
    for lb, lbt in (("upper", "arm"), ("lower", "leg")):
        for p in ("proximal", "distal"):
            add(
                f"emg_{lb}_{p}_neurogenic_frac",
                f"{p.capitalize()} {lbt} muscles with chronic neurogenic change",
                "share of muscles",
                "distribution",
                f"Share of {p} {lbt} muscles with large/long MUAPs or reduced recruitment (0 when none was examined).",
                "distal leg predominance fits a length-dependent neuropathy",
                "frac",
            )
    add(
        "emg_proximal_distal_myopathic_diff",
        "Proximal minus distal myopathic share",
        "difference of shares",
        "distribution",
        "Proximal minus distal share of myopathic muscles.",
        "positive values fit a proximal myopathy",
        "raw",
    )
    add(
        "emg_crd_frac",
        "Muscles with complex repetitive discharges",
        "share of muscles",
        "spontaneous_activity",
        "Share of muscles with complex repetitive discharges.",
        "seen in chronic neurogenic and myopathic disease",
        "frac",
    )
    add(
        "emg_myotonia_frac",
        "Muscles with myotonic discharges",
        "share of muscles",
        "spontaneous_activity",
        "Share of muscles with myotonic discharges.",
        "suggests a myotonic or other myopathy",
        "frac",
    )
    add(
        "emg_unstable_frac",
        "Muscles with unstable MUAPs",
        "share of muscles",
        "muap",
        "Share of muscles with unstable MUAPs.",
        "suggests ongoing reinnervation (e.g. ALS)",
        "frac",
    )
    add(
        "emg_mean_fib_grade",
        "Mean fibrillation grade",
        "grade 0-4",
        "spontaneous_activity",
        "Mean fibrillation / positive sharp wave grade over the muscles examined.",
        "high values mean active denervation",
        "raw",
    )
    add(
        "emg_max_fib_grade",
        "Highest fibrillation grade",
        "grade 0-4",
        "spontaneous_activity",
        "Highest fibrillation / positive sharp wave grade in any muscle.",
        "high values mean active denervation",
        "raw",
    )

    crit = {
        "crit_lmn_region_count": (
            "Regions with LMN signs (Awaji)",
            "regions",
            "count",
            "Body regions (bulbar, cervical, thoracic, lumbosacral) with lower motor neuron signs by the Awaji rules.",
            "3-4 regions support ALS",
        ),
        "crit_lmn_regions_tested_count": (
            "Regions assessable for LMN signs",
            "regions",
            "count",
            "Regions examined enough to judge LMN signs (1 muscle bulbar/thoracic, 2 in a limb region).",
            "fewer regions limit the ALS assessment",
        ),
        "crit_demyel_nerve_count": (
            "Motor nerves meeting a demyelination criterion",
            "nerves",
            "count",
            "Motor nerves (per side) meeting at least one EFNS/PNS demyelinating criterion.",
            "2 or more support a demyelinating neuropathy",
        ),
        "crit_cb_nerve_count": (
            "Motor nerves with conduction block",
            "nerves",
            "count",
            "Motor nerves (per side) with a proximal/distal CMAP drop ≥30 % (≥50 % tibial).",
            "conduction block suggests acquired demyelination (CIDP, MMN)",
        ),
        "crit_motor_tested_count": (
            "Motor nerves tested",
            "nerves",
            "count",
            "Motor nerves (per side) with a distal CMAP.",
            "",
        ),
        "crit_sensory_abnormal_count": (
            "Abnormal sensory nerves",
            "nerves",
            "count",
            "Sensory nerves (per side) with a SNAP below the lower limit or absent.",
            "abnormal SNAPs argue against ALS, myopathy and radiculopathy",
        ),
        "crit_sensory_tested_count": (
            "Sensory nerves tested",
            "nerves",
            "count",
            "Sensory nerves (per side) recorded.",
            "",
        ),
        "crit_length_dependent": (
            "Length-dependent sensory pattern",
            "yes/no",
            "flag",
            "A leg SNAP below its limit with arm SNAPs relatively spared or a sural/radial ratio below 0.40 (0.25 from 60 y).",
            "supports a length-dependent axonal polyneuropathy",
        ),
        "crit_srar": (
            "Sural/radial amplitude ratio",
            "ratio",
            "ratio",
            "Sural over radial SNAP amplitude on the same side (Rutkove 1997).",
            "below 0.40 (0.25 from 60 y, 0.08 from 70 y) suggests a length-dependent neuropathy",
        ),
        "crit_srar_pct_lln": (
            "Sural/radial amplitude ratio vs its age limit",
            "% of LLN",
            "pct_lln",
            "Sural/radial amplitude ratio as % of its age-band limit (0.40; 0.25 from 60 y; 0.08 from 70 y).",
            "below 100 % suggests a length-dependent neuropathy",
        ),
        "crit_myopathic_muscle_frac": (
            "Share of myopathic muscles",
            "share of muscles",
            "frac",
            "Share of muscles with small/short MUAPs or early recruitment.",
            "high values suggest myopathy",
        ),
        "crit_neurogenic_muscle_frac": (
            "Share of neurogenic muscles",
            "share of muscles",
            "frac",
            "Share of muscles with chronic neurogenic change (large/long MUAPs or reduced recruitment).",
            "high values suggest a neurogenic disorder",
        ),
        "crit_active_denervation_muscle_count": (
            "Muscles with active denervation",
            "muscles",
            "count",
            "Muscles with fibrillations or positive sharp waves.",
            "many muscles mean widespread active denervation",
        ),
        "crit_single_root_frac": (
            "Share explained by one root",
            "share of abnormal muscles",
            "frac",
            "Share of abnormal limb muscles explained by the best single root on one side.",
            "1.0 with several nerves fits a radiculopathy",
        ),
        "crit_single_root_nerves_count": (
            "Nerves spanned by the best root",
            "nerves",
            "count",
            "Different peripheral nerves among the abnormal muscles of the best root.",
            "2 or more nerves fit a root rather than a nerve lesion",
        ),
        "crit_outside_root_muscle_count": (
            "Abnormal muscles beyond one root",
            "muscles",
            "count",
            "Abnormal limb muscles that the best single root on one side does not explain.",
            "0 fits a radiculopathy; many point to a diffuse process such as ALS",
        ),
        "crit_paraspinal_active": (
            "Paraspinal active denervation",
            "yes/no",
            "flag",
            "Fibrillations or positive sharp waves in a paraspinal muscle.",
            "supports a radiculopathy or ALS (mild lumbar findings occur in healthy older adults)",
        ),
        "crit_regions_examined_count": (
            "Regions examined by needle EMG",
            "regions",
            "count",
            "Body regions (bulbar, cervical, thoracic, lumbosacral) with at least one muscle examined.",
            "ALS cannot be assessed from fewer than 2 regions",
        ),
        "crit_lmn_region_frac": (
            "Share of examined regions with LMN signs",
            "share of regions",
            "frac",
            "Regions with LMN signs (Awaji) out of the regions examined: how far the evidence goes.",
            "LMN signs in most of several examined regions support ALS; one region is not enough",
        ),
        "crit_abnormal_limb_muscle_count": (
            "Abnormal limb muscles",
            "muscles",
            "count",
            "Limb muscles (paraspinals not counted) with active denervation or chronic neurogenic change.",
            "a radiculopathy needs at least 2 limb muscles of one root (paraspinal findings alone are non-specific)",
        ),
        "crit_focal_entrapment": (
            "Focal lesion at an entrapment site",
            "yes/no",
            "flag",
            "Slowing or a CMAP drop across the elbow (ulnar) or fibular head (peroneal) beyond its limit.",
            "a mononeuropathy at the elbow or fibular head, not a polyneuropathy",
        ),
        "crit_non_length_dependent_sensory": (
            "Non-length-dependent sensory loss",
            "yes/no",
            "flag",
            "Arm SNAPs abnormal while leg SNAPs are normal or better (no distal-to-proximal gradient).",
            "a sensory neuronopathy or Kennedy disease pattern; argues against ALS and a length-dependent PN",
        ),
        "crit_neurogenic_limb_snap_abnormal": (
            "Abnormal SNAP in a neurogenic limb",
            "yes/no",
            "flag",
            "A limb with neurogenic muscles also has an abnormal SNAP (lesion beyond the dorsal root ganglion).",
            "points to a plexus, nerve or neuropathy rather than a root or anterior horn lesion",
        ),
        "crit_cts_pattern": (
            "Carpal tunnel pattern",
            "yes/no",
            "flag",
            "Median-ulnar sensory latency difference >0.5 ms, or median DML above ULN with normal ulnar.",
            "a focal median neuropathy at the wrist, common in every class",
        ),
    }
    for name in CRITERIA_COLUMNS:
        label, unit, kind, desc, direction = crit[name]
        # what was tested follows the referral question: it tempers confidence, never votes
        group = "coverage" if name in TESTED_COUNT_COLUMNS else "criteria"
        add(name, label, unit, group, desc, direction, kind)

    cov = {
        "cov_motor_nerves_count": ("Motor nerves studied", "count"),
        "cov_sensory_nerves_count": ("Sensory nerves studied", "count"),
        "cov_f_waves_count": ("F-waves studied", "count"),
        "cov_muscles_count": ("Muscles examined", "count"),
        "cov_regions_count": ("Body regions examined", "count"),
        "cov_sides_count": ("Sides examined", "count"),
        "cov_lower_limb_tested": ("Legs examined", "flag"),
        "cov_upper_limb_tested": ("Arms examined", "flag"),
        "cov_muap_numeric_frac": ("Share of muscles with measured MUAP values", "frac"),
        "cov_temperature_recorded": ("Limb temperature recorded", "flag"),
        "cov_height_recorded": ("Height recorded", "flag"),
        "cov_motor_sites_count": ("Motor stimulation sites", "count"),
        "cov_paraspinal_tested": ("Paraspinal muscles examined", "flag"),
    }
    for name, (label, kind) in cov.items():
        add(
            name,
            label,
            "count" if kind == "count" else ("share" if kind == "frac" else "yes/no"),
            "coverage",
            f"What was tested: {label.lower()}.",
            "describes the protocol, not the disease",
            kind,
        )
    return out


#: criteria columns that count what was tested, not what was found (group "coverage")
TESTED_COUNT_COLUMNS: frozenset[str] = frozenset(
    {
        "crit_lmn_regions_tested_count",
        "crit_motor_tested_count",
        "crit_sensory_tested_count",
        "crit_regions_examined_count",
    }
)

FEATURES: dict[str, FeatureInfo] = _build()


def feature_info(name: str) -> FeatureInfo:
    """Registry entry of ``name`` (``KeyError`` naming close matches when unknown)."""
    try:
        return FEATURES[name]
    except KeyError:
        close = [k for k in FEATURES if name.split("_")[0] in k][:5]
        raise KeyError(
            f"Unknown feature {name!r}. Similar: {', '.join(close) or 'none'}."
        ) from None


_COUNT_OF = {
    "crit_lmn_region_count": ("crit_regions_examined_count", "regions"),
    "crit_demyel_nerve_count": ("crit_motor_tested_count", "motor nerves"),
    "crit_cb_nerve_count": ("crit_motor_tested_count", "motor nerves"),
    "crit_sensory_abnormal_count": ("crit_sensory_tested_count", "sensory nerves"),
}


def describe_value(
    name: str, value: float | None, *, row: Mapping[str, float] | None = None
) -> str:
    """Clinical wording of one feature value, e.g. "40 % of the lower limit" or "absent response".

    Parameters
    ----------
    name : str
        Feature column.
    value : float or None
        The value (NaN / None = not measured).
    row : mapping, optional
        The study's other feature values; lets counts say "3 of 4 regions tested".
    """
    info = feature_info(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not measured" if info.group != "criteria" else "not assessable"
    v = float(value)
    kind = info.limit_kind
    if kind == "pct_lln":
        if v == 0 and "amp" in name:
            return "absent response"
        return f"{v:.0f} % of the lower limit"
    if kind == "pct_uln":
        if v <= 100 and name in FLOORED_AT_LIMIT:
            return "within the upper limit"
        return f"{v:.0f} % of the upper limit"
    if kind == "ratio":
        return f"{v:.2f}"
    if kind == "frac":
        return (
            f"{100 * v:.0f} % of {info.unit.replace('share of ', '')}"
            if info.unit.startswith("share of")
            else f"{100 * v:.0f} %"
        )
    if kind == "flag":
        return "yes" if v >= 0.5 else "no"
    if kind == "count":
        if name in _COUNT_OF:
            other, noun = _COUNT_OF[name]
            total = None if row is None else row.get(other)
            if total is not None and not math.isnan(float(total)):
                return f"{v:.0f} of {float(total):.0f} {noun}" + (
                    " tested" if noun == "regions" else ""
                )
            if name == "crit_lmn_region_count":
                return f"{v:.0f} of 4 regions"
            return f"{v:.0f} {noun}"
        return f"{v:.0f}"
    unit = f" {info.unit}" if info.unit and info.unit not in ("1 = female",) else ""
    return f"{v:.3g}{unit}"
