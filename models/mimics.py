"""The ALS-mimic check: each mimic the literature names, supported or not by this study's findings.

Beside an ALS or neurogenic call the electromyographer asks which disorders outside the six
classes the study could also be. :func:`check_mimics` reads one study's feature row (the
``crit_*`` columns of :mod:`features.criteria`, the NCS features of :mod:`features.ncs` and
the needle-EMG features of :mod:`features.emg`) and returns one :class:`MimicCheck` per mimic
of the clinical reference (table T3.6; Traynor et al. 2000: MMN 22 % and Kennedy disease 13 %
of the mimics of 437 ALS referrals):

* **multifocal motor neuropathy** — conduction block outside entrapment sites with normal
  sensory responses (:func:`check_mmn`);
* **Kennedy disease (SBMA)** — abnormal SNAPs beside widespread LMN signs (:func:`check_sbma`);
* **inclusion body myositis** — myopathic units, often mixed with neurogenic-looking ones
  (:func:`check_ibm`);
* **post-polio / old stable denervation** — chronic neurogenic units without fibrillations or
  fasciculations (:func:`check_post_polio`);
* **cervical myelopathy / multilevel cervical radiculopathy** — LMN signs confined to the
  cervical segments (:func:`check_cervical`).

Each check states a :class:`MimicStatus`: ``supported``, ``not_supported`` or
``not_assessable``. A finding that was not measured is never read as normal: a check whose
deciding finding is missing is ``not_assessable`` (unless another finding already rules the
mimic out). Every check lists the findings it read, with their value and the limit they were
judged against. Pure functions; thresholds are module constants with their source.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd

from features import catalog
from features.criteria import CB_DROP, CB_DROP_TIBIAL, DISTAL_CMAP_MIN_PCT_LLN
from features.ncs import MOTOR_NERVES
from features.vocab import REGIONS
from models.rules import ALS_MAX_SENSORY_ABNORMAL, MYOPATHIC_MIN_FRAC

# ALS_MAX_SENSORY_ABNORMAL (models.rules): more abnormal SNAPs than ALS tolerates (minor sural
# change in 17 % of ALS, Pugdahl 2008; T3.1c). MYOPATHIC_MIN_FRAC (models.rules): the share of
# myopathic muscles that makes a myopathic pattern [sim].
#: LMN signs in at least this many regions are "widespread" (Gold Coast 2020, T3.1a: LMN
#: dysfunction in ≥2 regions)
WIDESPREAD_LMN_REGIONS = 2
#: below this many assessable regions a "not widespread" verdict is not made (the ALS protocol
#: samples 4 regions, clinical reference T5.1; region counting needs ≥3 to be informative [sim])
MIN_REGIONS_FOR_FOCAL = 3
#: a drop of at least this much is a *definite* block (EFNS/PNS 2010 MMN guideline, T3.6: ≥50 %
#: negative-peak area drop; amplitude is used here, as the contract records amplitude)
CB_DEFINITE_DROP = 0.50

#: the needle-EMG findings that make a region neurogenic for the cervical check
_REGION_SIGNS: tuple[str, ...] = ("lmn_muscle", "fibs", "large_muap", "reduced_recruit")


class MimicStatus(StrEnum):
    """Whether the study's findings support a mimic (the values are the JSON and CSV form)."""

    SUPPORTED = "supported"
    NOT_SUPPORTED = "not_supported"
    NOT_ASSESSABLE = "not_assessable"


#: how each status is written on the page
STATUS_TEXT: dict[MimicStatus, str] = {
    MimicStatus.SUPPORTED: "supported",
    MimicStatus.NOT_SUPPORTED: "not supported",
    MimicStatus.NOT_ASSESSABLE: "cannot be assessed",
}


@dataclass(frozen=True)
class MimicFinding:
    """One finding a mimic check read, in clinical terms.

    Attributes
    ----------
    feature : str
        Feature name (registry key of :mod:`features.catalog`).
    label : str
        Human label ("Ulnar proximal/distal CMAP ratio").
    value : float | None
        The feature value (None when not measured).
    value_text : str
        The value in clinical words ("0.45 (55 % drop)", "not measured").
    limit_text : str
        What it was judged against ("block: drop ≥ 30 %, distal CMAP ≥ 20 % of LLN").
    """

    feature: str
    label: str
    value: float | None
    value_text: str
    limit_text: str


