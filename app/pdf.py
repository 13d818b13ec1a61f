"""HTML to PDF with the machine's headless Chromium (no network, no extra Python package).

The report page is rendered with its stylesheets inlined, written to a temporary folder and
printed by ``chromium --headless --print-to-pdf`` with every host name unresolvable except
loopback (the flags of ``tests/app/conftest.py``). Chromium missing or failing raises
:class:`PdfUnavailable` with a sentence for the page; the HTML report stays available.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

#: where Debian installs Chromium (``apt-get install chromium``), tried before ``$PATH``
CHROMIUM_PATHS: tuple[str, ...] = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--no-pdf-header-footer",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)
#: seconds one PDF may take
PDF_TIMEOUT_S = 60


class PdfUnavailable(RuntimeError):
    """The PDF could not be made (no Chromium, or Chromium failed); the message says which."""


def chromium_path() -> str | None:
    """The Chromium executable, or None when none is installed."""
    for p in CHROMIUM_PATHS:
        if Path(p).is_file():
            return p
    return shutil.which("chromium") or shutil.which("chromium-browser")


def html_to_pdf(html: str) -> bytes:
    """Print a self-contained HTML page (A4, print stylesheet) to PDF bytes."""
    exe = chromium_path()
    if exe is None:
        raise PdfUnavailable(
            "PDF export needs Chromium on the server (apt-get install chromium); "
            "print the report page from the browser instead."
        )
    with tempfile.TemporaryDirectory(prefix="emgdx-pdf-") as tmp:
        page, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        cmd = [
            exe,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp}/profile",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        try:
            subprocess.run(cmd, capture_output=True, timeout=PDF_TIMEOUT_S, check=False)  # noqa: S603
        except subprocess.TimeoutExpired as e:
            raise PdfUnavailable(f"Chromium took longer than {PDF_TIMEOUT_S} s to print.") from e
        if not out.is_file() or out.stat().st_size == 0:
            raise PdfUnavailable("Chromium did not write the PDF; print the report page instead.")
        return out.read_bytes()
