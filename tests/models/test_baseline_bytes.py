"""The saved logistic baseline is the same bytes for the same fit, whichever process writes it.

``data/model`` is a DVC output: if its bytes depended on the process (skops names objects by
``id()``, zip entries carry the clock), ``dvc.lock`` would change on every fresh ``make run``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from models.baselines import canonical_skops, load_logreg

ROOT = Path(__file__).resolve().parents[2]

FIT_AND_SAVE = """
import sys
from pathlib import Path
import numpy as np, pandas as pd
from models.baselines import fit_logreg, save_logreg
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(300, 6)), columns=[f"f{i}" for i in range(6)])
X.iloc[::5, 2] = np.nan
y = rng.integers(0, 6, 300)
save_logreg(fit_logreg(X, y, max_iter=200), Path(sys.argv[1]))
"""


def _write(out: Path) -> bytes:
    subprocess.run([sys.executable, "-c", FIT_AND_SAVE, str(out)], check=True, cwd=ROOT)
    return (out / "logreg.skops").read_bytes()


def test_two_processes_write_the_same_baseline_bytes(tmp_path):
    first, second = _write(tmp_path / "a"), _write(tmp_path / "b")
    assert first == second
    # and the file is still a skops archive that loads and predicts
    model = load_logreg(tmp_path / "a")
    X = np.zeros((2, 6))
    import pandas as pd

    proba = model.predict_proba(pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_canonical_skops_is_idempotent_and_drops_process_ids(tmp_path):
    data = _write(tmp_path / "a")
    assert canonical_skops(data) == data
    import io
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert all(len(n.split(".")[0]) <= 3 for n in names if n != "schema.json")