@dataclass(frozen=True)
class MimicCheck:
    """One mimic, judged against this study's findings.

    Attributes
    ----------
    code : str
        Stable identifier (``mmn``, ``sbma``, ``ibm``, ``post_polio``, ``cervical``).
    name : str
        The disorder ("Multifocal motor neuropathy").
    status : MimicStatus
        Supported, not supported, or not assessable from what was examined.
    findings : list of MimicFinding
        The findings read, with values and limits.
    sentence : str
        One sentence a clinician can read.
    source : str
        The criterion's source in the clinical reference.
    """

    code: str
    name: str
    status: MimicStatus
    findings: list[MimicFinding] = field(default_factory=list)
    sentence: str = ""
    source: str = ""

    @property
    def status_text(self) -> str:
        """The status as written on the page ("cannot be assessed")."""
        return STATUS_TEXT[self.status]


def _pct(share: float) -> str:
    """A share as a percentage in the house style ("30 %")."""
    return f"{100.0 * share:.0f} %"


def _value(row: Mapping[str, float], name: str) -> float:
    """The row's value of ``name`` as float, NaN when absent or not a number."""
    v = row.get(name)
    try:
        out = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def _finding(
    row: Mapping[str, float], name: str, limit_text: str, value_text: str | None = None
) -> MimicFinding:
    """A finding from the registry's label and wording (or ``value_text`` when given)."""
    v = _value(row, name)
    info = catalog.feature_info(name)
    text = value_text if value_text is not None else catalog.describe_value(name, v, row=row)
    return MimicFinding(name, info.label, None if math.isnan(v) else v, text, limit_text)


def _check(
    code: str,
    name: str,
    source: str,
    status: MimicStatus,
    findings: Sequence[MimicFinding],
    sentence: str,
) -> MimicCheck:
    return MimicCheck(code, name, status, list(findings), sentence, source)


def _sensory_count_text(row: Mapping[str, float]) -> str:
    abn, tested = (
        _value(row, "crit_sensory_abnormal_count"),
        _value(row, "crit_sensory_tested_count"),
    )
    if math.isnan(tested) or tested == 0:
        return "no sensory nerve studied"
    return f"{0 if math.isnan(abn) else abn:.0f} of {tested:.0f} abnormal"


def _sensory_tested(row: Mapping[str, float]) -> bool:
    tested = _value(row, "crit_sensory_tested_count")
    return not math.isnan(tested) and tested > 0


# --- multifocal motor neuropathy -----------------------------------------------------------------

MMN_NAME = "Multifocal motor neuropathy"
MMN_SOURCE = (
    "EFNS/PNS 2010 MMN guideline; AAEM 2003 (Olney et al., Muscle Nerve 27:117); "
    "clinical reference T3.6"
)
_CB_LIMIT = (
    f"block: drop ≥ {_pct(CB_DROP)} (tibial ≥ {_pct(CB_DROP_TIBIAL)}), definite ≥ "
    f"{_pct(CB_DEFINITE_DROP)}; distal CMAP ≥ {DISTAL_CMAP_MIN_PCT_LLN:.0f} % of LLN; "
    "entrapment segments excluded"
)


def _cb_text(ratio: float, distal_pct_lln: float) -> str:
    """ "0.40 (60 % drop; distal CMAP 150 % of LLN)"."""
    distal = "" if math.isnan(distal_pct_lln) else f"; distal CMAP {distal_pct_lln:.0f} % of LLN"
    return f"{ratio:.2f} ({_pct(max(0.0, 1.0 - ratio))} drop{distal})"


def _is_block(nerve: str, ratio: float, distal_pct_lln: float) -> bool:
    """A drop beyond the nerve's block limit with a distal CMAP large enough to judge it."""
    drop = CB_DROP_TIBIAL if nerve == "tibial" else CB_DROP
    return 1.0 - ratio >= drop and distal_pct_lln >= DISTAL_CMAP_MIN_PCT_LLN


