"""Focal neuropathies at the usual entrapment sites, from a study's NCS and needle EMG rows.

Pure functions of validated (canonical) bundle tables; each finding is a typed
:class:`FocalFinding` with side, severity, the values and their limits, stated *beside* the
six-class probabilities (a focal neuropathy is outside the six and can coexist with any of them).

Criteria (``clinical-reference.md``):

* **Carpal tunnel (median neuropathy at the wrist)** -- same-side median minus ulnar sensory
  peak latency > 0.5 ms (Atroshi 2003, T1.2; ulnar latency scaled to the median's distance as in
  :func:`features.ncs.median_ulnar_lat_diff`), or a median sensory peak latency above its ULN
  with the same-side ulnar within its ULN, or a median distal motor latency above its ULN with
  the same-side ulnar DML within its ULN, or an absent median SNAP with a present ulnar SNAP.
  Severity (a common neurophysiological grading, Stevens 1997 / Padua 1997 †): *mild* sensory
  only; *moderate* with a prolonged median DML; *severe* with an absent median SNAP, a median
  CMAP below its LLN or fibrillations in APB.
* **Ulnar neuropathy at the elbow** (AAEM practice parameter 1999): across-elbow CV < 50 m/s;
  across-elbow CV more than 10 m/s slower than the forearm; CMAP amplitude drop > 20 % from below
  to above the elbow. Reported when at least two of the three hold ("multiple abnormalities are
  more convincing"; one alone is too common in healthy nerves over a 10 cm segment) or when the
  drop alone exceeds 50 % (a definite block). Severity: *mild* slowing only; *moderate* with a
  drop > 20 % or a low ulnar SNAP; *severe* with a distal CMAP below its LLN or fibrillations in
  FDI / ADM.
* **Fibular (peroneal) neuropathy at the fibular head** (T1.1, Buschbacher 1999): across-head
  CV drop > 10 m/s against the leg segment, or an amplitude drop > 25 % from below to above the
  head. Severity: *mild* slowing only; *moderate* with a drop > 25 %; *severe* with an EDB CMAP
  below its LLN or fibrillations in tibialis anterior / EHL. The needle evidence notes whether
  tibialis posterior and the short head of biceps femoris are normal (they separate it from L5
  radiculopathy and sciatic neuropathy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, cast

import numpy as np
import pandas as pd

from bundle.tables import Bundle
from features.limits import ncs_limits

Severity = Literal["mild", "moderate", "severe"]
Site = Literal["median_wrist", "ulnar_elbow", "fibular_head"]

#: Atroshi 2003 (T1.2): same-side median - ulnar sensory peak latency difference, ms
CTS_LAT_DIFF_MS = 0.5
#: AAEM 1999 UNE criteria: across-elbow CV, m/s; slowing against the forearm, m/s; amplitude drop
UNE_CV_M_S = 50.0
UNE_SLOWING_M_S = 10.0
UNE_DROP = 0.20
UNE_DEFINITE_DROP = 0.50
#: T1.1 (Buschbacher 1999): across-fibular-head CV drop ULN 10 m/s, amplitude drop ULN 25 %
FIBULAR_CV_DROP_M_S = 10.0
FIBULAR_DROP = 0.25

_LABEL: dict[str, str] = {
    "median_wrist": "median neuropathy at the wrist (carpal tunnel)",
    "ulnar_elbow": "ulnar neuropathy at the elbow",
    "fibular_head": "fibular (peroneal) neuropathy at the fibular head",
}
_SIDE_NAME = {"L": "left", "R": "right"}
_ABOVE_ELBOW = frozenset({"above_elbow"})
_BELOW_ELBOW = frozenset({"below_elbow"})
_ABOVE_HEAD = frozenset({"popliteal_fossa", "knee", "above_fibular_head"})
_BELOW_HEAD = frozenset({"fibular_head", "below_fibular_head"})


@dataclass(frozen=True)
class FocalValue:
    """One measured value behind a focal finding, with its limit (``limit`` may be None)."""

    name: str
    value: float
    limit: float | None
    unit: str
    abnormal: bool

    @property
    def text(self) -> str:
        lim = "" if self.limit is None else f" (limit {self.limit:g} {self.unit})"
        return f"{self.name} {self.value:.1f} {self.unit}{lim}"


@dataclass(frozen=True)
class FocalFinding:
    """A focal neuropathy at an entrapment site on one side."""

    site: Site
    side: Literal["L", "R"]
    severity: Severity
    values: tuple[FocalValue, ...] = field(default_factory=tuple)
    criteria: str = ""
    #: the rest of the nerve conducts within its limits (the segment distal to the site), so the
    #: nerve's other findings and its territory's muscles are explained by the focal lesion and
    #: the six-class assessment leaves them out (:func:`outside_focal_territories`)
    isolated: bool = False

    @property
    def text(self) -> str:
        """E.g. "right median neuropathy at the wrist (carpal tunnel), moderate"."""
        return f"{_SIDE_NAME[self.side]} {_LABEL[self.site]}, {self.severity}"

    @property
    def left_out(self) -> bool:
        """Its territory is left out of the six-class assessment (isolated, at a masked site)."""
        return self.isolated and self.site in TERRITORY

    @property
    def left_out_text(self) -> str:
        """The sentence the prediction's limitations carry when :attr:`left_out`."""
        nerves, _ = TERRITORY[self.site]
        return (
            f"The {_SIDE_NAME[self.side]} {' and '.join(n.replace('_', ' ') for n in nerves)} "
            f"findings and the muscles supplied below the lesion are left out of the six-class "
            f"assessment: the isolated {_LABEL[self.site]} explains them."
        )


