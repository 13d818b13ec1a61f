"""Size limits of the readers: what a bundle, an archive or a JSON document may hold.

Every reader takes a :class:`ReadLimits`; input over a limit is refused with a ``too_large``
problem that names the limit, before the input is read whole (zip members are checked by their
declared size and again by the bytes they really expand to, while streaming).
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """Limits on what one read may take in.

    Attributes
    ----------
    max_expanded_bytes : int
        Total bytes the members of a zip may expand to (declared and actual), in bytes.
    max_zip_members : int
        Entries a zip may list.
    max_json_bytes : int
        Size of one JSON document, in bytes.
    max_json_depth : int
        Nesting depth of a JSON document (a study is 3 deep: list, study, row).
    max_number_chars : int
        Characters of one JSON number literal (``1e309``-style and 5,000-digit numbers).
    max_json_studies : int
        Studies in one JSON document (the API's and the web page's per-request cap).
    """

    max_expanded_bytes: int = 2048 * MiB
    max_zip_members: int = 64
    max_json_bytes: int = 64 * MiB
    max_json_depth: int = 16
    max_number_chars: int = 40
    max_json_studies: int = 1000


#: the command line's limits (a lab's whole export)
DEFAULT_LIMITS = ReadLimits()