def check_mmn(row: Mapping[str, float]) -> MimicCheck:
    """Multifocal motor neuropathy: motor conduction block with normal sensory responses.

    EFNS/PNS 2010 (clinical reference T3.6): a definite block is a ≥50 % proximal-versus-distal
    CMAP drop with a distal CMAP > 20 % of LLN, a probable one ≥30 % (tibial: the criteria's
    50 %, :mod:`features.criteria`), outside entrapment sites (segments across the elbow or
    fibular head are left out of the ratio, :data:`features.ncs.ENTRAPMENT_SEGMENTS`); sensory
    conduction normal (AAEM 2003: normal sensory NCS). Per nerve the worst segment of the worse
    side is read (``ncs_<nerve>_motor_cb_ratio``); the block count is ``crit_cb_nerve_count``.

    Not assessable when no motor nerve was stimulated proximally (no ratio), or when a block is
    present but no sensory nerve was studied.
    """
    ratios = {n: _value(row, f"ncs_{n}_motor_cb_ratio") for n in MOTOR_NERVES}
    measured = {n: r for n, r in ratios.items() if not math.isnan(r)}
    distal = {n: _value(row, f"ncs_{n}_motor_amp_pct_lln") for n in measured}
    findings = [
        _finding(row, f"ncs_{n}_motor_cb_ratio", _CB_LIMIT, _cb_text(r, distal[n]))
        for n, r in measured.items()
    ]
    findings.append(
        _finding(row, "crit_sensory_abnormal_count", "all normal", _sensory_count_text(row))
    )
    if not measured:
        findings.insert(
            0,
            MimicFinding(
                "ncs_motor_min_cb_ratio",
                "Proximal/distal CMAP ratio",
                None,
                "not measured",
                _CB_LIMIT,
            ),
        )
        return _check(
            "mmn", MMN_NAME, MMN_SOURCE, MimicStatus.NOT_ASSESSABLE, findings,
            "No motor nerve was stimulated proximally, so conduction block, the sign of "
            "multifocal motor neuropathy, was not looked for.",
        )  # fmt: skip
    n_cb = _value(row, "crit_cb_nerve_count")
    blocked = [n for n, r in measured.items() if _is_block(n, r, distal[n])]
    if not n_cb >= 1:
        return _check(
            "mmn", MMN_NAME, MMN_SOURCE, MimicStatus.NOT_SUPPORTED, findings,
            f"No conduction block in the {len(measured)} motor nerve(s) stimulated proximally.",
        )  # fmt: skip
    nerves = ", ".join(blocked) or f"{n_cb:.0f} nerve(s)"
    definite = any(1.0 - measured[n] >= CB_DEFINITE_DROP for n in blocked)
    kind = "definite" if definite else "probable"
    if not _sensory_tested(row):
        return _check(
            "mmn", MMN_NAME, MMN_SOURCE, MimicStatus.NOT_ASSESSABLE, findings,
            f"Conduction block ({kind}) in {nerves}, but no sensory nerve was studied: "
            "multifocal motor neuropathy cannot be told from a demyelinating neuropathy.",
        )  # fmt: skip
    if _value(row, "crit_sensory_abnormal_count") > 0:
        return _check(
            "mmn", MMN_NAME, MMN_SOURCE, MimicStatus.NOT_SUPPORTED, findings,
            f"Conduction block ({kind}) in {nerves} with abnormal sensory responses: a "
            "demyelinating neuropathy (CIDP and its variants) fits better than multifocal "
            "motor neuropathy.",
        )  # fmt: skip
    return _check(
        "mmn", MMN_NAME, MMN_SOURCE, MimicStatus.SUPPORTED, findings,
        f"Conduction block ({kind}) in {nerves} with normal sensory responses: consider "
        "multifocal motor neuropathy, a treatable ALS mimic.",
    )  # fmt: skip


# --- Kennedy disease (SBMA) ------------------------------------------------------------------------

SBMA_NAME = "Kennedy disease (SBMA)"
SBMA_SOURCE = (
    "Ferrante & Wilbourn 1997 (SNAP abnormal in 95 %); Rhodes et al. 2009, Brain 132:3242; "
    "clinical reference T3.6"
)