def _first(frame: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    """First row (the bundle's row order: distal first) per study and side among ``mask``."""
    sub = frame[mask]
    return sub.groupby(["study_id", "side"], sort=False).head(1).set_index(["study_id", "side"])


def _ncs_with_limits(bundle: Bundle) -> pd.DataFrame:
    ncs = bundle.ncs.reset_index(drop=True)
    lim = ncs_limits(ncs, bundle.studies).reset_index(drop=True)
    return pd.concat([ncs, lim], axis=1)


def _fibs(emg: pd.DataFrame, muscles: tuple[str, ...]) -> pd.Series:
    """Any fibrillations / positive sharp waves per (study, side) among ``muscles``."""
    if emg.empty:
        return pd.Series(dtype=bool)
    sel = emg[emg["muscle"].isin(muscles)]
    spont = sel[["fibs", "psw"]].apply(pd.to_numeric, errors="coerce").fillna(0).max(axis=1) > 0
    return spont.groupby([sel["study_id"], sel["side"]]).any()


def _abnormal_muscles(emg: pd.DataFrame, muscles: tuple[str, ...]) -> pd.Series:
    """Fibs/PSW or reduced recruitment or long units per (study, side) among ``muscles``."""
    if emg.empty:
        return pd.Series(dtype=bool)
    sel = emg[emg["muscle"].isin(muscles)]
    spont = sel[["fibs", "psw"]].apply(pd.to_numeric, errors="coerce").fillna(0).max(axis=1) > 0
    neuro = sel["recruitment"].astype(str).eq("reduced") | sel["muap_duration_grade"].astype(
        str
    ).isin(["long", "increased"])
    return (spont | neuro).groupby([sel["study_id"], sel["side"]]).any()


def _side(key: tuple[str, str]) -> Literal["L", "R"]:
    return "L" if key[1] == "L" else "R"


def _lookup(s: pd.Series, key: tuple[str, str], default: float = np.nan) -> float:
    try:
        return float(s.loc[key])
    except (KeyError, TypeError, ValueError):
        return default


def _cts(ncs: pd.DataFrame, emg: pd.DataFrame) -> dict[tuple[str, str], FocalFinding]:
    k, n = ncs["kind"], ncs["nerve"]
    ms = _first(ncs, (k == "sensory") & (n == "median"))
    us = _first(ncs, (k == "sensory") & (n == "ulnar"))
    mm = _first(ncs, (k == "motor") & (n == "median"))
    um = _first(ncs, (k == "motor") & (n == "ulnar"))
    apb_fib = _fibs(emg, ("abductor_pollicis_brevis",))
    out: dict[tuple[str, str], FocalFinding] = {}
    for key in ms.index.union(mm.index):
        s_lat, s_uln = _lookup(ms["latency_ms"], key), _lookup(ms["latency_uln_ms"], key)
        s_amp = _lookup(ms["amplitude"], key)
        u_lat, u_uln = _lookup(us["latency_ms"], key), _lookup(us["latency_uln_ms"], key)
        u_amp = _lookup(us["amplitude"], key)
        d_lat, d_uln = _lookup(mm["latency_ms"], key), _lookup(mm["latency_uln_ms"], key)
        d_amp, d_lln = _lookup(mm["amplitude"], key), _lookup(mm["amplitude_lln"], key)
        ud_lat, ud_uln = _lookup(um["latency_ms"], key), _lookup(um["latency_uln_ms"], key)
        diff = s_lat - s_uln * (u_lat / u_uln) if u_uln > 0 else np.nan
        ulnar_s_ok = not (u_lat > u_uln) and not (u_amp == 0)
        sens = (
            diff > CTS_LAT_DIFF_MS
            or (s_lat > s_uln and ulnar_s_ok and np.isfinite(u_lat))
            or (s_amp == 0 and u_amp > 0)
        )
        motor = d_lat > d_uln and np.isfinite(ud_lat) and not (ud_lat > ud_uln)
        if not (sens or motor):
            continue
        severe = s_amp == 0 or d_amp < d_lln or bool(apb_fib.get(key, False))
        severity: Severity = "severe" if severe else "moderate" if d_lat > d_uln else "mild"
        values = []
        if np.isfinite(diff):
            values.append(
                FocalValue(
                    "median-ulnar sensory latency difference",
                    diff,
                    CTS_LAT_DIFF_MS,
                    "ms",
                    diff > CTS_LAT_DIFF_MS,
                )
            )
        if np.isfinite(s_lat):
            values.append(
                FocalValue("median sensory peak latency", s_lat, s_uln, "ms", s_lat > s_uln)
            )
        if np.isfinite(d_lat):
            values.append(
                FocalValue("median distal motor latency", d_lat, d_uln, "ms", d_lat > d_uln)
            )
        if np.isfinite(d_amp):
            values.append(FocalValue("median CMAP amplitude", d_amp, d_lln, "mV", d_amp < d_lln))
        out[key] = FocalFinding(
            "median_wrist", _side(key), severity, tuple(values), "Atroshi 2003 (T1.2); AAEM CTS"
        )
    return out


def _segment(
    ncs: pd.DataFrame, nerve: str, recording: str, above: frozenset[str], below: frozenset[str]
) -> pd.DataFrame:
    """Per (study, side): distal, below-site and above-site rows of the default recording."""
    sel = ncs[(ncs["kind"] == "motor") & (ncs["nerve"] == nerve)]
    if "recording_site" in sel.columns:
        sel = sel[sel["recording_site"].fillna(recording).isin([recording])]
    sel = sel.assign(_prev=sel.groupby(["study_id", "side"])["stim_site"].shift(1))
    dist = sel.groupby(["study_id", "side"], sort=False).head(1).set_index(["study_id", "side"])
    crossing = sel[sel["stim_site"].isin(above) & sel["_prev"].isin(below)]
    up = crossing.groupby(["study_id", "side"]).head(1).set_index(["study_id", "side"])
    low = sel[sel["stim_site"].isin(below)].groupby(["study_id", "side"]).head(1)
    low = low.set_index(["study_id", "side"])
    return pd.DataFrame(
        {
            "distal_amp": dist["amplitude"],
            "distal_lln": dist["amplitude_lln"],
            "below_cv": low["velocity_m_s"],
            "below_cv_lln": low["velocity_lln_m_s"],
            "below_amp": low["amplitude"],
            "across_cv": up["velocity_m_s"],
            "above_amp": up["amplitude"],
        }
    ).dropna(subset=["across_cv", "above_amp"], how="all")


def _distal_ok(r: pd.Series) -> bool:
    """The segment distal to the site (forearm, leg) is not slowed below its LLN."""
    return not bool(r["below_cv"] < r["below_cv_lln"])


def _drop(below: float, above: float) -> float:
    return 1.0 - above / below if below > 0 else np.nan


def _une(ncs: pd.DataFrame, emg: pd.DataFrame) -> dict[tuple[str, str], FocalFinding]:
    seg = _segment(ncs, "ulnar", "adm", _ABOVE_ELBOW, _BELOW_ELBOW)
    us = _first(ncs, (ncs["kind"] == "sensory") & (ncs["nerve"] == "ulnar"))
    fibs = _fibs(emg, ("first_dorsal_interosseous", "abductor_digiti_minimi"))
    out: dict[tuple[str, str], FocalFinding] = {}
    for key_, r in seg.iterrows():
        key = cast("tuple[str, str]", key_)
        drop = _drop(r["below_amp"], r["above_amp"])
        slow = r["below_cv"] - r["across_cv"]
        hits = [r["across_cv"] < UNE_CV_M_S, slow > UNE_SLOWING_M_S, drop > UNE_DROP]
        if not (sum(bool(h) for h in hits) >= 2 or drop > UNE_DEFINITE_DROP):
            continue
        snap_low = _lookup(us["amplitude"], key) < _lookup(us["amplitude_lln"], key)
        severe = r["distal_amp"] < r["distal_lln"] or bool(fibs.get(key, False))
        severity: Severity = (
            "severe" if severe else "moderate" if (drop > UNE_DROP or snap_low) else "mild"
        )
        values = (
            FocalValue("across-elbow CV", r["across_cv"], UNE_CV_M_S, "m/s", bool(hits[0])),
            FocalValue(
                "slowing across the elbow vs forearm", slow, UNE_SLOWING_M_S, "m/s", bool(hits[1])
            ),
            FocalValue(
                "CMAP drop across the elbow", 100 * drop, 100 * UNE_DROP, "%", bool(hits[2])
            ),
        )
        out[key] = FocalFinding(
            "ulnar_elbow", _side(key), severity, values, "AAEM 1999 UNE", _distal_ok(r)
        )
    return out


_FIBULAR_MUSCLES = (
    "tibialis_anterior",
    "extensor_hallucis_longus",
    "extensor_digitorum_brevis",
    "peroneus_longus",
)
_FIBULAR_CONTROLS = ("tibialis_posterior", "biceps_femoris_short_head")


def _fibular(ncs: pd.DataFrame, emg: pd.DataFrame) -> dict[tuple[str, str], FocalFinding]:
    seg = _segment(ncs, "peroneal", "edb", _ABOVE_HEAD, _BELOW_HEAD)
    fibs = _fibs(emg, ("tibialis_anterior", "extensor_hallucis_longus"))
    controls = _abnormal_muscles(emg, _FIBULAR_CONTROLS)
    out: dict[tuple[str, str], FocalFinding] = {}
    for key_, r in seg.iterrows():
        key = cast("tuple[str, str]", key_)
        drop = _drop(r["below_amp"], r["above_amp"])
        slow = r["below_cv"] - r["across_cv"]
        if not (slow > FIBULAR_CV_DROP_M_S or drop > FIBULAR_DROP):
            continue
        severe = r["distal_amp"] < r["distal_lln"] or bool(fibs.get(key, False))
        severity: Severity = "severe" if severe else "moderate" if drop > FIBULAR_DROP else "mild"
        values = [
            FocalValue(
                "CV drop across the fibular head",
                slow,
                FIBULAR_CV_DROP_M_S,
                "m/s",
                bool(slow > FIBULAR_CV_DROP_M_S),
            ),
            FocalValue(
                "CMAP drop across the fibular head",
                100 * drop,
                100 * FIBULAR_DROP,
                "%",
                bool(drop > FIBULAR_DROP),
            ),
        ]
        crit = "T1.1 across-fibular-head limits (Buschbacher 1999)"
        if key in controls.index:
            crit += "; tibialis posterior / short head of biceps " + (
                "abnormal (consider L5 or sciatic)" if controls[key] else "normal"
            )
        out[key] = FocalFinding(
            "fibular_head", _side(key), severity, tuple(values), crit, _distal_ok(r)
        )
    return out


def focal_findings(bundle: Bundle) -> dict[str, list[FocalFinding]]:
    """Focal findings of every study of a canonical bundle (studies without any are absent).

    Parameters
    ----------
    bundle : Bundle
        Validated, canonical tables (``features.bundle`` / :mod:`bundle.tables`).

    Returns
    -------
    dict
        ``study_id`` -> findings ordered by site (median, ulnar, fibular) then side.
    """
    if bundle.ncs.empty:
        return {}
    ncs = _ncs_with_limits(bundle)
    emg = bundle.emg
    out: dict[str, list[FocalFinding]] = {}
    for finder in (_cts, _une, _fibular):
        for (study, _side), finding in sorted(finder(ncs, emg).items()):
            out.setdefault(str(study), []).append(finding)
    return out


def focal_sites(findings: dict[str, list[FocalFinding]], study_ids: list[str]) -> pd.DataFrame:
    """Boolean table study x site (``median_wrist``, ``ulnar_elbow``, ``fibular_head``)."""
    sites = ("median_wrist", "ulnar_elbow", "fibular_head")
    rows = {
        s: [any(f.site == site for f in findings.get(s, [])) for site in sites] for s in study_ids
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(sites))


#: what an isolated focal lesion explains: the nerve's own responses on that side (motor, sensory
#: and F-waves; not RNS, whose decrement is a junction finding) and the muscles it supplies distal
#: to the site. Ulnar at the elbow: FDI, ADM and FCU (whose branches leave at or just below the
#: elbow, so it is often spared, never a sign against the lesion); fibular at the head: the
#: deep and superficial fibular muscles and the superficial fibular SNAP (T1.1; AAEM 1999)
TERRITORY: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ulnar_elbow": (
        ("ulnar",),
        ("first_dorsal_interosseous", "abductor_digiti_minimi", "flexor_carpi_ulnaris"),
    ),
    "fibular_head": (("peroneal", "superficial_peroneal"), _FIBULAR_MUSCLES),
}
_TERRITORY_KINDS = ("motor", "sensory", "f_wave")


