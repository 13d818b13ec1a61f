"""Clinical vignettes as unit tests: expectations, their bounds, and how a prediction meets them.

``clinical/`` holds textbook vignettes (a contract bundle), the interpretation an experienced
electromyographer would give (``expectations.csv``) and metamorphic relations
(``invariants.md``); see ``clinical/README.md``. This module reads the expectations and grades
one :class:`~models.prediction.StudyPrediction` against one :class:`Expectation`:

* ``expected`` — one or more of the six classes (the top class must be one of them), and/or
  ``insufficient`` (the study must be flagged and a flag reason must name what is missing) or
  ``out_of_scope`` (the study must be flagged, or the guideline check must name a mimic);
* ``bounds`` — ``p_<class><=v`` / ``p_<class>>=v``, every one must hold.

The vignettes are a yardstick, not a training set: nothing in the product reads them except
the tests and the ``clinical`` report stage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bundle.tables import Bundle
from features.vocab import CLASSES
from models.prediction import StudyPrediction

#: the project's copy of the clinical yardstick (tests must not need ../shared)
CLINICAL_DIR = Path(__file__).resolve().parents[1] / "clinical"
INSUFFICIENT = "insufficient"
OUT_OF_SCOPE = "out_of_scope"
_SPECIAL = (INSUFFICIENT, OUT_OF_SCOPE)
_BOUND = re.compile(r"^p_([a-z_]+)(<=|>=)([0-9.]+)$")
#: words of a flag reason that name a missing part of the study (insufficient evidence)
MISSING_WORDS: tuple[str, ...] = (
    "region",
    "needle",
    "nerve conduction",
    "ncs",
    "muscle",
    "not examined",
    "not done",
)


@dataclass(frozen=True)
class Bound:
    """``p_<cls> <= value`` (``op`` ``"<="``) or ``>=``."""

    cls: str
    op: str
    value: float

    def holds(self, p: float) -> bool:
        """True when probability ``p`` of ``cls`` satisfies the bound."""
        return p <= self.value if self.op == "<=" else p >= self.value

    def __str__(self) -> str:
        return f"p_{self.cls}{self.op}{self.value:g}"


@dataclass(frozen=True)
class Expectation:
    """One row of ``expectations.csv``."""

    study_id: str
    expected: tuple[str, ...]
    bounds: tuple[Bound, ...]
    say: str

    @property
    def classes(self) -> tuple[str, ...]:
        """The six-class answers accepted as top class."""
        return tuple(e for e in self.expected if e in CLASSES)


@dataclass(frozen=True)
class VignetteResult:
    """How one prediction met one expectation."""

    study_id: str
    expected: str
    diagnosis: str
    passed: bool
    failures: tuple[str, ...] = field(default_factory=tuple)


def parse_bounds(text: str, *, where: str = "bounds") -> tuple[Bound, ...]:
    """Parse ``p_als<=0.1;p_normal>=0.5`` (empty text: no bounds)."""
    out = []
    for part in (p.strip() for p in str(text or "").split(";")):
        if not part:
            continue
        m = _BOUND.match(part)
        if m is None or m.group(1) not in CLASSES:
            raise ValueError(
                f"{where}: cannot read bound {part!r}; expected p_<class><=v or p_<class>>=v "
                f"with <class> one of {', '.join(CLASSES)}"
            )
        out.append(Bound(m.group(1), m.group(2), float(m.group(3))))
    return tuple(out)


def load_expectations(path: str | Path) -> dict[str, Expectation]:
    """``expectations.csv`` as :class:`Expectation` objects by ``study_id``."""
    path = Path(path)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    out: dict[str, Expectation] = {}
    for i, row in table.iterrows():
        where = f"{path.name} row {int(str(i)) + 2}"
        expected = tuple(e for e in row["expected"].split("|") if e)
        unknown = [e for e in expected if e not in CLASSES and e not in _SPECIAL]
        if unknown or not expected:
            raise ValueError(
                f"{where}, column expected: {row['expected']!r}; expected one or more of "
                f"{', '.join((*CLASSES, *_SPECIAL))} joined by |"
            )
        out[row["study_id"]] = Expectation(
            study_id=row["study_id"],
            expected=expected,
            bounds=parse_bounds(row["bounds"], where=f"{where}, column bounds"),
            say=row["say"],
        )
    return out


def load_vignettes(folder: str | Path) -> Bundle:
    """The vignette bundle, validated and normalised; an invalid vignette is an error."""
    from bundle.load import load_bundle

    bundle, report = load_bundle(folder)
    if not report.ok:
        raise ValueError(f"{folder}: the vignette bundle does not validate: {report.problems[:3]}")
    return bundle


def names_missing(reasons: Iterable[str]) -> bool:
    """True when a flag reason names what is missing (a region, the needle study, the NCS)."""
    text = " ".join(reasons).lower()
    return any(w in text for w in MISSING_WORDS)


def grade(prediction: StudyPrediction, expectation: Expectation) -> VignetteResult:
    """Grade one prediction against its expectation (see the module docstring)."""
    failures: list[str] = []
    flagged = prediction.low_confidence or prediction.unlike_training_data
    ok_answer = False
    if prediction.diagnosis in expectation.classes:
        ok_answer = True
    if OUT_OF_SCOPE in expectation.expected and (
        flagged or bool(prediction.guideline.get("mimics"))
    ):
        ok_answer = True
    if INSUFFICIENT in expectation.expected:
        if flagged and names_missing(r.text for r in prediction.flag_reasons):
            ok_answer = True
        else:
            failures.append("not flagged as insufficient evidence naming what is missing")
    if not ok_answer and not failures:
        failures.append(
            f"top class {prediction.diagnosis} (expected {'|'.join(expectation.expected)})"
            + ("" if OUT_OF_SCOPE not in expectation.expected else ", not flagged, no mimic named")
        )
    for b in expectation.bounds:
        p = float(prediction.probabilities.get(b.cls, float("nan")))
        if not b.holds(p):
            failures.append(f"{b} violated (p_{b.cls}={p:.3f})")
    return VignetteResult(
        study_id=prediction.study_id,
        expected="|".join(expectation.expected),
        diagnosis=prediction.diagnosis,
        passed=not failures,
        failures=tuple(failures),
    )


def grade_all(
    predictions: Sequence[StudyPrediction], expectations: dict[str, Expectation]
) -> list[VignetteResult]:
    """Grade every prediction that has an expectation (in prediction order)."""
    return [grade(p, expectations[p.study_id]) for p in predictions if p.study_id in expectations]


def pass_rate(results: Sequence[VignetteResult]) -> float:
    """Share of vignettes that meet their expectation (NaN for none)."""
    return sum(r.passed for r in results) / len(results) if results else float("nan")


def results_frame(results: Sequence[VignetteResult]) -> pd.DataFrame:
    """One row per vignette: study_id, expected, diagnosis, passed, failures (joined)."""
    return pd.DataFrame(
        [
            {
                "study_id": r.study_id,
                "expected": r.expected,
                "diagnosis": r.diagnosis,
                "passed": r.passed,
                "failures": "; ".join(r.failures),
            }
            for r in results
        ]
    )
