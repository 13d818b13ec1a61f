"""The canonical validated bundle: written once by ``emgdx validate``, read cheaply after.

:func:`write_validated` writes the valid studies as Parquet with canonical dtypes and a marker
(the spec version) in each file's metadata. :func:`read_validated` reads them back and checks
only columns and dtypes (:func:`bundle.schema.canonical_schema`): the later stages of the
pipeline (features, split, train, evaluate) never validate the same bundle again.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bundle.schema import canonical_schema
from bundle.spec import SPEC_VERSION, TABLE_NAMES
from bundle.tables import Bundle
from bundle.writers import file_frame

logger = logging.getLogger(__name__)

#: Parquet metadata key of a validated bundle (value: the spec version)
MARKER = b"emgdx.validated_spec"


class StaleBundleError(ValueError):
    """A validated bundle whose marker or schema does not match this version of the contract."""


def write_validated(bundle: Bundle, out_dir: str | Path) -> Path:
    """Write ``bundle`` (already validated: its valid studies only) as the canonical bundle."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from bundle.tables import TABLES

    for name in TABLE_NAMES:
        frame = file_frame(getattr(bundle, name), TABLES[name], booleans_as_text=False)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[MARKER] = SPEC_VERSION.encode()
        pq.write_table(table.replace_schema_metadata(meta), out / f"{name}.parquet")
    return out


def is_validated(path: str | Path) -> bool:
    """True when ``path`` is a folder written by :func:`write_validated`."""
    p = Path(path)
    if not p.is_dir():
        return False
    for name in TABLE_NAMES:
        f = p / f"{name}.parquet"
        if not f.is_file():
            return False
        try:
            meta = pq.read_schema(f).metadata or {}
        except (OSError, pa.ArrowInvalid):
            return False
        if MARKER not in meta:
            return False
    return True


def read_validated(path: str | Path) -> Bundle:
    """Read a validated bundle back; check its marker, columns and dtypes (no re-validation).

    Raises
    ------
    StaleBundleError
        If it was written for another spec version or its columns or dtypes differ.
    """
    import pandera.errors as pa_errors

    p = Path(path)
    frames: dict[str, pd.DataFrame] = {}
    for name in TABLE_NAMES:
        f = p / f"{name}.parquet"
        table = pq.read_table(f)
        version = (table.schema.metadata or {}).get(MARKER, b"").decode()
        if version != SPEC_VERSION:
            raise StaleBundleError(
                f"{f}: validated for contract spec {version or '?'}, this code reads spec "
                f"{SPEC_VERSION}; run 'emgdx validate' again"
            )
        frame = table.to_pandas()
        try:
            canonical_schema(name).validate(frame)
        except pa_errors.SchemaError as exc:
            raise StaleBundleError(f"{f}: not a canonical validated table ({exc})") from None
        for c in frame.columns:  # text as in memory after validation: object, NaN for empty
            if not pd.api.types.is_float_dtype(frame[c].dtype):
                frame[c] = frame[c].astype(object).where(frame[c].notna(), np.nan)
        frames[name] = frame
    bundle = Bundle(**frames)
    logger.info(
        "read the validated bundle %s: %d studies (not validated again)", p, len(bundle.studies)
    )
    return bundle
