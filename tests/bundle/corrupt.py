"""Hostile inputs for the fuzz tests: corrupted study bundles and JSON documents.

Every generator takes a valid bundle (the bytes of ``studies.csv``, ``ncs.csv`` and
``emg.csv``) or a valid JSON study document and a :class:`random.Random`, and returns one
corrupted input as bytes on disk-free :class:`Case` objects. The same seed gives the same case,
so a failure found by ``make fuzz`` can be replayed. Nothing here reads the project's other
modules: the corruptions are what a lab export, a text editor, a spreadsheet or an attacker can
produce (types, encodings, delimiters, BOMs, decimal commas, truncation, zip tricks, huge and
deep values, unicode identifiers, orphan rows, duplicates).
"""

from __future__ import annotations

import csv
import io
import json
import random
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

TABLE_NAMES: tuple[str, ...] = ("studies", "ncs", "emg")

#: a distinctive value planted in cells: it must never reach a log line
PLANTED = "ZQX7PLANTED"

#: cell values that a lab export or an attacker may put anywhere
HOSTILE_CELLS: tuple[str, ...] = (
    "",
    " ",
    "nan",
    "NaN",
    "null",
    "N/A",
    "true",
    "FALSE",
    "1e309",
    "-1e309",
    "inf",
    "-Infinity",
    "1e300",
    "-5",
    "1,5",
    "3.5 mV",
    "9" * 5000,
    "x" * 10000,
    "é中文",
    "\u202e\u0000",
    "0x1F",
    "1_000",
    "  12  ",
    "١٢",
    "12.5.3",
    "'; DROP TABLE studies; --",
    '"quoted"',
    "0",
    "-0",
    "4.5",
    "99999999999999999999999",
    "1e-320",
    "P:" + PLANTED,
    "\t",
    "=cmd|' /C calc'!A0",
)

#: header names a study_id column arrives under in the wild
ID_HEADERS: tuple[str, ...] = ("Study_ID", "study id", "STUDY_ID ", "studyid", "id", "")


