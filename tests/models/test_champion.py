"""The champion rule: a margin on the deciding metric, no loss on the held-out lab or vignettes."""

from __future__ import annotations

from models.champion import Rule, Scores, decide

RULE = Rule(min_gain=0.005, max_heldout_drop=0.005, max_vignette_drop=0)
CHAMP = Scores(metric=0.8570, heldout=0.8111, vignettes_passed=45)


def test_first_version_becomes_champion():
    assert decide(Scores(0.5), None, RULE).promote


def test_a_gain_inside_the_margin_does_not_promote():
    # the case: num_leaves=63 won validation by 0.0001 and lost test and held-out lab
    d = decide(Scores(0.8571, 0.8089, 45), CHAMP, RULE)
    assert not d.promote
    assert any("below the margin" in r for r in d.reasons)
    assert any(r.startswith("held-out lab -0.0022") for r in d.reasons)


def test_a_clear_gain_promotes_unless_held_out_lab_or_vignettes_regress():
    assert decide(Scores(0.8700, 0.8100, 45), CHAMP, RULE).promote
    held_out = decide(Scores(0.8700, 0.8000, 45), CHAMP, RULE)
    assert not held_out.promote
    vignettes = decide(Scores(0.8700, 0.8150, 44), CHAMP, RULE)
    assert not vignettes.promote
    assert any("vignettes 44 vs 45" in r for r in vignettes.reasons)


def test_missing_scores_are_not_compared_and_said():
    d = decide(Scores(0.8700), CHAMP, RULE)
    assert d.promote
    assert any("not compared" in r for r in d.reasons)
