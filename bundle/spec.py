"""The column-spec table of the study-bundle contract (``shared/spec/data-contract.md``).

One :class:`ColumnSpec` per column: table, type, unit, vocabulary, range, whether the column
and its value are required, and the magnitude above which a value is not physiological at all.
Validation (:mod:`bundle.validate`), the canonical dtypes (:mod:`bundle.tables`), the pandera
schemas (:mod:`bundle.schema`) and the writers are all driven by this table; nothing else
special-cases a column by name except the cross-column rules of :mod:`bundle.rules`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bundle import vocab

#: bumped when the canonical form of a validated bundle changes (written into its Parquet files)
SPEC_VERSION = "1"

Dtype = Literal["id", "text", "token", "number", "grade", "category", "boolean"]

#: canonical in-memory dtype of each kind of column
CANONICAL_DTYPE: dict[str, str] = {
    "id": "object",
    "text": "object",
    "token": "object",
    "category": "object",
    "number": "float64",
    "grade": "float64",
    "boolean": "float64",  # 1.0 true, 0.0 false, NaN not recorded
}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the contract.

    Attributes
    ----------
    table : str
        ``studies``, ``ncs`` or ``emg``.
    name : str
        Column name (lower-case snake_case).
    dtype : str
        ``id`` (1–64 of ``A-Za-z0-9._-``), ``text`` (free text, trimmed), ``token`` (free text
        normalised to snake_case), ``number`` (float; empty = not measured), ``grade`` (whole
        number), ``category`` (one of ``vocabulary`` or a synonym) or ``boolean``.
    unit : str or None
        Unit of a number (``"ms"``, ``"mV or µV"``...).
    expected : str
        What a value must look like, as said in problems.
    vocabulary, synonyms
        Allowed canonical values and accepted synonyms (``category`` columns).
    lo, hi : float or None
        Contract range (inclusive).
    impossible_above : float or None
        Magnitude above which the value cannot be physiological (an error naming the cause).
    required : bool
        The column must be present and every value given.
    default : str or None
        Value an empty cell stands for (``sex`` is ``U``).
    """

    table: str
    name: str
    dtype: Dtype
    expected: str
    unit: str | None = None
    vocabulary: tuple[str, ...] = ()
    synonyms: Mapping[str, str] = field(default_factory=dict)
    lo: float | None = None
    hi: float | None = None
    impossible_above: float | None = None
    required: bool = False
    default: str | None = None

    @property
    def canonical_dtype(self) -> str:
        """``float64`` for numbers, grades and booleans, ``object`` for text."""
        return CANONICAL_DTYPE[self.dtype]

    @property
    def is_numeric(self) -> bool:
        """True for ``number`` and ``grade`` columns (parsed from text to float)."""
        return self.dtype in ("number", "grade")


def _category(
    table: str,
    name: str,
    allowed: tuple[str, ...],
    syn: Mapping[str, str] | None = None,
    **kw: object,
) -> ColumnSpec:  # noqa: E501
    syn = dict(syn or {})
    if len(allowed) > 12:
        text = f"a canonical {name} name or synonym (see data contract; e.g. {', '.join(allowed[:4])}, ...)"  # noqa: E501
    else:
        text = f"one of {', '.join(allowed)}"
        if syn:
            text += f" (or synonym {', '.join(sorted(syn)[:6])})"
    return ColumnSpec(table, name, "category", text, vocabulary=allowed, synonyms=syn, **kw)  # type: ignore[arg-type]


def _number(
    table: str,
    name: str,
    expected: str,
    unit: str,
    lo: float | None = 0,
    hi: float | None = None,
    impossible: float | None = None,
    **kw: object,
) -> ColumnSpec:  # noqa: E501
    return ColumnSpec(
        table, name, "number", expected, unit=unit, lo=lo, hi=hi, impossible_above=impossible, **kw
    )  # type: ignore[arg-type]  # noqa: E501


_ID_TEXT = "1–64 characters of A-Z a-z 0-9 . _ -"
_GRADE = "an integer grade 0–4"
_SIDES = {"left": "L", "right": "R"}