@dataclass(frozen=True)
class Case:
    """One hostile input.

    Attributes
    ----------
    name : str
        What was done (the mutations, no cell values), for reports and replay.
    files : dict of str to bytes
        Relative path -> content. A folder bundle has ``studies.csv`` etc.; a zip bundle one
        ``bundle.zip``; a JSON document one ``study.json``.
    """

    name: str
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def entry(self) -> str:
        """The path to hand to the loader, relative to where the case is written."""
        if len(self.files) == 1:
            only = next(iter(self.files))
            if only.endswith((".zip", ".json")):
                return only
        return "bundle"

    def write(self, root: Path) -> Path:
        """Write the files under ``root`` and return the path to give the loader."""
        for rel, data in self.files.items():
            target = root / (rel if rel.endswith((".zip", ".json")) else f"bundle/{rel}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (root / "bundle").mkdir(exist_ok=True)
        return root / self.entry


# --------------------------------------------------------------------------------------------
# CSV tables as rows of text
# --------------------------------------------------------------------------------------------
def _rows(data: bytes) -> list[list[str]]:
    return [list(r) for r in csv.reader(io.StringIO(data.decode("utf-8")))]


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _col(rows: list[list[str]], name: str) -> int | None:
    return rows[0].index(name) if rows and name in rows[0] else None


def _set_cell(rng: random.Random, tables: dict[str, list[list[str]]]) -> str:
    name = rng.choice(TABLE_NAMES)
    rows = tables[name]
    if len(rows) < 2:
        return "noop"
    r = rng.randrange(1, len(rows))
    c = rng.randrange(len(rows[0]))
    if c < len(rows[r]):
        rows[r][c] = rng.choice(HOSTILE_CELLS)
    return f"cell:{name}:{rows[0][c] if c < len(rows[0]) else c}"


def _blank_id(rng: random.Random, tables: dict[str, list[list[str]]]) -> str:
    name = rng.choice(TABLE_NAMES)
    rows = tables[name]
    c = _col(rows, "study_id")
    if c is None or len(rows) < 2:
        return "noop"
    rows[rng.randrange(1, len(rows))][c] = rng.choice(("", " ", "nan", "None", "é"))
    return f"blank_id:{name}"


def _header(rng: random.Random, tables: dict[str, list[list[str]]]) -> str:
    name = rng.choice(TABLE_NAMES)
    rows = tables[name]
    op = rng.choice(("drop", "rename_id", "duplicate", "extra", "rename_any", "upper"))
    head = rows[0]
    c = rng.randrange(len(head))
    if op == "drop":
        for row in rows:
            if c < len(row):
                del row[c]
    elif op == "rename_id" and "study_id" in head:
        head[head.index("study_id")] = rng.choice(ID_HEADERS)
    elif op == "duplicate":
        for row in rows:
            if c < len(row):
                row.append(row[c])
    elif op == "extra":
        head.append(rng.choice(("comment", "notes " + PLANTED, "", "Amplitude")))
        for row in rows[1:]:
            row.append(rng.choice(HOSTILE_CELLS))
    elif op == "rename_any":
        head[c] = rng.choice(("", "x" * 300, head[c].upper(), head[c] + " ", "é"))
    else:
        rows[0] = [h.upper() for h in head]
    return f"header:{name}:{op}"


def _rows_op(rng: random.Random, tables: dict[str, list[list[str]]]) -> str:
    name = rng.choice(TABLE_NAMES)
    rows = tables[name]
    if len(rows) < 2:
        return "noop"
    op = rng.choice(("dup_row", "orphan", "ragged_long", "ragged_short", "delete_rows", "dup_id"))
    r = rng.randrange(1, len(rows))
    c = _col(rows, "study_id")
    if op == "dup_row":
        rows.insert(r, list(rows[r]))
    elif op == "orphan" and c is not None:
        row = list(rows[r])
        row[c] = rng.choice(("orphan-1", "Ωmega", "a" * 65, PLANTED))
        rows.append(row)
    elif op == "ragged_long":
        rows[r] = [*rows[r], "extra", PLANTED]
    elif op == "ragged_short":
        rows[r] = rows[r][: max(1, len(rows[r]) // 2)]
    elif op == "delete_rows":
        del rows[1:]
    elif op == "dup_id" and c is not None and len(rows) > 2:
        rows[r][c] = rows[1 if r != 1 else 2][c]
    return f"rows:{name}:{op}"


_MUTATIONS: tuple[Callable[[random.Random, dict[str, list[list[str]]]], str], ...] = (
    _set_cell,
    _set_cell,
    _set_cell,
    _blank_id,
    _header,
    _rows_op,
)


def _decimal_comma(text: str) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        cells = line.rstrip("\n").split(",")
        cells = [c.replace(".", ",") if c.replace(".", "", 1).isdigit() else c for c in cells]
        out.append(";".join(cells) + ("\n" if line.endswith("\n") else ""))
    return "".join(out)


def _serialise(rng: random.Random, name: str, rows: list[list[str]]) -> tuple[bytes, str]:
    """One table to bytes, sometimes with a hostile encoding, delimiter or damage."""
    op = rng.choice(
        ("plain",) * 6
        + (
            "semicolon",
            "tab",
            "pipe",
            "bom",
            "latin1",
            "utf16",
            "cp1252",
            "decimal_comma",
            "crlf",
            "truncate",
            "flip",
            "nul",
            "unterminated_quote",
            "empty",
            "header_only",
            "garbage",
            "parquet",
        )
    )
    text = _csv(rows)
    if op == "semicolon":
        return _csv(rows, ";").encode(), op
    if op == "tab":
        return _csv(rows, "\t").encode(), op
    if op == "pipe":
        return _csv(rows, "|").encode(), op
    if op == "bom":
        return b"\xef\xbb\xbf" + text.encode(), op
    if op == "latin1":
        return (text + "").encode("latin-1", errors="replace").replace(b"median", b"m\xe9dian"), op
    if op == "utf16":
        return text.encode("utf-16"), op
    if op == "cp1252":
        return text.replace("wrist", "wrist\u2013distal").encode("cp1252", errors="replace"), op
    if op == "decimal_comma":
        return _decimal_comma(text).encode(), op
    if op == "crlf":
        return text.replace("\n", "\r\n").encode(), op
    data = text.encode()
    if op == "truncate":
        return data[: rng.randrange(0, max(1, len(data)))], op
    if op == "flip":
        b = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b), op
    if op == "nul":
        return data.replace(b",", b",\x00", 1), op
    if op == "unterminated_quote":
        return data.replace(b"\n", b'\n"', 2), op
    if op == "empty":
        return b"", op
    if op == "header_only":
        return data.split(b"\n", 1)[0] + b"\n", op
    if op == "garbage":
        return rng.randbytes(rng.randint(1, 400)), op
    if op == "parquet":
        return _parquet(rng, rows), op
    return data, op


def _parquet(rng: random.Random, rows: list[list[str]]) -> bytes:
    """The table as Parquet, one column with a hostile type (bool, timedelta, object, ...)."""
    head, body = rows[0], rows[1:]
    width = len(head)
    body = [(r + [""] * width)[:width] for r in body]
    frame = pd.DataFrame(body, columns=pd.Index(head).astype(str))
    frame = frame.loc[:, ~frame.columns.duplicated()]
    for c in frame.columns:
        frame[c] = pd.to_numeric(frame[c], errors="coerce").where(
            frame[c].str.match(r"^-?[\d.]+$").fillna(False), frame[c]
        )
        if frame[c].map(lambda v: isinstance(v, float)).all():
            frame[c] = frame[c].astype("float64")
        else:
            frame[c] = frame[c].astype(str)
    if len(frame.columns):
        c = rng.choice(list(frame.columns))
        n = len(frame)
        kind = rng.choice(("bool", "timedelta", "datetime", "int_huge", "inf", "category", "bytes"))
        if kind == "bool":
            frame[c] = np.resize([True, False], n)
        elif kind == "timedelta":
            frame[c] = pd.to_timedelta(np.arange(n), unit="s")
        elif kind == "datetime":
            frame[c] = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(n), unit="D")
        elif kind == "int_huge":
            frame[c] = np.full(n, np.iinfo(np.int64).max)
        elif kind == "inf":
            frame[c] = np.resize([np.inf, -np.inf, np.nan, 1e300], n)
        elif kind == "category":
            frame[c] = frame[c].astype(str).astype("category")
        else:
            frame[c] = [PLANTED.encode()] * n
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# zip tricks
# --------------------------------------------------------------------------------------------
def _zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _patch_local_and_central(data: bytes, patch: Callable[[bytearray, int, bool], None]) -> bytes:
    """Apply ``patch(buf, offset, central)`` to every local and central directory header."""
    b = bytearray(data)
    i = 0
    while (i := b.find(b"PK\x03\x04", i)) != -1:
        patch(b, i, False)
        i += 4
    i = 0
    while (i := b.find(b"PK\x01\x02", i)) != -1:
        patch(b, i, True)
        i += 4
    return bytes(b)


def zip_bomb(expanded_bytes: int, name: str = "studies.csv", declared: int | None = None) -> bytes:
    """A zip whose one member expands to ``expanded_bytes`` (a header line, then zeros).

    ``declared`` (default: the true size) is written into the headers as the uncompressed size,
    so a lying archive can be made. Built by streaming the compressor: the bomb itself is never
    held expanded in memory.
    """
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    crc = 0
    parts = []
    chunk = b"0" * (1 << 20)
    head = b"study_id,age_years\n"
    crc = zlib.crc32(head, crc)
    parts.append(comp.compress(head))
    left = expanded_bytes - len(head)
    while left > 0:
        piece = chunk[: min(left, len(chunk))]
        crc = zlib.crc32(piece, crc)
        parts.append(comp.compress(piece))
        left -= len(piece)
    parts.append(comp.flush())
    body = b"".join(parts)
    size = expanded_bytes if declared is None else declared
    fname = name.encode()
    local = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body), size, len(fname), 0
    )
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII",
        b"PK\x01\x02",
        20,
        20,
        0,
        8,
        0,
        0,
        crc,
        len(body),
        size,
        len(fname),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    cd_offset = len(local) + len(fname) + len(body)
    cd = central + fname
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(cd), cd_offset, 0)
    return local + fname + body + cd + end