def check_sbma(row: Mapping[str, float]) -> MimicCheck:
    """Kennedy disease: abnormal sensory responses beside widespread lower-motor-neuron signs.

    Clinical reference T3.6: SNAPs abnormal in 95 % (Ferrante & Wilbourn 1997, n=19), reduced in
    nearly all of 57 (Rhodes 2009), with median/ulnar lower than sural (non-length-dependent).
    "Abnormal" means more abnormal SNAPs than ALS tolerates (> 1, T3.1c: one low SNAP has
    technical and focal causes); the sentence says when they lack a length gradient
    (``crit_non_length_dependent_sensory``, the SBMA pattern). "Widespread" is LMN signs in ≥2
    regions (Gold Coast, T3.1a); with fewer, the verdict needs ≥3 regions assessed.
    """
    abn = _value(row, "crit_sensory_abnormal_count")
    nld = _value(row, "crit_non_length_dependent_sensory")
    lmn = _value(row, "crit_lmn_region_count")
    tested_regions = _value(row, "crit_lmn_regions_tested_count")
    findings = [
        _finding(
            row,
            "crit_sensory_abnormal_count",
            f"abnormal in SBMA: more than {ALS_MAX_SENSORY_ABNORMAL} (what ALS tolerates)",
            _sensory_count_text(row),
        ),
        _finding(row, "ncs_sensory_upper_min_amp_pct_lln", "LLN = 100 %"),
        _finding(row, "ncs_sensory_lower_min_amp_pct_lln", "LLN = 100 %"),
        _finding(row, "crit_non_length_dependent_sensory", "SBMA: arm SNAPs worse than leg"),
        _finding(row, "crit_lmn_region_count", f"widespread: ≥ {WIDESPREAD_LMN_REGIONS} regions"),
    ]
    if not _sensory_tested(row):
        return _check(
            "sbma", SBMA_NAME, SBMA_SOURCE, MimicStatus.NOT_ASSESSABLE, findings,
            "No sensory nerve was studied: the abnormal SNAPs of Kennedy disease were not "
            "looked for.",
        )  # fmt: skip
    if not abn > ALS_MAX_SENSORY_ABNORMAL:
        return _check(
            "sbma", SBMA_NAME, SBMA_SOURCE, MimicStatus.NOT_SUPPORTED, findings,
            "Sensory responses are normal (or one minor abnormality), which argues against "
            "Kennedy disease (SNAPs abnormal in 95 %).",
        )  # fmt: skip
    if math.isnan(lmn):
        return _check(
            "sbma", SBMA_NAME, SBMA_SOURCE, MimicStatus.NOT_ASSESSABLE, findings,
            "Sensory responses are abnormal, but without needle EMG the widespread lower motor "
            "neuron signs of Kennedy disease cannot be assessed.",
        )  # fmt: skip
    if lmn >= WIDESPREAD_LMN_REGIONS:
        pattern = (
            " without a length gradient (arm worse than leg), the Kennedy pattern"
            if nld >= 1
            else ""
        )
        return _check(
            "sbma", SBMA_NAME, SBMA_SOURCE, MimicStatus.SUPPORTED, findings,
            f"Abnormal sensory responses{pattern} beside LMN signs in {lmn:.0f} regions: "
            "consider Kennedy disease (SBMA) rather than ALS.",
        )  # fmt: skip
    if not tested_regions >= MIN_REGIONS_FOR_FOCAL:
        return _check(
            "sbma", SBMA_NAME, SBMA_SOURCE, MimicStatus.NOT_ASSESSABLE, findings,
            f"Sensory responses are abnormal, but fewer than {MIN_REGIONS_FOR_FOCAL} regions "
            "could be assessed for lower motor neuron signs: whether they are widespread "
            "cannot be told.",
        )  # fmt: skip
    return _check(
        "sbma", SBMA_NAME, SBMA_SOURCE, MimicStatus.NOT_SUPPORTED, findings,
        f"Sensory responses are abnormal, but LMN signs are in {lmn:.0f} of "
        f"{tested_regions:.0f} regions assessed, not widespread.",
    )  # fmt: skip


# --- inclusion body myositis -----------------------------------------------------------------------

IBM_NAME = "Inclusion body myositis"
IBM_SOURCE = "Brannagan et al. 1997, JNNP 63:776; clinical reference T2.2, T3.4, T3.6"


