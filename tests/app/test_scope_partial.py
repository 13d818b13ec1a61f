"""The scope partial (app/templates/_scope.html): headline, reason and focal findings."""

from __future__ import annotations

from app.main import _templates
from features.focal import FocalFinding, FocalValue
from models.scope import ScopeAssessment


class _Pred:
    def __init__(self, scope, focal, headline) -> None:
        self.scope, self.focal_findings, self.headline = scope, focal, headline


def _render(pred: _Pred) -> str:
    return _templates().env.get_template("_scope.html").render(pred=pred)


def test_outside_study_shows_the_headline_and_reason() -> None:
    scope = ScopeAssessment(
        "outside", 0.97, "kennedy", "Outside the six classes (97 %): most like X."
    )
    html = _render(_Pred(scope, [], "Outside the six classes — most like Kennedy disease (SBMA)"))
    assert 'id="headline"' in html
    assert "most like Kennedy disease" in html
    assert "for\n    reference only" in html or "reference only" in html


def test_focal_finding_lists_values_against_limits() -> None:
    f = FocalFinding(
        "median_wrist", "R", "moderate",
        (FocalValue("median distal motor latency", 5.8, 4.4, "ms", True),), "Atroshi 2003",
    )  # fmt: skip
    html = _render(_Pred(ScopeAssessment("in_scope", 0.0, None, ""), [f], "Focal neuropathy: x"))
    assert "right median neuropathy at the wrist (carpal tunnel), moderate" in html
    assert "median distal motor latency 5.8 ms (limit 4.4 ms)" in html
    assert 'class="abn"' in html


def test_in_scope_study_without_focal_findings_shows_nothing() -> None:
    html = _render(_Pred(ScopeAssessment("in_scope", 0.1, None, ""), [], "Normal study"))
    assert html.strip() == ""
