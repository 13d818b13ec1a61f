"""Reference knowledge as versioned package data (every row cites a ``source_id``, see SOURCES.md).

Tables are read once and handed out as copies, so callers can never mutate the shared table.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd


@cache
def _read(name: str) -> pd.DataFrame:
    with resources.files(__package__).joinpath(name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, keep_default_na=False, na_values=[""])


def load_table(name: str) -> pd.DataFrame:
    """Return a copy of the reference table ``name`` (file name inside this package)."""
    return _read(name).copy()


def load_muscles() -> pd.DataFrame:
    """Muscle table indexed by canonical muscle name.

    Columns: ``nerve``, ``roots`` and ``main_roots`` (tuples of root levels such as ``("C5", "C6")``),
    ``region`` (bulbar/cervical/thoracic/lumbosacral), ``limb`` (head/axial/upper/lower),
    ``position`` (bulbar/axial/proximal/distal), ``source_id``.
    """
    table = load_table("muscles.csv").set_index("muscle")
    for col in ("roots", "main_roots"):
        table[col] = table[col].fillna("").map(lambda s: tuple(r for r in s.split(";") if r))
    return table