def check_ibm(row: Mapping[str, float]) -> MimicCheck:
    """Inclusion body myositis: myopathic units (short, small, polyphasic, early recruitment).

    Clinical reference T3.6 and T3.4: finger flexors and quadriceps; short, small MUAPs beside
    large "pseudo-neurogenic" units; without quantitative EMG 4 of 8 studies were read as
    neurogenic (Brannagan 1997). Supported when myopathic units are in at least
    :data:`MYOPATHIC_MIN_FRAC` of the muscles (the rules' myopathy threshold [sim]); the
    sentence says whether neurogenic units are mixed in and whether distal muscles (the finger
    flexors' position) are involved. The contract's muscle list has no flexor digitorum
    profundus, so the FDP/quadriceps distribution itself is read from the needle table.
    """
    myo = _value(row, "crit_myopathic_muscle_frac")
    neuro = _value(row, "crit_neurogenic_muscle_frac")
    distal = _value(row, "emg_distal_myopathic_frac")
    limit = f"myopathic pattern: ≥ {_pct(MYOPATHIC_MIN_FRAC)} of muscles"
    findings = [
        _finding(row, "crit_myopathic_muscle_frac", limit),
        _finding(row, "crit_neurogenic_muscle_frac", "IBM: often mixed with large units"),
        _finding(row, "emg_proximal_myopathic_frac", "IBM: quadriceps"),
        _finding(row, "emg_distal_myopathic_frac", "IBM: finger flexors (distal)"),
    ]
    if math.isnan(myo):
        return _check(
            "ibm", IBM_NAME, IBM_SOURCE, MimicStatus.NOT_ASSESSABLE, findings,
            "No motor unit size or recruitment was recorded: myopathic units cannot be "
            "looked for.",
        )  # fmt: skip
    if myo < MYOPATHIC_MIN_FRAC:
        few = "No muscle has" if myo == 0 else f"Only {_pct(myo)} of muscles have"
        return _check(
            "ibm", IBM_NAME, IBM_SOURCE, MimicStatus.NOT_SUPPORTED, findings,
            f"{few} myopathic (short, small or early-recruiting) units: no myopathic pattern.",
        )  # fmt: skip
    mixed = " mixed with neurogenic units" if neuro > 0 else ""
    where = ", distal muscles included" if distal > 0 else ""
    return _check(
        "ibm", IBM_NAME, IBM_SOURCE, MimicStatus.SUPPORTED, findings,
        f"Myopathic units in {_pct(myo)} of muscles{mixed}{where}: consider inclusion body "
        "myositis, which is easily read as neurogenic.",
    )  # fmt: skip


# --- post-polio / old stable denervation -------------------------------------------------------

POLIO_NAME = "Post-polio / old stable denervation"
POLIO_SOURCE = "clinical reference T2.2, T3.6 (post-polio †)"


def _fasc_max(row: Mapping[str, float]) -> tuple[str, float]:
    """The region fasciculation share that is highest (its feature name and value; NaN if none)."""
    best_name, best = f"emg_{REGIONS[0]}_fasc_frac", math.nan
    for r in REGIONS:
        name = f"emg_{r}_fasc_frac"
        v = _value(row, name)
        if not math.isnan(v) and (math.isnan(best) or v > best):
            best_name, best = name, v
    return best_name, best


def check_post_polio(row: Mapping[str, float]) -> MimicCheck:
    """Post-polio or other old, stable denervation: chronic neurogenic units, no active change.

    Clinical reference T3.6 (†): very large, long MUAPs with reduced recruitment in previously
    affected limbs, sparse fibrillations/fasciculations, sensory normal; T2.2: large, long units
    are chronic reinnervation. Here: chronic neurogenic change in some muscle with fibrillations
    / positive sharp waves in none and fasciculations in none (a strict reading; post-polio may
    show a few, so "not supported" with very sparse ones should be weighed by the clinician).
    """
    neuro = _value(row, "crit_neurogenic_muscle_frac")
    active = _value(row, "crit_active_denervation_muscle_count")
    fasc_name, fasc = _fasc_max(row)
    findings = [
        _finding(row, "crit_neurogenic_muscle_frac", "old denervation: > 0 %"),
        _finding(row, "crit_active_denervation_muscle_count", "old, stable: none"),
        _finding(row, fasc_name, "old, stable: none"),
    ]
    if math.isnan(neuro):
        return _check(
            "post_polio", POLIO_NAME, POLIO_SOURCE, MimicStatus.NOT_ASSESSABLE, findings,
            "No motor unit size or recruitment was recorded: chronic neurogenic change cannot "
            "be looked for.",
        )  # fmt: skip
    if neuro == 0:
        return _check(
            "post_polio", POLIO_NAME, POLIO_SOURCE, MimicStatus.NOT_SUPPORTED, findings,
            "No muscle shows chronic neurogenic units: no old denervation.",
        )  # fmt: skip
    if active >= 1:
        return _check(
            "post_polio", POLIO_NAME, POLIO_SOURCE, MimicStatus.NOT_SUPPORTED, findings,
            f"Fibrillations or positive sharp waves in {active:.0f} muscle(s): denervation is "
            "ongoing, not old and stable.",
        )  # fmt: skip
    if fasc > 0:
        return _check(
            "post_polio", POLIO_NAME, POLIO_SOURCE, MimicStatus.NOT_SUPPORTED, findings,
            "Fasciculations are present: the process is active, not old and stable.",
        )  # fmt: skip
    if math.isnan(active) or math.isnan(fasc):
        missing = "fibrillations" if math.isnan(active) else "fasciculations"
        return _check(
            "post_polio", POLIO_NAME, POLIO_SOURCE, MimicStatus.NOT_ASSESSABLE, findings,
            f"Chronic neurogenic units are present, but {missing} were not recorded: whether "
            "the denervation is old and stable cannot be told.",
        )  # fmt: skip
    return _check(
        "post_polio", POLIO_NAME, POLIO_SOURCE, MimicStatus.SUPPORTED, findings,
        f"Chronic neurogenic units in {_pct(neuro)} of muscles without fibrillations or "
        "fasciculations: old, stable denervation (e.g. post-polio) fits better than ALS.",
    )  # fmt: skip


