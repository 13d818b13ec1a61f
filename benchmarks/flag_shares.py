"""Share of studies carrying each flag, under the old page policy and the decision-only policy.

Simulates a cohort (default 2,000 studies), predicts it with a saved model and counts, per
study, the flags the study list showed before issue 11 (every low-confidence reason, unlike
the training data, any guideline disagreement) and those :func:`app.views.decision_flags`
shows now (only what changes a decision). Prints a JSON document of shares.

``python -m benchmarks.flag_shares --model data/model [--n 2000] [--seed 11]``
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Any

logger = logging.getLogger("flag_shares")


def flag_shares(predictions: list[Any]) -> dict[str, Any]:
    """Shares (0-1) of studies with each flag before and after, from :class:`StudyPrediction` s."""
    from app.views import decision_flag_kinds

    n = max(len(predictions), 1)
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    any_before = any_after = 0
    for p in predictions:
        old = {
            "low_confidence": p.low_confidence,
            "unlike_training_data": p.unlike_training_data,
            "disagrees": (p.guideline or {}).get("agrees") is False,
        }
        before.update(k for k, v in old.items() if v)
        any_before += any(old.values())
        new = set(decision_flag_kinds(p))
        after.update(new)
        any_after += bool(new)
        codes.update({str(r.code) for r in p.flag_reasons})
    keys = ("low_confidence", "unlike_training_data", "disagrees")
    return {
        "n_studies": len(predictions),
        "before": {**{k: before[k] / n for k in keys}, "any": any_before / n},
        "after": {**{k: after[k] / n for k in keys}, "any": any_after / n},
        "reason_codes": {k: v / n for k, v in sorted(codes.items())},
    }


def main(argv: list[str] | None = None) -> int:
    """Simulate, predict, print the shares."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="saved model folder")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    from models.predictor import Predictor
    from simulator.cohort import simulate_cohort

    bundle = simulate_cohort(args.n, args.seed)
    predictions = Predictor.load(args.model).predict_bundle(bundle, top_k=3)
    doc = flag_shares(predictions)
    text = json.dumps(doc, indent=2)
    sys.stdout.write(text + "\n")
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
