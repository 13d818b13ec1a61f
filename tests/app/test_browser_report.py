"""The EMG report in a real browser: impression, limits column, mimic check, PDF, phone width.

Playwright drives Debian's headless Chromium (``tests/app/conftest.py``). Uploads the
contract's ALS example study, opens its page at 1280 × 800 and 390 × 844 (no sideways scroll,
chart text readable), prints the report page to PDF with ``page.pdf`` and reads its text, and
fetches the server's own ``report.pdf``. Screenshots and PDFs go to the test's tmp dir.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from features.vocab import CLASS_LABELS

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is missing: install Debian's Chromium (`make browser`)",
    ),
]


def _no_sideways_scroll(page: Any) -> None:
    sw, iw = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert sw <= iw, f"page scrolls sideways: scrollWidth {sw} > innerWidth {iw}"


def _smallest_chart_text_px(page: Any) -> float:
    """Rendered height (CSS px) of the smallest text in the page's SVG charts."""
    return float(
        page.evaluate(
            "Math.min(...[...document.querySelectorAll('svg.chart text')]"
            ".map(t => t.getBoundingClientRect().height).filter(h => h > 0))"
        )
    )


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(p.extract_text() or "" for p in reader.pages)


def test_report_pdf_impression_limits_mimics_and_phone_width(
    page: Any, live_server: Any, example_study: dict[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    study = tmp_path / "study.json"
    study.write_text(json.dumps(example_study))
    page.goto(f"{live_server.url}/")
    page.set_input_files("#upload-files", str(study))
    page.click("#upload-go")
    link = page.locator("a[href*='/demo-als-001']").first
    href = link.get_attribute("href")
    assert href is not None
    assert re.fullmatch(r"/study/u\d+/demo-als-001", href)
    page.goto(f"{live_server.url}{href}")

    # data first: the tables and the impression come before the model's suggestion
    expect(page.locator("#impression")).to_contain_text("Abnormal study")
    order = page.evaluate(
        "['ncs', 'impression', 'prediction'].map(id => document.getElementById(id)"
        ".getBoundingClientRect().top + window.scrollY)"
    )
    assert order == sorted(order)
    # a limits column beside every value, printed (not a tooltip)
    motor = page.locator("#ncs-motor")
    assert motor.locator("th.lim-col").count() >= 3
    expect(motor.locator("td.lim-col", has_text="≥").first).to_be_visible()
    expect(page.locator("#emg-table td", has_text="2+").first).to_be_visible()
    # the mimic check with its values
    expect(page.locator("#mimic-table tbody tr").first).to_be_visible()
    assert page.locator("#mimic-table tbody tr").count() >= 3
    expect(page.locator("#impression")).to_contain_text("Mimics considered")
    _no_sideways_scroll(page)
    page.screenshot(path=str(tmp_path / "study-1280x800.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#impression")).to_be_visible()
    _no_sideways_scroll(page)
    assert _smallest_chart_text_px(page) >= 9.0, "chart text unreadable at phone width"
    page.screenshot(path=str(tmp_path / "study-390x844.png"), full_page=True)

    page.goto(f"{live_server.url}{href}/report")
    _no_sideways_scroll(page)
    page.screenshot(path=str(tmp_path / "report-390x844.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    pdf = page.pdf(path=str(tmp_path / "report.pdf"), format="A4")
    text = _pdf_text(pdf)
    assert "Electrodiagnostic report" in text
    assert "Impression" in text
    assert "Abnormal study" in text
    assert "Normal" in text  # the limits column header
    assert "≥" in text or ">=" in text
    assert "Mimics to consider" in text
    assert "not recorded" in text  # study date, indication, examiner: never invented
    assert "Electromyographer:" in text  # the sign-off line
    for label in CLASS_LABELS.values():  # a probability never prints as 100 % (shares may)
        assert f"{label} 100 %" not in text
        assert f"{label} (100 %)" not in text

    # the server's own PDF route (headless Chromium on the server)
    r = page.request.get(f"{live_server.url}{href}/report.pdf")
    assert r.status == 200
    assert r.headers["content-type"] == "application/pdf"
    served = r.body()
    assert served[:5] == b"%PDF-"
    (tmp_path / "report-server.pdf").write_bytes(served)
    assert "Impression" in _pdf_text(served)