# --- cervical myelopathy / multilevel cervical radiculopathy -----------------------------------

CERVICAL_NAME = "Cervical myelopathy or multilevel cervical radiculopathy"
CERVICAL_SOURCE = (
    "Kuncl et al. 1988, Muscle Nerve 11:484; Wijesekera & Leigh 2009; clinical reference T3.6"
)


def _region_sign(row: Mapping[str, float], region: str) -> tuple[str, float]:
    """The region's most frequent neurogenic sign (feature name, share; NaN if none recorded)."""
    best_name, best = f"emg_{region}_lmn_muscle_frac", math.nan
    for sign in _REGION_SIGNS:
        name = f"emg_{region}_{sign}_frac"
        v = _value(row, name)
        if not math.isnan(v) and (math.isnan(best) or v > best):
            best_name, best = name, v
    return best_name, best


def check_cervical(row: Mapping[str, float]) -> MimicCheck:
    """Cervical myelopathy / radiculopathy at several levels: LMN signs confined to the neck.

    Clinical reference T3.6 (Kuncl 1988; Wijesekera & Leigh 2009): LMN change confined to the
    cervical myotomes, thoracic paraspinals spared, no bulbar involvement. Supported when
    cervical muscles show LMN signs (``emg_cervical_lmn_muscle_frac``) and no bulbar, thoracic
    or lumbosacral muscle shows a neurogenic sign (LMN signs, fibrillations, large units or
    reduced recruitment) **where examined**: the feature row holds the number of regions
    examined (``crit_regions_examined_count``), not which; a region share of 0 means "none
    found or not examined", so at least one region other than the cervical one must have been
    examined, else the check is not assessable. Lumbar stenosis can add lumbosacral change
    (T3.6); that combination is reported as not supported and left to the clinician.
    """
    cervical = _value(row, "emg_cervical_lmn_muscle_frac")
    examined = _value(row, "crit_regions_examined_count")
    others = [r for r in REGIONS if r != "cervical"]
    signs = {r: _region_sign(row, r) for r in others}
    findings = [_finding(row, "emg_cervical_lmn_muscle_frac", "cervical myelopathy: > 0 %")]
    findings += [_finding(row, name, "limited to the neck: none") for name, _ in signs.values()]
    findings.append(_finding(row, "crit_regions_examined_count", "another region examined"))
    if math.isnan(cervical):
        return _check(
            "cervical", CERVICAL_NAME, CERVICAL_SOURCE, MimicStatus.NOT_ASSESSABLE, findings,
            "Lower motor neuron signs could not be assessed in any muscle.",
        )  # fmt: skip
    if cervical == 0:
        return _check(
            "cervical", CERVICAL_NAME, CERVICAL_SOURCE, MimicStatus.NOT_SUPPORTED, findings,
            "No cervical muscle examined shows lower motor neuron signs.",
        )  # fmt: skip
    beyond = [r for r, (_, v) in signs.items() if v > 0]
    if beyond:
        return _check(
            "cervical", CERVICAL_NAME, CERVICAL_SOURCE, MimicStatus.NOT_SUPPORTED, findings,
            f"Neurogenic change beyond the cervical segments ({', '.join(beyond)}): not "
            "confined to the neck.",
        )  # fmt: skip
    n_other = examined - 1
    if not n_other >= 1:
        return _check(
            "cervical", CERVICAL_NAME, CERVICAL_SOURCE, MimicStatus.NOT_ASSESSABLE, findings,
            "Lower motor neuron signs in cervical muscles, but no other region was examined: "
            "whether they are confined to the neck cannot be told.",
        )  # fmt: skip
    return _check(
        "cervical", CERVICAL_NAME, CERVICAL_SOURCE, MimicStatus.SUPPORTED, findings,
        f"Lower motor neuron signs only in cervical muscles ({n_other:.0f} other region(s) "
        "examined without neurogenic change): consider cervical myelopathy or a multilevel "
        "cervical radiculopathy (imaging) before ALS.",
    )  # fmt: skip