def _zip_case(rng: random.Random, files: dict[str, bytes]) -> tuple[bytes, str]:
    op = rng.choice(
        (
            "plain",
            "plain",
            "subfolder",
            "two_bundles",
            "encrypted",
            "deflate64",
            "bzip2",
            "corrupt_deflate",
            "lying_size",
            "bomb_declared",
            "bomb_hidden",
            "truncated",
            "not_zip",
            "macosx",
            "traversal",
            "duplicate_member",
            "empty_zip",
        )
    )
    if op == "subfolder":
        return _zip({f"export/{k}": v for k, v in files.items()}), op
    if op == "two_bundles":
        return _zip(
            {**{f"a/{k}": v for k, v in files.items()}, **{f"b/{k}": v for k, v in files.items()}}
        ), op
    if op == "encrypted":

        def flag(b: bytearray, i: int, central: bool) -> None:
            at = i + (8 if central else 6)
            b[at] |= 0x01

        return _patch_local_and_central(_zip(files), flag), op
    if op == "deflate64":

        def method(b: bytearray, i: int, central: bool) -> None:
            at = i + (10 if central else 8)
            b[at : at + 2] = struct.pack("<H", 9)

        return _patch_local_and_central(_zip(files), method), op
    if op == "bzip2":
        return _zip(files, zipfile.ZIP_BZIP2), op
    if op == "corrupt_deflate":
        data = bytearray(_zip(files))
        start = data.find(b"PK\x03\x04") + 30 + len(next(iter(files)))
        for k in range(start + 2, min(start + 40, len(data))):
            data[k] ^= 0x5A
        return bytes(data), op
    if op == "lying_size":

        def size(b: bytearray, i: int, central: bool) -> None:
            at = i + (24 if central else 22)
            b[at : at + 4] = struct.pack("<I", 10)

        return _patch_local_and_central(_zip(files), size), op
    if op == "bomb_declared":
        return zip_bomb(4 << 20, declared=(1 << 32) - 1), op
    if op == "bomb_hidden":
        return zip_bomb(rng.choice((3 << 20, 12 << 20)), declared=100), op
    if op == "truncated":
        data = _zip(files)
        return data[: rng.randrange(1, len(data))], op
    if op == "not_zip":
        return b"PK\x03\x04" + rng.randbytes(200), op
    if op == "macosx":
        return _zip({**files, "__MACOSX/._studies.csv": b"\x00\x05\x16\x07"}), op
    if op == "traversal":
        return _zip({f"../../{k}": v for k, v in files.items()}), op
    if op == "duplicate_member":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for k, v in files.items():
                z.writestr(k, v)
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                z.writestr("studies.csv", b"study_id\n")
        return buf.getvalue(), op
    if op == "empty_zip":
        return _zip({}), op
    return _zip(files), op


