"""Reading a bundle packed as a zip archive, safely.

Before a byte is expanded, every entry is checked with what :class:`zipfile.ZipInfo` declares:
the number of entries, encryption (``flag_bits``), the compression method (``compress_type``)
and the declared expanded size (``file_size``) against the total cap of
:class:`~bundle.limits.ReadLimits`. The chosen members are then streamed in blocks, counting
the bytes they really expand to, so an archive that lies about its sizes is stopped at the cap
too. Every failure (not a zip, truncated, corrupt deflate data, bad CRC, unsupported method,
encrypted, over the cap) is a :class:`~bundle.readers.BundleReadError` naming the member.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path, PurePosixPath

from bundle.limits import ReadLimits
from bundle.readers import TABLE_SUFFIXES, BundleReadError, RawTable, pick_tables, read_file
from bundle.tables import TABLES

#: compression methods the standard library expands (deflate64, PPMd, ... are not)
SUPPORTED_METHODS: dict[int, str] = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}
_BLOCK = 1 << 20


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.0f} MiB"


def _open_archive(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise BundleReadError(
            path.name, "is not a readable zip archive (truncated or not a zip file)"
        ) from None


def _check_entries(path: Path, infos: list[zipfile.ZipInfo], limits: ReadLimits) -> None:
    """Refuse an archive by what it declares, before expanding anything."""
    if len(infos) > limits.max_zip_members:
        raise BundleReadError(
            path.name,
            f"lists {len(infos)} entries; a bundle zip holds at most {limits.max_zip_members}",
            kind="too_large",
        )
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_expanded_bytes:
        raise BundleReadError(
            path.name,
            f"would expand to {_mib(declared)}, more than the limit of "
            f"{_mib(limits.max_expanded_bytes)}; split the bundle",
            kind="too_large",
        )


def _check_member(archive_name: str, info: zipfile.ZipInfo) -> None:
    file = f"{archive_name}:{info.filename}"
    if info.flag_bits & 0x1:
        raise BundleReadError(file, "is encrypted; zip the bundle without a password")
    if info.compress_type not in SUPPORTED_METHODS:
        raise BundleReadError(
            file,
            f"uses compression method {info.compress_type}, which cannot be read; "
            "zip it with the standard 'deflate' method",
        )


def _read_member(
    archive: zipfile.ZipFile, archive_name: str, info: zipfile.ZipInfo, budget: int
) -> bytes:
    """Stream one member, stopping as soon as it expands beyond ``budget`` bytes."""
    file = f"{archive_name}:{info.filename}"
    parts: list[bytes] = []
    total = 0
    try:
        with archive.open(info) as member:
            while block := member.read(_BLOCK):
                total += len(block)
                if total > budget:
                    raise BundleReadError(
                        file,
                        "expands to more than the size limit (the archive's sizes are wrong "
                        "or it is a zip bomb)",
                        kind="too_large",
                    )
                parts.append(block)
    except BundleReadError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
        raise BundleReadError(
            file, "cannot be expanded: the archive is corrupt or truncated"
        ) from None
    except (NotImplementedError, RuntimeError):
        raise BundleReadError(file, "cannot be expanded (unsupported or encrypted)") from None
    return b"".join(parts)


def read_zip(path: Path, limits: ReadLimits) -> dict[str, RawTable]:
    """The raw tables of a zipped bundle (possibly inside one sub-folder of the archive)."""
    archive = _open_archive(path)
    with archive:
        try:
            infos = [i for i in archive.infolist() if not i.is_dir()]
        except Exception:  # noqa: BLE001 - a damaged central directory
            raise BundleReadError(path.name, "has a damaged list of contents") from None
        _check_entries(path, infos, limits)
        infos = [i for i in infos if "__MACOSX" not in i.filename]
        wanted = {f"{n}{s}" for n in TABLES for s in TABLE_SUFFIXES}
        hits = [(PurePosixPath(i.filename), i) for i in infos]
        hits = [(p, i) for p, i in hits if p.name in wanted]
        if not hits:
            return {}
        depth = min(len(p.parts) for p, _ in hits)
        folders = {p.parent for p, _ in hits if len(p.parts) == depth}
        if len(folders) > 1:
            raise BundleReadError(
                path.name,
                f"holds {len(folders)} bundles in different folders; zip one bundle",
            )
        top = [(p, i) for p, i in hits if len(p.parts) == depth]
        candidates = {name: [str(p) for p, _ in top if p.stem == name] for name in TABLES}
        chosen = pick_tables(candidates, path.name)
        by_name = {str(p): i for p, i in top}
        budget = limits.max_expanded_bytes
        out: dict[str, RawTable] = {}
        for name, member in chosen.items():
            info = by_name[member]
            _check_member(path.name, info)
            data = _read_member(archive, path.name, info, budget)
            budget -= len(data)
            file = f"{path.name}:{member}"
            frame = read_file(data, file, PurePosixPath(member).suffix)
            out[name] = RawTable.from_frame(name, file, frame)
        return out