#: the checks in the order the page shows them
CHECKS = (check_mmn, check_sbma, check_ibm, check_post_polio, check_cervical)

#: every feature column a check may read
MIMIC_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [
            *(f"ncs_{n}_motor_cb_ratio" for n in MOTOR_NERVES),
            *(f"ncs_{n}_motor_amp_pct_lln" for n in MOTOR_NERVES),
            "crit_cb_nerve_count",
            "crit_sensory_abnormal_count",
            "crit_sensory_tested_count",
            "crit_non_length_dependent_sensory",
            "crit_lmn_region_count",
            "crit_lmn_regions_tested_count",
            "crit_regions_examined_count",
            "crit_myopathic_muscle_frac",
            "crit_neurogenic_muscle_frac",
            "crit_active_denervation_muscle_count",
            "ncs_sensory_upper_min_amp_pct_lln",
            "ncs_sensory_lower_min_amp_pct_lln",
            "emg_proximal_myopathic_frac",
            "emg_distal_myopathic_frac",
            *(f"emg_{r}_fasc_frac" for r in REGIONS),
            *(f"emg_{r}_{s}_frac" for r in REGIONS for s in _REGION_SIGNS),
        ]
    )
)


def check_mimics(row: Mapping[str, float]) -> list[MimicCheck]:
    """Every mimic check of one study's feature row, in :data:`CHECKS` order.

    Parameters
    ----------
    row : mapping of str to float
        The study's feature values (a feature-table row); an absent or NaN value means "not
        measured". Not modified.

    Returns
    -------
    list of MimicCheck
        One per mimic: MMN, Kennedy disease, IBM, post-polio, cervical myelopathy.
    """
    return [check(row) for check in CHECKS]


def needs_mimic_check(diagnosis: str, pattern: str) -> bool:
    """Whether a prediction gets the mimic check: ALS called, or a neurogenic pattern."""
    return diagnosis == "als" or pattern == "neurogenic"


def mimic_checks(X: pd.DataFrame, wanted: Sequence[bool]) -> list[list[MimicCheck] | None]:
    """:func:`check_mimics` of the rows of a feature table where ``wanted`` (None elsewhere).

    Parameters
    ----------
    X : DataFrame, shape (n, ...)
        Feature table; columns of :data:`MIMIC_COLUMNS` it lacks are "not measured". Not
        modified.
    wanted : sequence of bool, length n
        Rows to check (:func:`needs_mimic_check` of each prediction).
    """
    values = X.reindex(columns=list(MIMIC_COLUMNS)).to_numpy(dtype=float)
    out: list[list[MimicCheck] | None] = []
    for i, want in enumerate(wanted):
        if not want:
            out.append(None)
            continue
        row = dict(zip(MIMIC_COLUMNS, values[i].tolist(), strict=True))
        out.append(check_mimics(row))
    return out


def supported_codes(checks: Sequence[MimicCheck] | None) -> str | None:
    """The supported mimics' codes joined by ``|`` ("mmn|sbma"; "" when none; None unchecked)."""
    if checks is None:
        return None
    return "|".join(c.code for c in checks if c.status is MimicStatus.SUPPORTED)


__all__ = [
    "CHECKS",
    "MIMIC_COLUMNS",
    "MimicCheck",
    "MimicFinding",
    "MimicStatus",
    "check_mimics",
    "mimic_checks",
    "needs_mimic_check",
    "supported_codes",
]