def corrupt_bundle(base: dict[str, bytes], rng: random.Random) -> Case:
    """A corrupted copy of ``base`` (``{"studies.csv": ..., "ncs.csv": ..., "emg.csv": ...}``).

    One to three row/column/cell mutations, then each table serialised (sometimes with a
    hostile encoding, delimiter, damage or as Parquet), sometimes a table left out, and in about
    a third of the cases the whole bundle packed as a zip (with or without a zip trick).
    """
    tables = {n: _rows(base[f"{n}.csv"]) for n in TABLE_NAMES}
    names = [rng.choice(_MUTATIONS)(rng, tables) for _ in range(rng.randint(1, 3))]
    files: dict[str, bytes] = {}
    for n in TABLE_NAMES:
        if rng.random() < 0.03:
            names.append(f"missing:{n}")
            continue
        data, op = (
            _serialise(rng, n, tables[n])
            if rng.random() < 0.35
            else (
                _csv(tables[n]).encode(),
                "plain",
            )
        )
        suffix = ".parquet" if op == "parquet" else ".csv"
        files[f"{n}{suffix}"] = data
        if op != "plain":
            names.append(f"{op}:{n}")
    if rng.random() < 0.3:
        data, op = _zip_case(rng, files)
        return Case("+".join([*names, f"zip:{op}"]), {"bundle.zip": data})
    return Case("+".join(names), files)


