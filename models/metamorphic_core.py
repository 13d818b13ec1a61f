"""Shared types and batching of the metamorphic relations: results, violations, variant bundles.

Variants are evaluated in batches: every transformed study is renamed
``<study_id>~<relation>~<variant>`` (in memory only; ``~`` is not allowed in a contract
study_id), all variants are concatenated into one bundle and predicted once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from bundle.tables import Bundle
from features.vocab import CLASSES
from models.prediction import StudyPrediction

#: tolerance of every monotone relation (invariants.md conventions)
EPSILON = 0.02
#: tolerance of the exact relations
EXACT = 1e-6
SEP = "~"

ProbaFn = Callable[[Bundle], pd.DataFrame]
PredictFn = Callable[[Bundle], list[StudyPrediction]]
#: seed of the random choices (one change per simulated study, permutations)
DEFAULT_SEED = 20240611


@runtime_checkable
class PredictorLike(Protocol):
    """What the relations need of a model (``models.predictor.Predictor`` has it)."""

    def feature_frame(self, bundle: Bundle) -> pd.DataFrame: ...

    def predict_bundle(self, bundle: Bundle, *, top_k: int = ...) -> list[StudyPrediction]: ...


#: what a probability-only relation accepts
Model = PredictorLike | ProbaFn


@dataclass(frozen=True)
class Violation:
    """One failed assertion of a relation.

    Attributes
    ----------
    study_id : str
        The original study.
    variant : str
        The transform, e.g. ``"S_B(0.8)"`` or ``"snap_x0.5[sural R]"``.
    before, after : dict of str to float
        ``p_<class>`` of the two predictions compared (empty when not applicable, e.g. MR11).
    detail : str
        The assertion that failed, in words (no patient values beyond the study_id).
    """

    study_id: str
    variant: str
    before: Mapping[str, float] = field(default_factory=dict)
    after: Mapping[str, float] = field(default_factory=dict)
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.study_id} {self.variant}: {self.detail}"


@dataclass(frozen=True)
class RelationResult:
    """Outcome of one relation: ``n_checked`` assertions, of which ``violations`` failed."""

    name: str
    n_checked: int
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        """True when no assertion failed."""
        return not self.violations

    def summary(self, max_listed: int = 5) -> str:
        """One line of counts plus the first ``max_listed`` violations."""
        lines = [f"{self.name}: {len(self.violations)} violations in {self.n_checked} checks"]
        lines += [f"  {v}" for v in self.violations[:max_listed]]
        if len(self.violations) > max_listed:
            lines.append(f"  ... and {len(self.violations) - max_listed} more")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# model adapters
# --------------------------------------------------------------------------------------------
def proba_fn(model: PredictorLike | ProbaFn) -> ProbaFn:
    """Probabilities of every study of a bundle (index ``study_id``, columns the six classes)."""
    if isinstance(model, PredictorLike):
        from models.predictor import predict_proba_frame

        def fn(bundle: Bundle) -> pd.DataFrame:
            if len(bundle.studies) == 0:
                return pd.DataFrame(columns=list(CLASSES), dtype=float)
            return predict_proba_frame(model, model.feature_frame(bundle))  # type: ignore[arg-type]

        return fn
    return model


def predict_fn(model: PredictorLike | PredictFn) -> PredictFn:
    """Full predictions (flags, explanation) of every study of a bundle."""
    if isinstance(model, PredictorLike):
        return model.predict_bundle
    return model


# --------------------------------------------------------------------------------------------
# variant bundles
# --------------------------------------------------------------------------------------------
def variant_id(study_id: str, relation: str, variant: str) -> str:
    """In-memory id of one variant of one study."""
    return SEP.join((study_id, relation, variant))


def tag(bundle: Bundle, relation: str, variant: str | Mapping[str, str]) -> Bundle:
    """Rename every study to its variant id (``variant``: one name, or study_id -> name)."""

    def rename(s: pd.Series) -> pd.Series:
        if isinstance(variant, str):
            return s.astype(str) + f"{SEP}{relation}{SEP}{variant}"
        return s.map(lambda x: variant_id(x, relation, variant[x]))

    return Bundle(
        studies=bundle.studies.assign(study_id=rename(bundle.studies["study_id"])),
        ncs=bundle.ncs.assign(study_id=rename(bundle.ncs["study_id"])),
        emg=bundle.emg.assign(study_id=rename(bundle.emg["study_id"])),
    )


def concat(bundles: Iterable[Bundle]) -> Bundle:
    """One bundle of several (ids must be distinct)."""
    parts = list(bundles)
    if not parts:
        raise ValueError("concat needs at least one bundle")
    return Bundle(
        studies=pd.concat([b.studies for b in parts], ignore_index=True),
        ncs=pd.concat([b.ncs for b in parts], ignore_index=True),
        emg=pd.concat([b.emg for b in parts], ignore_index=True),
    )


def apply_per_target(
    bundle: Bundle,
    targets: pd.DataFrame,
    relation: str,
    apply: Callable[[Bundle, pd.DataFrame], Bundle],
) -> list[Bundle]:
    """Variant bundles of single-test changes: one variant per row of ``targets``.

    ``targets`` has ``study_id``, ``variant`` and the locating columns ``apply`` reads. Rows
    are taken in rounds (the k-th target of every study together), so ``apply`` runs once per
    round on all studies at once.
    """
    if len(targets) == 0:
        return []
    pairs = targets[["study_id", "variant"]].drop_duplicates()
    rank = pairs.assign(_round=pairs.groupby("study_id", sort=False).cumcount())
    targets = targets.merge(rank, on=["study_id", "variant"], how="left")
    out = []
    for _, part in targets.groupby("_round", sort=True):
        sub = bundle.subset(set(part["study_id"]))
        changed = apply(sub, part.drop(columns="_round"))
        names = dict(zip(part["study_id"], part["variant"], strict=True))
        out.append(tag(changed, relation, names))
    return out


def one_per_study(targets: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Keep one randomly chosen variant (all its rows) per study (seeded)."""
    if len(targets) == 0:
        return targets
    pairs = targets[["study_id", "variant"]].drop_duplicates().reset_index(drop=True)
    rng = np.random.default_rng(seed)
    chosen = pairs.iloc[rng.permutation(len(pairs))].drop_duplicates("study_id")
    return targets.merge(chosen, on=["study_id", "variant"], how="inner")