#: the contract, one row a column, in file order
COLUMNS: tuple[ColumnSpec, ...] = (
    # --- studies ---
    ColumnSpec("studies", "study_id", "id", _ID_TEXT, required=True),
    _number("studies", "age_years", "age in years, 0–110", "years", 0, 110, required=True),
    _category("studies", "sex", vocab.SEXES, vocab.SEX_SYNONYMS, default="U"),
    _number("studies", "height_cm", "height in cm, 50–230", "cm", 50, 230),
    _number("studies", "limb_temp_c", "limb temperature in °C, 20–40", "°C", 20, 40),
    ColumnSpec("studies", "patient_id", "id", _ID_TEXT),
    ColumnSpec("studies", "site_id", "text", "free text"),
    _category("studies", "diagnosis", vocab.CLASSES, vocab.DIAGNOSIS_SYNONYMS),
    # --- ncs ---
    ColumnSpec("ncs", "study_id", "id", _ID_TEXT, required=True),
    _category("ncs", "nerve", vocab.NERVES, vocab.NERVE_SYNONYMS, required=True),
    _category("ncs", "side", vocab.NCS_SIDES, _SIDES, required=True),
    _category("ncs", "kind", vocab.KINDS, required=True),
    ColumnSpec("ncs", "stim_site", "token", "a stimulation site name", required=True),
    ColumnSpec("ncs", "recording_site", "token", "a recording site name"),
    _number("ncs", "latency_ms", "latency in ms, ≥ 0", "ms", impossible=500),
    _number(
        "ncs",
        "amplitude",
        "amplitude ≥ 0 (motor, h_reflex and rns mV, sensory µV; 0 = no response)",
        "mV (motor, h_reflex, rns) or µV (sensory)",
        impossible=100_000,
    ),  # noqa: E501
    _number("ncs", "duration_ms", "duration in ms, ≥ 0", "ms", impossible=500),
    _number("ncs", "distance_mm", "distance in mm, ≥ 0", "mm", impossible=3000),
    _number("ncs", "velocity_m_s", "conduction velocity in m/s, ≥ 0", "m/s"),  # > 120: rules.py
    _number("ncs", "persistence_pct", "F-wave persistence in %, 0–100", "%", 0, 100),
    _number(
        "ncs",
        "decrement_pct",
        "RNS decrement in %, −100–100 (negative = increment)",
        "%",
        -100,
        100,
    ),
    # --- emg ---
    ColumnSpec("emg", "study_id", "id", _ID_TEXT, required=True),
    _category("emg", "muscle", vocab.MUSCLES, vocab.MUSCLE_SYNONYMS, required=True),
    _category("emg", "side", vocab.EMG_SIDES, vocab.SIDE_SYNONYMS, required=True),
    _category("emg", "insertional", vocab.INSERTIONAL),
    *(ColumnSpec("emg", c, "grade", _GRADE, lo=0, hi=4) for c in vocab.SPONTANEOUS_COLUMNS),
    _number("emg", "muap_amplitude_uv", "MUAP amplitude in µV, ≥ 0", "µV", impossible=100_000),
    _number("emg", "muap_duration_ms", "MUAP duration in ms, ≥ 0", "ms", impossible=500),
    _number("emg", "muap_polyphasic_pct", "share of polyphasic MUAPs in %, 0–100", "%", 0, 100),
    _category("emg", "muap_amplitude_grade", vocab.SIZE_GRADES),
    _category("emg", "muap_duration_grade", vocab.SIZE_GRADES),
    _category("emg", "polyphasia_grade", vocab.POLYPHASIA_GRADES),
    _category("emg", "recruitment", vocab.RECRUITMENT),
    _category("emg", "activation", vocab.ACTIVATION),
    ColumnSpec("emg", "muap_unstable", "boolean", "true or false (empty if not recorded)"),
)

TABLE_NAMES: tuple[str, ...] = ("studies", "ncs", "emg")


def columns_of(table: str) -> dict[str, ColumnSpec]:
    """Column name -> spec of one table, in contract order."""
    return {c.name: c for c in COLUMNS if c.table == table}


def required_columns(table: str) -> tuple[str, ...]:
    """Columns a table must have (every value given)."""
    return tuple(c.name for c in COLUMNS if c.table == table and c.required)


def column(table: str, name: str) -> ColumnSpec:
    """The spec of one column (``KeyError`` if it is not in the contract)."""
    return columns_of(table)[name]