def _entrapment_findings(bundle: Bundle) -> dict[str, list[FocalFinding]]:
    """The ulnar-elbow and fibular-head findings alone, read from the motor and sensory rows of
    those two nerves only (a bundle's other rows cannot change them, and reading every row's
    limits for the carpal tunnel criteria would cost a minute on 25,000 studies)."""
    ncs = bundle.ncs
    sel = ncs[ncs["kind"].isin(["motor", "sensory"]) & ncs["nerve"].isin(["ulnar", "peroneal"])]
    if sel.empty:
        return {}
    rows = _ncs_with_limits(Bundle(studies=bundle.studies, ncs=sel, emg=bundle.emg))
    out: dict[str, list[FocalFinding]] = {}
    for finder in (_une, _fibular):
        for (study, _side), finding in sorted(finder(rows, bundle.emg).items()):
            out.setdefault(str(study), []).append(finding)
    return out


#: the limb and the paraspinal segment of each site: abnormal muscles there outside the territory
#: mean the lesion is not isolated (a root, plexus or anterior horn process also reaches them)
_SITE_LIMB: dict[str, tuple[str, str]] = {
    "ulnar_elbow": ("upper", "cervical_paraspinal"),
    "fibular_head": ("lower", "lumbar_paraspinal"),
}


def _abnormal_outside_territory(emg: pd.DataFrame) -> set[tuple[str, str, str]]:
    """(study, side, site) where a same-limb muscle outside the site's territory, or the
    segment's paraspinal, has fibrillations / PSW, reduced recruitment or long units."""
    if emg.empty:
        return set()
    from features.reference import load_muscles

    limb = emg["muscle"].map(load_muscles()["limb"]).astype(object)
    spont = emg[["fibs", "psw"]].apply(pd.to_numeric, errors="coerce").fillna(0).max(axis=1) > 0
    neuro = emg["recruitment"].astype(str).eq("reduced") | emg["muap_duration_grade"].astype(
        str
    ).isin(["long", "increased"])
    bad = emg[(spont | neuro).to_numpy()]
    bad_limb = limb[bad.index]
    out: set[tuple[str, str, str]] = set()
    for site, (site_limb, paraspinal) in _SITE_LIMB.items():
        _, muscles = TERRITORY[site]
        hit = ((bad_limb == site_limb) & ~bad["muscle"].isin(muscles)) | bad["muscle"].eq(
            paraspinal
        )
        for study, side in zip(bad["study_id"][hit], bad["side"][hit], strict=True):
            out.add((str(study), str(side), site))
    return out


