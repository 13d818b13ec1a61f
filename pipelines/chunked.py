"""Validate, featurize and predict a large Parquet bundle in chunks of whole studies.

``python -m pipelines.chunked BUNDLE --features-out F.parquet [--model DIR --predictions-out
P.parquet] [--chunk-studies 50000] [--explain] [--report R.json] [--progress]``

Memory is bounded by one chunk (plus the studies table), so a million studies (tens of
millions of NCS/EMG rows) run in a few GB. Invalid studies are left out of the outputs and
counted in the report. Without ``--explain`` the predictions are the calibrated probabilities,
the predicted class, the top1-top2 margin and the low-confidence flag; with it, every study
is explained as in ``emgdx predict`` (slower: one TreeSHAP pass per study).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from bundle.chunks import iter_validated_chunks, plan_chunks
from bundle.load import valid_subset
from features.build import build_features

logger = logging.getLogger(__name__)


class _ParquetAppender:
    """Append frames to one Parquet file (schema from the first frame)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if self.path is None or frame.empty:
            return
        table = pa.Table.from_pandas(frame, preserve_index=True)
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table.cast(self.writer.schema))
        self.rows += len(frame)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def probability_frame(predictor: Any, X: pd.DataFrame) -> pd.DataFrame:
    """Calibrated probabilities, predicted class, margin and low-confidence flag per study."""
    from models.predictor import predict_proba_frame  # noqa: PLC0415 - models only when predicting

    proba = predict_proba_frame(predictor, X)
    values = proba.to_numpy()
    top2 = np.sort(values, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    out = proba.add_prefix("p_")
    out.insert(0, "diagnosis", np.asarray(predictor.classes, dtype=object)[values.argmax(axis=1)])
    out["margin"] = margin
    out["low_confidence"] = margin < predictor.low_confidence_margin
    return out


def run_chunked(
    bundle_dir: Path,
    *,
    features_out: Path | None,
    model_dir: Path | None = None,
    predictions_out: Path | None = None,
    chunk_studies: int = 50_000,
    explain: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Validate, featurize and (optionally) predict ``bundle_dir`` chunk by chunk.

    Returns
    -------
    dict
        Counts (studies, valid studies, NCS/EMG rows, problems by kind) and seconds per step.
    """
    predictor = None
    if model_dir is not None:
        from models.predictor import Predictor  # noqa: PLC0415

        predictor = Predictor.load(model_dir)
    t_start = time.perf_counter()
    plan = plan_chunks(bundle_dir, chunk_studies)
    seconds = {"plan": time.perf_counter() - t_start, "validate": 0.0, "features": 0.0}
    seconds["predict"] = 0.0
    counts = {"studies": 0, "valid_studies": 0, "ncs_rows": 0, "emg_rows": 0, "chunks": 0}
    problems: dict[str, int] = {}
    feats, preds = _ParquetAppender(features_out), _ParquetAppender(predictions_out)
    try:
        chunks = iter_validated_chunks(bundle_dir, chunk_studies, plan)
        bar = tqdm(total=sum(map(len, plan.study_ids)), desc="studies", unit="study")
        bar.disable = not progress
        while True:
            t0 = time.perf_counter()
            item = next(chunks, None)
            seconds["validate"] += time.perf_counter() - t0
            if item is None:
                break
            bundle, report = item
            for p in report.problems:
                problems[p.kind] = problems.get(p.kind, 0) + 1
            valid = valid_subset(bundle, report) if report.invalid_study_ids else bundle
            counts["chunks"] += 1
            counts["studies"] += len(bundle.studies)
            counts["valid_studies"] += len(valid.studies)
            counts["ncs_rows"] += len(bundle.ncs)
            counts["emg_rows"] += len(bundle.emg)
            t0 = time.perf_counter()
            X = build_features(valid)
            seconds["features"] += time.perf_counter() - t0
            feats.write(X)
            if predictor is not None:
                t0 = time.perf_counter()
                if explain:
                    from models.prediction import to_flat_frame  # noqa: PLC0415

                    frame = to_flat_frame(predictor.predict_features(X)).set_index("study_id")
                else:
                    frame = probability_frame(predictor, X)
                seconds["predict"] += time.perf_counter() - t0
                preds.write(frame)
            bar.update(len(bundle.studies))
        bar.close()
    finally:
        feats.close()
        preds.close()
    seconds["total"] = time.perf_counter() - t_start
    logger.info(
        "chunked: %d studies (%d valid) in %d chunks, %.1f s",
        counts["studies"],
        counts["valid_studies"],
        counts["chunks"],
        seconds["total"],
    )
    return {
        **counts,
        "problems_by_kind": problems,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m pipelines.chunked", description=__doc__)
    parser.add_argument("bundle", type=Path, help="bundle folder with *.parquet tables")
    parser.add_argument("--features-out", type=Path, default=None, help="feature table .parquet")
    parser.add_argument("--model", type=Path, default=None, help="model directory to predict with")
    parser.add_argument("--predictions-out", type=Path, default=None, help="predictions .parquet")
    parser.add_argument("--chunk-studies", type=int, default=50_000, help="studies per chunk")
    parser.add_argument("--explain", action="store_true", help="explain every prediction")
    parser.add_argument("--report", type=Path, default=None, help="write counts/timings as JSON")
    parser.add_argument("--progress", action="store_true", help="progress bar on stderr")
    args = parser.parse_args(argv)
    if args.predictions_out is not None and args.model is None:
        parser.error("--predictions-out needs --model")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = run_chunked(
        args.bundle,
        features_out=args.features_out,
        model_dir=args.model,
        predictions_out=args.predictions_out,
        chunk_studies=args.chunk_studies,
        explain=args.explain,
        progress=args.progress,
    )
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
