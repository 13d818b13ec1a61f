"""Radiculopathy localisation: the most likely root level and side, with the evidence and a confidence.

Physiology (clinical reference, ``/work/shared/reference/clinical-reference.md``):

* A root lesion denervates the muscles of its **myotome**: fibrillations / positive sharp waves
  once 2-3 weeks have passed, chronic neurogenic (long, large) MUAPs and reduced recruitment as
  reinnervation proceeds (T2.2-T2.4, T3.5). The muscle -> nerve / roots table is
  ``features/reference/muscles.csv`` (§4 myotome table, roots in bold = dominant, "main").
* It is shown by **>= 2 muscles of the same root supplied by different peripheral nerves**, with
  the muscles of adjacent roots normal; paraspinals are often abnormal (Wilbourn & Aminoff 1998,
  T3.5). Paraspinal denervation places the lesion proximal to the posterior rami, i.e. at the
  root rather than in the plexus or a nerve. Lumbar paraspinal fibrillations are also found in
  14.5 % of asymptomatic adults (Date 1996, T2.5), so they weigh less in the legs.
* **Sensory NCS are normal** because the lesion lies proximal to the dorsal root ganglion
  (Wilbourn & Aminoff 1998; Tsao 2007; T3.5): a normal SNAP in the dermatome supports a root
  lesion over a plexus or nerve lesion, a low or absent one argues against it. Dermatomes of the
  contract's SNAPs †: superficial fibular L5, sural S1, median digit 2 C6-C7, radial
  (snuffbox) C6, ulnar digit 5 C8 (standard texts, not re-checked).
* An absent or side-delayed (> 1.5 ms) H-reflex supports S1 (Falco 1994; Jankus 1994; T3.5).
* Root frequencies: lumbosacral L5 45 %, S1 40 %, L4 10 %, L2-L3 5 %; cervical C7 50 %,
  C6 25 %, C8 15 %, C5 10 %; cervical : lumbosacral about 40 : 60 (§7.4 [sim, † root
  frequencies]; Boluk 2021). T1 is rare (not listed; 2 % of cervical here [sim]).

Method (a naive-Bayes score, :func:`localise_findings`): every needle-examined limb muscle of a
side is one observation, its neurogenic abnormality ``a`` in [0, 1] (fibrillations / PSW or
large MUAPs 1, reduced recruitment alone 0.7, polyphasia alone 0.4, none 0). A lesion of root
``r`` on that side makes a muscle abnormal with probability :data:`P_MAIN` when ``r`` is one of
its dominant roots, :data:`P_MINOR` when it is a minor root, :data:`P_BACKGROUND` otherwise;
the score of ``(r, side)`` is the sum over the side's muscles of the log-likelihood ratio
against "no lesion on this side", so abnormal muscles of the root add and normal ones subtract.
A second abnormal muscle of the *same* nerve adds half (the >= 2 nerves rule). The region's
paraspinals on that side add their ratio (:data:`P_PARASPINAL` against the background rate),
the H-reflex its ratio to S1. With the root frequencies as prior, the scores become posterior
shares over all ``(root, side)`` pairs. **The root set named** is the top root, or the top root
and an adjacent runner-up on the same side at least :data:`ROOT_SET_RATIO` as likely: muscles
shared by both roots (C5/C6: deltoid, biceps, brachioradialis; L4/L5: tibialis anterior and
posterior; C8/T1: the hand muscles; T3.5b) cannot separate them, and a clinician then writes
"C5-C6" (:func:`root_set`). **The confidence is the posterior share of the set named**
(``docs/localisation.md`` measures how well it is calibrated on simulated studies).
``root_support`` is separate: the probability that the lesion is at the root rather than in the
plexus or a nerve, from the dermatomal SNAPs, the paraspinals and the number of nerves.

"Not localisable", with the reason, when the needle study does not allow it: no abnormal limb
muscle (an EMG-negative radiculopathy: needle EMG finds 50-71 % of cervical radiculopathies,
So 1999, T3.5); bilateral symmetric findings; findings in many muscles outside one root (a
widespread process, not a root); no abnormal muscle of the most likely root. A **tentative**
root (``strength``) is named from weaker evidence: one abnormal muscle whose roots span several
levels (>= 2 muscles of one root are needed for a definite root, T3.5), or a set with less than
an even share (:data:`MIN_CONFIDENCE`); its confidence is capped at
:data:`MAX_TENTATIVE_CONFIDENCE`.

Pure functions of validated tables; nothing here reads a file or a parameter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd

from bundle.tables import Bundle
from features.emg import muscle_table
from features.limits import ncs_limits
from features.reference import load_muscles
from features.vocab import MUSCLES

#: root levels that can be localised, in order (C5-T1, L2-S1)
ROOTS: tuple[str, ...] = ("C5", "C6", "C7", "C8", "T1", "L2", "L3", "L4", "L5", "S1")
CERVICAL_ROOTS = frozenset(ROOTS[:5])
#: prior share of each root among radiculopathies (§7.4 [sim, † root frequencies]: cervical
#: C7 50, C6 25, C8 15, C5 10 % of 40 %; lumbosacral L5 45, S1 40, L4 10, L2-L3 5 % of 60 %;
#: T1 2 % of cervical [sim])
ROOT_PRIOR: dict[str, float] = {
    "C5": 0.4 * 0.10,
    "C6": 0.4 * 0.24,
    "C7": 0.4 * 0.49,
    "C8": 0.4 * 0.15,
    "T1": 0.4 * 0.02,
    "L2": 0.6 * 0.02,
    "L3": 0.6 * 0.03,
    "L4": 0.6 * 0.10,
    "L5": 0.6 * 0.45,
    "S1": 0.6 * 0.40,
}
#: P(a muscle shows neurogenic change | a lesion of one of its dominant roots): chronic
#: neurogenic MUAPs P about 0.6, fibrillations 0.5 acute (§7.4 [sim])
P_MAIN = 0.6
#: ... of one of its minor roots (a smaller share of its motor units) [sim †]
P_MINOR = 0.25
#: ... of a muscle outside the lesioned root (incidental or examiner findings) [sim]
P_BACKGROUND = 0.04
#: P(paraspinal fibrillations | a root lesion of that region) about 0.5 (§7.4)
P_PARASPINAL = 0.5
#: background paraspinal fibrillations: lumbar 14.5 % of asymptomatic adults (Date 1996, T2.5);
#: cervical [sim]
P_PARASPINAL_BACKGROUND = {"cervical": 0.05, "lumbosacral": 0.145}
#: a second and later abnormal muscle of the same nerve counts this much (>= 2 nerves, T3.5)
SAME_NERVE_WEIGHT = 0.5
#: abnormality of a muscle with only reduced recruitment / only polyphasia (T2.2, T2.3 [sim])
REDUCED_ONLY = 0.7
POLY_ONLY = 0.4
#: a muscle counts as "abnormal" in the findings and rules from this abnormality on
ABNORMAL_FROM = 0.5
#: H-reflex: abnormal (absent or > 1.5 ms side-to-side) in 60 % of S1 lesions (§7.4 [sim]),
#: in 10 % otherwise [sim]; side-to-side limit 1.5 ms (Falco 1994, T3.5)
P_H_ABNORMAL_S1, P_H_ABNORMAL_OTHER, H_SIDE_DIFF_MS = 0.6, 0.1, 1.5
#: dermatomes of the contract's SNAPs (nerve -> roots) † standard texts, not re-checked
SNAP_DERMATOME: dict[str, tuple[str, ...]] = {
    "superficial_peroneal": ("L5",),
    "sural": ("S1",),
    "median": ("C6", "C7"),
    "radial": ("C6",),
    "ulnar": ("C8",),
}
#: root rather than plexus / nerve: prior odds, and P(SNAP low) at a root / post-ganglionic
#: lesion (SNAPs normal in root lesions, T3.5; 0.1 allows a coexisting neuropathy [sim];
#: 0.6 for a plexus or nerve lesion of that territory [sim †])
ROOT_PRIOR_ODDS, P_SNAP_LOW_ROOT, P_SNAP_LOW_POST = 2.0, 0.1, 0.6
#: all abnormal muscles supplied by one nerve: likelihood ratio root vs nerve [sim]
ONE_NERVE_LR, SEVERAL_NERVES_LR = 0.3, 3.0
#: below this posterior share no root is named: several fit about equally (the confidence is
#: calibrated, ``docs/localisation.md``: such calls were right about 2 times in 3) [sim]
MIN_CONFIDENCE = 0.5
#: the confidence stated is at most this (a needle study never makes a root certain) [sim]
MAX_CONFIDENCE = 0.99
#: a tentative root (one abnormal muscle, or no root with an even share) is stated with at
#: most this confidence: the posterior share is right about as often as it says on simulated
#: one-muscle studies (``docs/localisation.md``), but a single muscle is weak evidence [sim]
MAX_TENTATIVE_CONFIDENCE = 0.8
#: a runner-up root on the same side, adjacent to the top one, with at least this share of the
#: top root's posterior is named with it ("left C5-C6"): the muscles examined share both roots
#: and do not separate them (T3.5b: the C6 set is the C5 set plus pronator teres, FCR, some
#: triceps; L4 and L5 share tibialis anterior and posterior), so a clinician names both [sim]
ROOT_SET_RATIO = 0.5
#: ``Localisation.strength``: the >= 2-muscle rule is met (definite) or not (tentative)
DEFINITE, TENTATIVE = "definite", "tentative"
#: bilateral: the other side's best score at least this share of the top one
BILATERAL_SHARE = 0.6
#: widespread: at least this many abnormal limb muscles the top root does not explain, and more
#: than it explains
WIDESPREAD_MIN = 3

_SIDES = ("L", "R")
_SIDE_WORD = {"L": "left", "R": "right"}
_NERVE_LABEL = {
    "superficial_peroneal": "superficial fibular",
    "deep_peroneal": "deep fibular",
    "sciatic_peroneal_division": "sciatic (fibular division)",
    "peroneal": "fibular",
}


def nerve_label(nerve: str) -> str:
    """Human name of a nerve (``superficial_peroneal`` -> "superficial fibular")."""
    return _NERVE_LABEL.get(nerve, nerve.replace("_", " "))


def muscle_label(muscle: str) -> str:
    """Human name of a canonical muscle (``tibialis_anterior`` -> "tibialis anterior")."""
    return muscle.replace("_", " ")


@dataclass(frozen=True)
class MuscleFinding:
    """One needle-examined muscle as the localiser reads it.

    Attributes
    ----------
    muscle, side : str
        Canonical muscle, ``L``/``R``.
    abnormality : float
        Neurogenic abnormality in [0, 1] (module docstring); muscles with nothing assessed are
        not findings.
    text : str
        What was found, in the lab's terms ("fibs 2+, large MUAPs, reduced recruitment").
    """

    muscle: str
    side: str
    abnormality: float
    text: str


@dataclass(frozen=True)
class SnapFinding:
    """One sensory response (amplitude in µV against its patient's LLN; 0 = absent)."""

    nerve: str
    side: str
    amplitude_uv: float
    lln_uv: float

    @property
    def low(self) -> bool:
        """Below the LLN (an absent response is low)."""
        return self.amplitude_uv < self.lln_uv


@dataclass(frozen=True)
class HReflexFinding:
    """The tibial H-reflex of one side (latency in ms, NaN when absent; absent = amplitude 0)."""

    side: str
    latency_ms: float
    absent: bool


@dataclass(frozen=True)
class StudyFindings:
    """What one study offers the localiser: needle muscles, SNAPs, H-reflexes."""

    muscles: tuple[MuscleFinding, ...]
    snaps: tuple[SnapFinding, ...] = ()
    h_reflexes: tuple[HReflexFinding, ...] = ()


@dataclass(frozen=True)
class Evidence:
    """A finding for or against the top candidate, as a clinician reads it.

    Attributes
    ----------
    kind : str
        ``muscle``, ``paraspinal``, ``snap``, ``h_reflex`` or ``spared_muscle`` (a normal
        muscle of a rival root of a tentative call's single abnormal muscle).
    name : str
        Canonical muscle or nerve.
    side : str
        ``L``/``R``.
    text : str
        The sentence ("tibialis anterior (deep fibular, L5): fibs 2+, large MUAPs").
    """

    kind: str
    name: str
    side: str
    text: str


@dataclass(frozen=True)
class RootCandidate:
    """One ``(root, side)`` hypothesis: its score (log-likelihood ratio) and posterior share."""

    root: str
    side: str
    score: float
    probability: float

    @property
    def label(self) -> str:
        """ "left L5"."""
        return f"{_SIDE_WORD[self.side]} {self.root}"


@dataclass(frozen=True)
class Localisation:
    """The localiser's answer for one study.

    Attributes
    ----------
    localisable : bool
        False when the needle study does not allow a root to be named (``reason`` says why).
    reason : str
        Why it is not localisable ("" when it is).
    root, side : str or None
        The top candidate (``"L5"``, ``"L"``); None when not localisable.
    confidence : float or None
        Posterior share of the top candidate among all (root, side) pairs, in [0, 1].
    root_support : float or None
        Probability that the lesion is at the root rather than in the plexus or a nerve
        (dermatomal SNAPs, paraspinals, number of nerves), in [0, 1].
    candidates : tuple of RootCandidate
        The best candidates, ranked (at most five).
    supporting, opposing : tuple of Evidence
        Findings for and against the top candidate.
    n_abnormal_muscles, n_nerves : int
        Abnormal limb muscles of the top root on its side, and their distinct nerves.
    summary : str
        One sentence for the page (:func:`summary_text`).
    strength : str
        ``definite`` (the >= 2-muscle rule of T3.5 is met and the root has at least an even
        share), ``tentative`` (a most likely root from weaker evidence: one abnormal muscle
        spanning several roots, or no root with an even share; confidence at most
        :data:`MAX_TENTATIVE_CONFIDENCE`), "" when not localisable.
    caveat : str
        Why a tentative root is tentative ("" when definite or not localisable).
    roots : tuple of str
        The root set a clinician would name, in :data:`ROOTS` order: ``root`` alone, or
        ``root`` and an adjacent runner-up on the same side that the findings do not separate
        from it (:data:`ROOT_SET_RATIO`, :func:`root_set`); ``()`` when not localisable.
        ``confidence`` is the posterior share of the whole set.
    """

    localisable: bool
    reason: str = ""
    root: str | None = None
    side: str | None = None
    confidence: float | None = None
    root_support: float | None = None
    candidates: tuple[RootCandidate, ...] = ()
    supporting: tuple[Evidence, ...] = ()
    opposing: tuple[Evidence, ...] = ()
    n_abnormal_muscles: int = 0
    n_nerves: int = 0
    summary: str = field(default="")
    strength: str = ""
    caveat: str = ""
    roots: tuple[str, ...] = ()

    @property
    def roots_label(self) -> str:
        """The root set named, "C5-C6" or "L5" ("" when not localisable)."""
        return _roots_text(self.roots) if self.roots else ""


# --- reference ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Anatomy:
    nerve: dict[str, str]
    region: dict[str, str]
    limb: dict[str, str]
    main: dict[str, frozenset[str]]
    minor: dict[str, frozenset[str]]


@cache
def _anatomy() -> _Anatomy:
    table = load_muscles()
    main_roots: dict[str, tuple[str, ...]] = dict(
        zip(table.index, table["main_roots"], strict=True)
    )
    all_roots: dict[str, tuple[str, ...]] = dict(zip(table.index, table["roots"], strict=True))
    main = {m: frozenset(r for r in rs if r in ROOTS) for m, rs in main_roots.items()}
    every = {m: frozenset(r for r in rs if r in ROOTS) for m, rs in all_roots.items()}
    return _Anatomy(
        nerve={m: str(table.at[m, "nerve"]) for m in table.index},
        region={m: str(table.at[m, "region"]) for m in table.index},
        limb={m: str(table.at[m, "limb"]) for m in table.index},
        main=main,
        minor={m: every[m] - main[m] for m in table.index},
    )


def _region_of_root(root: str) -> str:
    return "cervical" if root in CERVICAL_ROOTS else "lumbosacral"


def _limb_of_root(root: str) -> str:
    return "upper" if root in CERVICAL_ROOTS else "lower"


def _llr(a: float, p: float, q: float) -> float:
    """Log-likelihood ratio of abnormality ``a`` under rate ``p`` against background ``q``."""
    return a * math.log(p / q) + (1.0 - a) * math.log((1.0 - p) / (1.0 - q))


def _roots_text(roots: Iterable[str]) -> str:
    r = sorted(roots, key=ROOTS.index)
    return "-".join(r) if r else "no root"


# --- scoring ------------------------------------------------------------------------------------
def _scores(f: StudyFindings) -> dict[tuple[str, str], float]:
    """Score (log-likelihood ratio against no lesion on that side) of every (root, side)."""
    an = _anatomy()
    out: dict[tuple[str, str], float] = {}
    for side in _SIDES:
        limb = [m for m in f.muscles if m.side == side and an.limb[m.muscle] in ("upper", "lower")]
        para = [m for m in f.muscles if m.side == side and an.limb[m.muscle] == "axial"]
        for root in ROOTS:
            s = 0.0
            seen_nerves: set[str] = set()
            for m in sorted(limb, key=lambda m: -m.abnormality):
                if an.limb[m.muscle] != _limb_of_root(root):
                    continue
                p = (
                    P_MAIN
                    if root in an.main[m.muscle]
                    else P_MINOR
                    if root in an.minor[m.muscle]
                    else P_BACKGROUND
                )
                term = _llr(m.abnormality, p, P_BACKGROUND)
                nerve = an.nerve[m.muscle]
                if term > 0 and m.abnormality >= ABNORMAL_FROM and p > P_BACKGROUND:
                    if nerve in seen_nerves:
                        term *= SAME_NERVE_WEIGHT
                    seen_nerves.add(nerve)
                s += term
            region = _region_of_root(root)
            q = P_PARASPINAL_BACKGROUND[region]
            for m in para:
                if an.region[m.muscle] == region:
                    s += _llr(m.abnormality, P_PARASPINAL, q)
            if root == "S1":
                s += _h_reflex_term(f.h_reflexes, side)
            out[(root, side)] = s
    return out


def _h_reflex_abnormal(h: Sequence[HReflexFinding], side: str) -> bool | None:
    """Absent, or later than the other side by more than 1.5 ms; None when not recorded."""
    this = [x for x in h if x.side == side]
    if not this:
        return None
    if any(x.absent for x in this):
        return True
    other = [x for x in h if x.side != side and not x.absent]
    if other and np.isfinite(this[0].latency_ms) and np.isfinite(other[0].latency_ms):
        return this[0].latency_ms - other[0].latency_ms > H_SIDE_DIFF_MS
    return False


def _h_reflex_term(h: Sequence[HReflexFinding], side: str) -> float:
    ab = _h_reflex_abnormal(h, side)
    if ab is None:
        return 0.0
    return _llr(1.0 if ab else 0.0, P_H_ABNORMAL_S1, P_H_ABNORMAL_OTHER)


def _posterior(scores: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    keys = list(scores)
    logp = np.array([scores[k] + math.log(ROOT_PRIOR[k[0]] / 2.0) for k in keys])
    w = np.exp(logp - logp.max())
    w /= w.sum()
    return dict(zip(keys, w.tolist(), strict=True))


def _abnormal(f: StudyFindings, limb_only: bool = True) -> list[MuscleFinding]:
    an = _anatomy()
    return [
        m
        for m in f.muscles
        if m.abnormality >= ABNORMAL_FROM
        and (not limb_only or an.limb[m.muscle] in ("upper", "lower"))
    ]


def _not_localisable(reason: str, candidates: tuple[RootCandidate, ...] = ()) -> Localisation:
    return Localisation(
        localisable=False,
        reason=reason,
        candidates=candidates,
        summary=f"Not localisable: {reason}.",
    )


def localise_findings(f: StudyFindings) -> Localisation:
    """Localise one study's findings to a root and side (module docstring), or say why not."""
    an = _anatomy()
    abnormal = _abnormal(f)
    if not abnormal:
        return _not_localisable("no abnormal limb muscle on needle EMG")
    # only a limb and side with an abnormal muscle holds candidates (a root of an unexamined
    # limb would win on its prior alone)
    where = {(an.limb[m.muscle], m.side) for m in abnormal}
    scores = {k: v for k, v in _scores(f).items() if (_limb_of_root(k[0]), k[1]) in where}
    post = _posterior(scores)
    ranked = sorted(scores, key=lambda k: -post[k])
    candidates = tuple(
        RootCandidate(r, s, round(scores[(r, s)], 3), round(post[(r, s)], 4)) for r, s in ranked[:5]
    )
    caveats: list[str] = []
    single_roots = an.main[abnormal[0].muscle] | an.minor[abnormal[0].muscle]
    if len(abnormal) == 1 and len(single_roots) > 1:
        # >= 2 muscles of one root are needed for a definite root (Wilbourn & Aminoff 1998,
        # T3.5); one muscle supplied by several roots gives a tentative one, the normal muscles
        # of its other roots deciding between them
        caveats.append(
            f"only one abnormal muscle ({muscle_label(abnormal[0].muscle)}), whose roots span "
            f"{_roots_text(single_roots)}"
        )
    root, side = ranked[0]
    top_score = scores[(root, side)]
    other = "R" if side == "L" else "L"
    limb = _limb_of_root(root)
    other_best = max(
        (v for (r, s), v in scores.items() if s == other and _limb_of_root(r) == limb),
        default=-math.inf,
    )
    if top_score > 1.0 and other_best >= BILATERAL_SHARE * top_score:
        return _not_localisable("bilateral findings of similar weight (not one root)")
    roots = root_set(candidates)
    share = sum(post[(r, side)] for r in roots)
    explained = [
        m
        for m in abnormal
        if m.side == side and (an.main[m.muscle] | an.minor[m.muscle]) & set(roots)
    ]
    unexplained = [m for m in abnormal if m not in explained]
    if len(unexplained) >= WIDESPREAD_MIN and len(unexplained) > len(explained):
        return _not_localisable(
            f"abnormal muscles beyond one root ({len(unexplained)} outside the "
            f"{_roots_text(roots)} myotome): a more widespread process"
        )
    if not explained:
        return _not_localisable("no abnormal muscle of the most likely root")
    if share < MIN_CONFIDENCE:
        caveats.append(
            f"the findings fit several roots (next {candidates[1].label}, "
            f"{candidates[1].probability:.2f})"
            if len(candidates) > 1
            else "the findings do not single out a root"
        )
    supporting, opposing = _evidence(f, roots, side, explained, unexplained)
    if caveats:
        supporting += _sparing(f, roots, side, single_roots if len(abnormal) == 1 else set())
    nerves = {an.nerve[m.muscle] for m in explained}
    support = _root_support(f, roots, side, nerves)
    cap = MAX_TENTATIVE_CONFIDENCE if caveats else MAX_CONFIDENCE
    conf = min(round(share, 3), cap)
    loc = Localisation(
        localisable=True,
        root=root,
        side=side,
        confidence=conf,
        root_support=round(support, 3),
        candidates=candidates,
        supporting=supporting,
        opposing=opposing,
        n_abnormal_muscles=len(explained),
        n_nerves=len(nerves),
        strength=TENTATIVE if caveats else DEFINITE,
        caveat="; ".join(caveats),
        roots=roots,
    )
    return Localisation(**{**loc.__dict__, "summary": summary_text(loc, f)})


def root_set(candidates: Sequence[RootCandidate]) -> tuple[str, ...]:
    """The roots to name from ranked candidates: the top root, with the runner-up when it is on
    the same side, adjacent, in the same region and at least :data:`ROOT_SET_RATIO` as likely
    (in :data:`ROOTS` order)."""
    top = candidates[0]
    if len(candidates) > 1:
        nxt = candidates[1]
        i, j = ROOTS.index(top.root), ROOTS.index(nxt.root)
        if (
            nxt.side == top.side
            and abs(i - j) == 1
            and _region_of_root(top.root) == _region_of_root(nxt.root)
            and nxt.probability >= ROOT_SET_RATIO * top.probability
        ):
            return (ROOTS[min(i, j)], ROOTS[max(i, j)])
    return (top.root,)


def _sparing(
    f: StudyFindings, roots: Sequence[str], side: str, rival_roots: Iterable[str]
) -> tuple[Evidence, ...]:
    """Normal muscles whose dominant roots include a rival root of the single abnormal muscle
    but not ``root``: they speak against the rival (tibialis anterior L4-L5 abnormal, vastus
    lateralis L3-L4 normal -> L5 rather than L4; T3.5 "adjacent roots normal")."""
    an = _anatomy()
    named = set(roots)
    rivals = set(rival_roots) - named
    out = []
    for m in f.muscles:
        if m.side != side or an.limb[m.muscle] == "axial" or m.abnormality >= ABNORMAL_FROM:
            continue
        spared = sorted(an.main[m.muscle] & rivals, key=ROOTS.index)
        if spared and not an.main[m.muscle] & named:
            out.append(
                Evidence(
                    "spared_muscle",
                    m.muscle,
                    side,
                    _muscle_sentence(m) + f" (argues against {_roots_text(spared)})",
                )
            )
    return tuple(out)


def _root_support(f: StudyFindings, roots: Sequence[str], side: str, nerves: set[str]) -> float:
    """P(root rather than plexus / nerve lesion) from SNAPs, paraspinals and nerve count."""
    an = _anatomy()
    odds = ROOT_PRIOR_ODDS
    for s in _dermatome_snaps(f, roots, side):
        odds *= (
            P_SNAP_LOW_ROOT / P_SNAP_LOW_POST
            if s.low
            else (1 - P_SNAP_LOW_ROOT) / (1 - P_SNAP_LOW_POST)
        )
    region = _region_of_root(roots[0])
    q = P_PARASPINAL_BACKGROUND[region]
    for m in f.muscles:
        if m.side == side and an.limb[m.muscle] == "axial" and an.region[m.muscle] == region:
            odds *= math.exp(_llr(m.abnormality, P_PARASPINAL, q))
    odds *= ONE_NERVE_LR if len(nerves) == 1 else SEVERAL_NERVES_LR
    return odds / (1.0 + odds)


def _dermatome_snaps(f: StudyFindings, roots: Sequence[str], side: str) -> list[SnapFinding]:
    return [
        s
        for s in f.snaps
        if s.side == side
        and set(roots) & set(SNAP_DERMATOME.get(s.nerve, ()))
        and np.isfinite(s.lln_uv)
    ]


def _muscle_sentence(m: MuscleFinding) -> str:
    an = _anatomy()
    return (
        f"{muscle_label(m.muscle)} ({nerve_label(an.nerve[m.muscle])}, "
        f"{_roots_text(an.main[m.muscle])}): {m.text}"
    )


def _evidence(
    f: StudyFindings,
    roots: Sequence[str],
    side: str,
    explained: list[MuscleFinding],
    unexplained: list[MuscleFinding],
) -> tuple[tuple[Evidence, ...], tuple[Evidence, ...]]:
    an = _anatomy()
    sup = [Evidence("muscle", m.muscle, m.side, _muscle_sentence(m)) for m in explained]
    opp = [
        Evidence("muscle", m.muscle, m.side, _muscle_sentence(m))
        for m in f.muscles
        if m.side == side
        and an.main[m.muscle] & set(roots)
        and an.limb[m.muscle] != "axial"
        and m.abnormality < ABNORMAL_FROM
    ]
    opp += [
        Evidence("muscle", m.muscle, m.side, _muscle_sentence(m) + " (outside the myotome)")
        for m in unexplained
    ]
    region = _region_of_root(roots[0])
    for m in f.muscles:
        if m.side == side and an.limb[m.muscle] == "axial" and an.region[m.muscle] == region:
            (sup if m.abnormality >= ABNORMAL_FROM else opp).append(
                Evidence("paraspinal", m.muscle, side, f"{muscle_label(m.muscle)}: {m.text}")
            )
    for s in _dermatome_snaps(f, roots, side):
        word = "absent" if s.amplitude_uv == 0 else ("low" if s.low else "normal")
        text = (
            f"{nerve_label(s.nerve)} SNAP {word} "
            f"({s.amplitude_uv:g} µV, LLN {s.lln_uv:g} µV; dermatome {_roots_text(SNAP_DERMATOME[s.nerve])})"
        )
        (opp if s.low else sup).append(Evidence("snap", s.nerve, side, text))
    if "S1" in roots:
        ab = _h_reflex_abnormal(f.h_reflexes, side)
        if ab is not None:
            text = "H-reflex " + ("absent or delayed" if ab else "normal")
            (sup if ab else opp).append(Evidence("h_reflex", "tibial", side, text))
    return tuple(sup), tuple(opp)


def summary_text(loc: Localisation, f: StudyFindings | None = None) -> str:
    """One sentence: "Most likely left L5 (confidence 0.82): 4 abnormal L5 muscles of 3 nerves, ..."."""
    if not loc.localisable or loc.root is None or loc.side is None:
        return f"Not localisable: {loc.reason}."
    named = loc.roots_label or loc.root
    parts = [
        f"{loc.n_abnormal_muscles} abnormal {named} muscle{'s' if loc.n_abnormal_muscles != 1 else ''}"
        f" of {loc.n_nerves} nerve{'s' if loc.n_nerves != 1 else ''}"
    ]
    for e in loc.supporting:
        if e.kind == "paraspinal":
            parts.append(f"{muscle_label(e.name)} fibrillations")
        elif e.kind == "snap":
            parts.append(f"{nerve_label(e.name)} SNAP normal")
        elif e.kind == "h_reflex":
            parts.append("H-reflex abnormal")
        elif e.kind == "spared_muscle":
            parts.append(f"{muscle_label(e.name)} normal")
    for e in loc.opposing:
        if e.kind == "snap":
            parts.append(f"but {nerve_label(e.name)} SNAP low")
    shared = (
        f"; the muscles examined do not separate {loc.roots[0]} from {loc.roots[1]}"
        if len(loc.roots) > 1
        else ""
    )
    if loc.strength == TENTATIVE:
        return (
            f"Possibly {_SIDE_WORD[loc.side]} {named} (tentative, confidence "
            f"{loc.confidence:.2f}; {loc.caveat}{shared}): " + ", ".join(parts)
        )
    return (
        f"Most likely {_SIDE_WORD[loc.side]} {named} (confidence {loc.confidence:.2f}{shared}): "
        + ", ".join(parts)
    )


# --- from validated tables ----------------------------------------------------------------------
def _grade(v: float) -> str:
    return f"{int(v)}+"


def _muscle_texts(
    fibs: np.ndarray,
    psw: np.ndarray,
    large: np.ndarray,
    poly: np.ndarray,
    reduced: np.ndarray,
    recruitment: np.ndarray,
) -> list[str]:
    out = []
    for f, p, lg, po, rd, rc in zip(fibs, psw, large, poly, reduced, recruitment, strict=True):
        parts = [f"{w} {_grade(v)}" for w, v in (("fibs", f), ("PSW", p)) if v >= 1]
        if lg == 1:
            parts.append("large/long MUAPs")
        if po == 1:
            parts.append("polyphasic MUAPs")
        if rd == 1:
            parts.append(f"{rc if isinstance(rc, str) else 'reduced'} recruitment")
        out.append(", ".join(parts) if parts else "normal")
    return out


def _abnormality(
    active: np.ndarray, large: np.ndarray, reduced: np.ndarray, poly: np.ndarray
) -> np.ndarray:
    """Neurogenic abnormality per muscle in [0, 1]; NaN when nothing was assessed."""
    stack = np.stack([active, large, REDUCED_ONLY * reduced, POLY_ONLY * poly])
    known = ~np.isnan(stack).all(axis=0)
    return np.where(known, np.nanmax(np.where(np.isnan(stack), -1.0, stack), axis=0), np.nan)


def findings_from_tables(bundle: Bundle) -> dict[str, StudyFindings]:
    """:class:`StudyFindings` of every study of a validated bundle (harmonised once for all).

    MUAP sizes are read against the age-adjusted limits and SNAPs against each patient's LLN
    (:mod:`features.emg`, :mod:`features.limits`); muscles with nothing assessed and SNAPs without
    a limit are left out (not measured is not normal).
    """
    studies = bundle.studies.reset_index(drop=True)
    ids: list[str] = studies["study_id"].astype(str).tolist()
    index = pd.Index(ids)
    out: dict[str, tuple[list[MuscleFinding], list[SnapFinding], list[HReflexFinding]]] = {
        s: ([], [], []) for s in ids
    }
    emg = bundle.emg.reset_index(drop=True)
    if len(emg):
        pos = index.get_indexer(pd.Index(emg["study_id"].astype(str)))
        mus = muscle_table(emg, pos, studies["age_years"].to_numpy(dtype=float))
        raw = emg.loc[mus.index]

        def col(name: str) -> np.ndarray:
            return mus[name].to_numpy(dtype=float)

        def raw_num(name: str) -> np.ndarray:
            if name not in raw.columns:
                return np.full(len(raw), np.nan)
            return raw[name].to_numpy(dtype=float)

        a = _abnormality(col("active"), col("large"), col("reduced"), col("poly"))
        recruitment = (
            raw["recruitment"].to_numpy(dtype=object)
            if "recruitment" in raw.columns
            else np.full(len(raw), None, dtype=object)
        )
        texts = _muscle_texts(
            np.nan_to_num(raw_num("fibs")),
            np.nan_to_num(raw_num("psw")),
            col("large"),
            col("poly"),
            col("reduced"),
            recruitment,
        )
        for sp, mcode, side, ab, text in zip(
            mus["study"].to_numpy(),
            mus["muscle"].to_numpy(),
            mus["side"].to_numpy(),
            a,
            texts,
            strict=True,
        ):
            if side > 1 or not np.isfinite(ab):
                continue
            out[ids[int(sp)]][0].append(
                MuscleFinding(MUSCLES[int(mcode)], _SIDES[int(side)], float(ab), text)
            )
    ncs = bundle.ncs.reset_index(drop=True)
    if len(ncs):
        sens = ncs[ncs["kind"] == "sensory"]
        if len(sens):
            lim = ncs_limits(sens, studies)
            for sid, nerve, side, amp, lln in zip(
                sens["study_id"].astype(str),
                sens["nerve"],
                sens["side"],
                sens["amplitude"].to_numpy(dtype=float),
                lim["amplitude_lln"].to_numpy(dtype=float),
                strict=True,
            ):
                if sid in out and np.isfinite(amp) and np.isfinite(lln) and side in _SIDES:
                    out[sid][1].append(SnapFinding(str(nerve), str(side), float(amp), float(lln)))
        h = ncs[ncs["kind"] == "h_reflex"]
        for sid, side, amp, lat in zip(
            h["study_id"].astype(str),
            h["side"],
            h["amplitude"].to_numpy(dtype=float),
            h["latency_ms"].to_numpy(dtype=float),
            strict=True,
        ):
            if sid in out and side in _SIDES and np.isfinite(amp):
                out[sid][2].append(HReflexFinding(str(side), float(lat), bool(amp == 0)))
    return {s: StudyFindings(tuple(v[0]), tuple(v[1]), tuple(v[2])) for s, v in out.items()}


#: the predictions that carry a localisation: radiculopathy first or second, or neurogenic
LOCALISED_CLASS = "radiculopathy"


def wants_localisation(diagnosis: str, runner_up: str | None, pattern: str) -> bool:
    """Whether a prediction shows the localisation (radiculopathy top or runner-up, neurogenic)."""
    return LOCALISED_CLASS in (diagnosis, runner_up) or pattern == "neurogenic"


def localise(bundle: Bundle) -> dict[str, Localisation]:
    """:func:`localise_findings` of every study of a validated bundle, by ``study_id``."""
    return {s: localise_findings(f) for s, f in findings_from_tables(bundle).items()}


__all__ = [
    "Evidence",
    "Localisation",
    "MuscleFinding",
    "RootCandidate",
    "SnapFinding",
    "StudyFindings",
    "findings_from_tables",
    "localise",
    "localise_findings",
    "root_set",
    "summary_text",
    "wants_localisation",
]
