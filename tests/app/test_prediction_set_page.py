"""The study page shows the conformal prediction set when it is not one class (printable)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.main import _templates
from features.vocab import CLASS_LABELS, CLASSES
from models.prediction import StudyPrediction


def _pred(prediction_set: list[str], coverage: float | None = 0.9) -> StudyPrediction:
    return StudyPrediction(
        study_id="S1",
        diagnosis="radiculopathy",
        probabilities=dict.fromkeys(CLASSES, 0.0) | {"radiculopathy": 0.55, "als": 0.45},
        pattern="neurogenic",
        pattern_probability=1.0,
        explanation=[],
        model_name="emgdx",
        model_version="test",
        low_confidence=False,
        unlike_training_data=False,
        prediction_set=prediction_set,
        prediction_set_coverage=coverage,
    )


def _render(pred: StudyPrediction) -> str:
    template = _templates().env.get_template("_prediction_set.html")
    return " ".join(template.render(pred=pred, class_labels=CLASS_LABELS).split())


def test_a_set_of_two_reads_as_one_or_the_other_with_its_sentence():
    html = _render(_pred(["radiculopathy", "als"]))
    assert "Prediction set (90 %):</strong>" in html
    assert "Radiculopathy or ALS / motor neuron disease</span>" in html
    assert "at least 90 % of those with each diagnosis" in html
    assert "title=" not in html  # no tooltip: the explanation prints


def test_three_classes_are_listed_with_commas_then_or():
    html = _render(_pred(["radiculopathy", "als", "axonal_pn"], coverage=0.8))
    assert "Prediction set (80 %):" in html
    assert "Radiculopathy, ALS / motor neuron disease or Axonal polyneuropathy" in html


@pytest.mark.parametrize(
    "pred", [_pred(["radiculopathy"]), _pred([], coverage=None)], ids=["one class", "no sets"]
)
def test_one_class_or_a_model_without_sets_shows_nothing(pred):
    assert "prediction-set" not in _render(pred)


def test_an_empty_set_says_no_class_fits():
    html = _render(_pred([]))
    assert "Prediction set (90 %): none of the six diagnoses." in html


def test_the_study_page_shows_the_set_of_its_prediction(client: Any) -> None:
    links = re.findall(r'class="study-link" href="([^"]+)"', client.get("/").text)
    shown = 0
    for url in links:
        html = " ".join(client.get(url).text.split())
        m = re.search(r'<span id="prediction-set-classes">([^<]+)</span>', html)
        if m is None:
            continue
        shown += 1
        names = re.split(r", | or ", m.group(1))
        assert len(names) > 1
        # the headline diagnosis leads the set when it is in it (probability order)
        dx = re.search(r'<span id="diagnosis">([^<]+)</span>', html).group(1)
        assert dx not in names or names[0] == dx
    assert shown > 0


def test_the_page_partial_is_included_from_the_study_page():
    from pathlib import Path

    import app

    study = (
        Path(app.__file__).parent / "templates" / "_model.html"
    ).read_text()  # the study page and report include it
    assert '{% include "_prediction_set.html" %}' in study
