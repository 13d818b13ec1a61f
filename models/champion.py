"""The champion rule: when a newly registered model version may replace ``@champion``.

Clinicians' ``serve`` and ``predict`` follow ``@champion``, so an experiment must not take it
over by noise: a new version is promoted only when it beats the champion on the deciding
metric by a margin *and* does not fall behind on the held-out lab or the clinical vignettes.
Pure functions; :mod:`pipelines.register` reads the scores and moves the alias.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    """A model version's scores: deciding metric, held-out-lab metric, vignettes passed."""

    metric: float
    heldout: float | None = None
    vignettes_passed: int | None = None


@dataclass(frozen=True)
class Rule:
    """Margins of the champion rule (``params.yaml: register``)."""

    min_gain: float = 0.005
    max_heldout_drop: float = 0.005
    max_vignette_drop: int = 0


@dataclass(frozen=True)
class Decision:
    """Whether to promote, and why (one sentence per criterion checked)."""

    promote: bool
    reasons: tuple[str, ...]


def decide(candidate: Scores, champion: Scores | None, rule: Rule) -> Decision:
    """Promote ``candidate`` over ``champion`` only if it wins by the rule's margins.

    Without a champion the candidate is promoted. A criterion whose score either side lacks
    is not checked, and the reasons say so.
    """
    if champion is None:
        return Decision(True, ("no current champion",))
    reasons: list[str] = []
    ok = True
    gain = candidate.metric - champion.metric
    if gain >= rule.min_gain:
        reasons.append(f"metric +{gain:.4f} (needs ≥ +{rule.min_gain:.4f})")
    else:
        ok = False
        reasons.append(f"metric {gain:+.4f}: below the margin of +{rule.min_gain:.4f}")
    if candidate.heldout is None or champion.heldout is None:
        reasons.append("held-out lab not compared (a score is missing)")
    else:
        drop = champion.heldout - candidate.heldout
        if drop > rule.max_heldout_drop:
            ok = False
            reasons.append(
                f"held-out lab {-drop:+.4f}: worse than the tolerance of "
                f"-{rule.max_heldout_drop:.4f}"
            )
        else:
            reasons.append(f"held-out lab {-drop:+.4f} (tolerance -{rule.max_heldout_drop:.4f})")
    if candidate.vignettes_passed is None or champion.vignettes_passed is None:
        reasons.append("clinical vignettes not compared (a count is missing)")
    else:
        lost = champion.vignettes_passed - candidate.vignettes_passed
        if lost > rule.max_vignette_drop:
            ok = False
            reasons.append(
                f"clinical vignettes {candidate.vignettes_passed} vs "
                f"{champion.vignettes_passed}: more than {rule.max_vignette_drop} lost"
            )
        else:
            reasons.append(
                f"clinical vignettes {candidate.vignettes_passed} vs {champion.vignettes_passed}"
            )
    return Decision(ok, tuple(reasons))