def outside_focal_territories(bundle: Bundle) -> tuple[Bundle, dict[str, list[FocalFinding]]]:
    """The bundle without the findings an isolated focal neuropathy explains.

    A clinician reads a right ulnar neuropathy at the elbow beside "otherwise normal" findings
    as a mononeuropathy, not as a neuropathy, radiculopathy or motor neuron disease from its
    low ulnar SNAP and denervated hand muscles. So the six-class features (training and
    serving alike, :func:`features.build.build_features`) are computed without the nerve's rows
    on that side and its territory's muscles (:data:`TERRITORY`), the same as if they had not
    been examined. Only *isolated* lesions are left out: the segment distal to the site
    conducts within its limits (:attr:`FocalFinding.isolated`; a slowed forearm or leg belongs
    to a polyneuropathy) and no muscle of the same limb outside the territory, nor the
    segment's paraspinal, is abnormal (then a root, plexus or anterior horn process is as
    likely, and the territory is evidence for it: an L5 root lesion denervates tibialis
    anterior too). Carpal tunnel is never left out: the median nerve is
    where demyelinating and axonal polyneuropathies are read most often, and the other median
    findings are kept beside it.

    Returns
    -------
    bundle : Bundle
        A new bundle (the input is not modified); unchanged tables when nothing is left out.
    left_out : dict
        ``study_id`` -> the isolated findings whose territories were left out.
    """
    findings = _entrapment_findings(bundle)
    outside = _abnormal_outside_territory(bundle.emg)
    left_out = {
        s: [f for f in fs if f.left_out and (s, f.side, f.site) not in outside]
        for s, fs in findings.items()
    }
    left_out = {s: fs for s, fs in left_out.items() if fs}
    if not left_out:
        return bundle, {}
    ncs_drop: list[tuple[str, str, str]] = []
    emg_drop: list[tuple[str, str, str]] = []
    for study, fs in left_out.items():
        for f in fs:
            nerves, muscles = TERRITORY[f.site]
            ncs_drop += [(study, f.side, n) for n in nerves]
            emg_drop += [(study, f.side, m) for m in muscles]
    ncs, emg = bundle.ncs, bundle.emg
    ncs_key = pd.MultiIndex.from_arrays(
        [ncs["study_id"].astype(str), ncs["side"].astype(str), ncs["nerve"].astype(str)]
    )
    ncs_keep = ~(ncs_key.isin(ncs_drop) & ncs["kind"].isin(_TERRITORY_KINDS).to_numpy())
    emg_key = pd.MultiIndex.from_arrays(
        [emg["study_id"].astype(str), emg["side"].astype(str), emg["muscle"].astype(str)]
    )
    emg_keep = ~emg_key.isin(emg_drop)
    return Bundle(studies=bundle.studies, ncs=ncs[ncs_keep], emg=emg[emg_keep]), left_out
