"""Logistic-regression baseline: median imputation with missing indicators, scaling, softmax LR.

The indicators let the linear model see "not measured" instead of a silently imputed median;
the same feature columns (coverage excluded) and the same augmented training rows as LightGBM
are used so the comparison is fair. Saved with skops (no pickle).

The solver is SAG, not L-BFGS: L-BFGS's gradients go through BLAS, whose kernel differs by CPU
(OpenBLAS picks Haswell, SkylakeX, Zen, ... at start), so the fitted coefficients, and with them
``data/model`` and ``dvc.lock``, differed in the last bits between two machines (seen: two
fresh runs, 4 of 4,000 test predictions apart). SAG's updates are plain loops of scikit-learn's
own code: the same bits on every machine (checked under ``OPENBLAS_CORETYPE=Haswell`` and
``SkylakeX``). It needs scaled inputs, which the pipeline gives it.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from features.vocab import CLASSES

LOGREG_FILE = "logreg.skops"


def fit_logreg(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    C: float = 0.5,
    max_iter: int = 1000,
    seed: int = 0,
) -> Pipeline:
    """Fit the baseline on integer labels ``y`` (``CLASSES`` order).

    Columns that are NaN in every training row are kept (imputed to 0 after scaling) so the
    pipeline accepts exactly ``X.columns`` at prediction time.
    """
    pipe = Pipeline(
        [
            (
                "impute",
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            ),
            ("scale", StandardScaler()),
            (
                "lr",
                LogisticRegression(C=C, solver="sag", max_iter=max_iter, random_state=seed),
            ),
        ]
    )
    pipe.fit(X, np.asarray(y, dtype=int), lr__sample_weight=sample_weight)
    return pipe


def logreg_proba(model: Pipeline, X: pd.DataFrame) -> np.ndarray:
    """Probabilities (n, 6) in ``CLASSES`` order, whatever classes the fit saw."""
    proba = np.zeros((len(X), len(CLASSES)))
    proba[:, model.classes_.astype(int)] = model.predict_proba(X[list(model.feature_names_in_)])
    return proba


def save_logreg(model: Pipeline, out_dir: Path) -> Path:
    """Write the fitted pipeline to ``out_dir/logreg.skops`` (the same bytes for the same fit)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOGREG_FILE
    path.write_bytes(canonical_skops(sio.dumps(model)))
    return path


#: skops names objects by ``id()`` (a memory address: another number in every process)
_SKOPS_IDS = re.compile(r'"__id__": (\d+)|"(\d+)\.(?:npy|bin)"')
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def canonical_skops(data: bytes) -> bytes:
    """A skops archive rewritten so that equal objects give equal bytes.

    skops 0.16 writes each object's ``id()`` into ``schema.json`` (``__id__``, the memo that
    links shared objects) and into the names of the array files, and stamps every zip entry
    with the current time; the archive of one fitted model therefore differed on every write,
    and with it ``data/model``'s hash in ``dvc.lock``. Here the ids are renumbered 1, 2, ... in
    their order in ``schema.json`` (the same renaming everywhere, so the links hold) and the
    entries are dated 1980-01-01. :func:`load_logreg` reads the result like any skops file.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        schema = src.read("schema.json").decode("utf-8")
        numbers: dict[str, str] = {}
        for match in _SKOPS_IDS.finditer(schema):
            found = match.group(1) or match.group(2)
            numbers.setdefault(found, str(len(numbers) + 1))

        def renamed(name: str) -> str:
            stem, dot, ext = name.partition(".")
            return numbers.get(stem, stem) + dot + ext

        def substitute(match: re.Match[str]) -> str:
            if match.group(1):
                return f'"__id__": {numbers[match.group(1)]}'
            return '"' + renamed(match.group(0).strip('"')) + '"'

        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as dst:
            for info in src.infolist():
                if info.filename == "schema.json":
                    continue
                dst.writestr(zipfile.ZipInfo(renamed(info.filename), _ZIP_EPOCH), src.read(info))
            text = _SKOPS_IDS.sub(substitute, schema)
            dst.writestr(zipfile.ZipInfo("schema.json", _ZIP_EPOCH), text.encode("utf-8"))
    return out.getvalue()


def load_logreg(out_dir: Path) -> Pipeline:
    """Read ``out_dir/logreg.skops`` trusting only the types this module writes."""
    path = out_dir / LOGREG_FILE
    untrusted = sio.get_untrusted_types(file=path)
    allowed = [t for t in untrusted if t.startswith(("sklearn.", "numpy."))]
    unexpected = sorted(set(untrusted) - set(allowed))
    if unexpected:
        raise ValueError(f"{path}: unexpected types {unexpected}; refusing to load")
    return sio.load(path, trusted=allowed)