# --------------------------------------------------------------------------------------------
# JSON documents
# --------------------------------------------------------------------------------------------
HOSTILE_JSON_VALUES: tuple[object, ...] = (
    True,
    False,
    None,
    "",
    " ",
    "61",
    "1,5",
    [61],
    {"value": 61},
    -1,
    0,
    1e300,
    -1e300,
    "NaN",
    "x" * 5000,
    "P:" + PLANTED,
    "é中文",
    12345678901234567890,
    0.1,
    [],
    {},
)


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def hostile_json(base: dict[str, object], rng: random.Random) -> Case:
    """A hostile variant of the single-study JSON document ``base`` (as bytes)."""
    doc = json.loads(json.dumps(base))
    op = rng.choice(
        (
            "field",
            "field",
            "field",
            "row_field",
            "row_field",
            "row_field",
            "no_id",
            "id_type",
            "ncs_not_list",
            "row_not_object",
            "row_id_mismatch",
            "deep",
            "huge_int",
            "big_float",
            "many_studies",
            "list_mixed",
            "top_scalar",
            "nan_token",
            "truncated",
            "bad_utf8",
            "utf16",
            "bom",
            "duplicate_keys",
            "unicode_id",
            "long_key",
            "list_dup_ids",
        )
    )
    text: str | None = None
    if op == "field":
        key = rng.choice(("age_years", "sex", "height_cm", "limb_temp_c", "study_id", "diagnosis"))
        doc[key] = rng.choice(HOSTILE_JSON_VALUES)
        op = f"field:{key}"
    elif op == "row_field":
        table = rng.choice(("ncs", "emg"))
        rows = doc.get(table) or []
        if rows:
            row = rng.choice(rows)
            key = rng.choice(list(row) or ["amplitude"])
            row[key] = rng.choice(HOSTILE_JSON_VALUES)
            op = f"row_field:{table}:{key}"
    elif op == "no_id":
        doc.pop("study_id", None)
    elif op == "id_type":
        doc["study_id"] = rng.choice(
            (None, "", " ", 123, 1.5, True, ["a"], {"a": 1}, "a b", "x" * 65)
        )
    elif op == "ncs_not_list":
        doc["ncs"] = rng.choice(({"nerve": "median"}, "median", 3, None))
    elif op == "row_not_object":
        doc["emg"] = [*doc.get("emg", []), rng.choice((1, "deltoid", None, [1, 2], PLANTED))]
    elif op == "row_id_mismatch":
        if doc.get("ncs"):
            doc["ncs"][0]["study_id"] = rng.choice(("other", PLANTED, 5, None))
    elif op == "deep":
        depth = rng.choice((200, 5000, 100000))
        text = json.dumps(doc)[:-1] + ', "extra": ' + _deep(depth) + "}"
    elif op == "huge_int":
        digits = rng.choice((400, 4400, 20000))
        key = rng.choice(("age_years", "height_cm"))
        text = (
            json.dumps({**doc, key: 0})[:-1].replace(f'"{key}": 0', f'"{key}": ' + "9" * digits)
            + "}"
        )
    elif op == "big_float":
        text = json.dumps({**doc, "age_years": 0}).replace('"age_years": 0', '"age_years": 1e400')
    elif op == "many_studies":
        n = rng.choice((50, 1500, 10000))
        docs = []
        for i in range(n):
            d = json.loads(json.dumps(base))
            d["study_id"] = f"s{i}"
            docs.append(d)
        text = json.dumps(docs)
    elif op == "list_mixed":
        other = json.loads(json.dumps(base))
        other["study_id"] = "second-1"
        text = json.dumps([doc, rng.choice((1, None, "x", [doc])), other, {"age_years": 50}])
    elif op == "top_scalar":
        text = json.dumps(rng.choice((1, "study", None, True, 1.5)))
    elif op == "nan_token":
        text = json.dumps({**doc, "age_years": 0}).replace(
            '"age_years": 0', '"age_years": ' + rng.choice(("NaN", "Infinity", "-Infinity"))
        )
    elif op == "truncated":
        full = json.dumps(doc)
        text = full[: rng.randrange(0, len(full))]
    elif op == "bad_utf8":
        return Case(f"json:{op}", {"study.json": json.dumps(doc).encode()[:-1] + b"\xff\xfe}"})
    elif op == "utf16":
        return Case(f"json:{op}", {"study.json": json.dumps(doc).encode("utf-16")})
    elif op == "bom":
        return Case(f"json:{op}", {"study.json": b"\xef\xbb\xbf" + json.dumps(doc).encode()})
    elif op == "duplicate_keys":
        text = json.dumps(doc)[:-1] + ', "study_id": "' + PLANTED + '"}'
    elif op == "unicode_id":
        doc["study_id"] = rng.choice(("研究-1", "étude", "s\u200b1", "s\u00001", "Ｓ１"))
    elif op == "long_key":
        doc["k" * 5000] = 1
    elif op == "list_dup_ids":
        text = json.dumps([doc, doc])
    if text is None:
        text = json.dumps(doc)
    return Case(f"json:{op}", {"study.json": text.encode("utf-8", errors="surrogatepass")})