def probabilities(proba: ProbaFn, bundles: Sequence[Bundle]) -> dict[str, dict[str, float]]:
    """Predict the concatenation of ``bundles`` once: study_id -> {class: p}."""
    parts = [b for b in bundles if len(b.studies)]
    if not parts:
        return {}
    frame = proba(concat(parts))
    return {str(k): {c: float(v) for c, v in row.items()} for k, row in frame.iterrows()}


# --------------------------------------------------------------------------------------------
# assertions
# --------------------------------------------------------------------------------------------
def p_of(cls: str) -> Callable[[Mapping[str, float]], float]:
    """Quantity ``p_<cls>``."""
    return lambda p: float(p[cls])


def neuropathy_mass(p: Mapping[str, float]) -> float:
    """``N = p_axonal_pn + p_demyelinating_pn``."""
    return float(p["axonal_pn"] + p["demyelinating_pn"])


def max_p(p: Mapping[str, float]) -> float:
    """``max_c p_c``."""
    return float(max(p.values()))


def top_class(p: Mapping[str, float]) -> str:
    """The class of highest probability (first in class order on ties)."""
    return max(CLASSES, key=lambda c: p[c])


@dataclass
class Checker:
    """Collects assertions of one relation (mutable while checking; frozen result at the end)."""

    name: str
    n_checked: int = 0
    violations: list[Violation] = field(default_factory=list)

    def at_least(
        self,
        study_id: str,
        variant: str,
        before: Mapping[str, float],
        after: Mapping[str, float],
        quantity: Callable[[Mapping[str, float]], float],
        label: str,
        tol: float = EPSILON,
    ) -> None:
        """Assert ``quantity(after) >= quantity(before) - tol``."""
        self._check(
            study_id,
            variant,
            before,
            after,
            quantity(after) - quantity(before),
            -tol,
            label,
            "fell",
        )

    def at_most(
        self,
        study_id: str,
        variant: str,
        before: Mapping[str, float],
        after: Mapping[str, float],
        quantity: Callable[[Mapping[str, float]], float],
        label: str,
        tol: float = EPSILON,
    ) -> None:
        """Assert ``quantity(after) <= quantity(before) + tol``."""
        self._check(
            study_id,
            variant,
            before,
            after,
            quantity(before) - quantity(after),
            -tol,
            label,
            "rose",
        )

    def _check(
        self,
        study_id: str,
        variant: str,
        before: Mapping[str, float],
        after: Mapping[str, float],
        margin: float,
        floor: float,
        label: str,
        verb: str,
    ) -> None:
        self.n_checked += 1
        if margin < floor:
            self.fail(study_id, variant, f"{label} {verb} by {abs(margin):.3f}", before, after)

    def holds(
        self,
        ok: bool,
        study_id: str,
        variant: str,
        detail: str,
        before: Mapping[str, float] | None = None,
        after: Mapping[str, float] | None = None,
    ) -> None:
        """Assert a condition stated in words (``detail`` says what failed)."""
        self.n_checked += 1
        if not ok:
            self.fail(study_id, variant, detail, before or {}, after or {})

    def fail(
        self,
        study_id: str,
        variant: str,
        detail: str,
        before: Mapping[str, float],
        after: Mapping[str, float],
    ) -> None:
        """Record one violation."""
        self.violations.append(Violation(study_id, variant, dict(before), dict(after), detail))

    def result(self) -> RelationResult:
        """The frozen result."""
        return RelationResult(self.name, self.n_checked, tuple(self.violations))


def present(study_ids: Sequence[str] | None, bundle: Bundle) -> list[str]:
    """The requested study ids that are in the bundle, in the given order (None: all)."""
    have = set(bundle.study_ids)
    if study_ids is None:
        return bundle.study_ids
    return [s for s in study_ids if s in have]


def describe(*parts: Any) -> str:
    """A variant name from its parts: ``name[part part]``."""
    head, *rest = parts
    return f"{head}[{' '.join(str(p) for p in rest)}]" if rest else str(head)
