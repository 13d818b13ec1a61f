"""The clinician's flow in a real browser (Playwright driving Debian's headless Chromium).

Opens the list, opens a study, sees the diagnosis, the six-class probability bar, the waterfall
and the highlighted abnormal values, then uploads a single-study JSON with an error and sees
the row-level message. Screenshots go to ``reports/screenshots/``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from features.vocab import CLASS_LABELS

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "reports" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is missing: install Debian's Chromium (`make browser`, i.e. "
        "apt-get install chromium); Playwright's own browser download is not used",
    ),
]


def _no_sideways_scroll(page: Any) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page scrolls sideways: scrollWidth {widths[0]} > {widths[1]}"


def test_clinician_flow(
    page: Any, live_server: Any, example_study: dict[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{live_server.url}/")
    expect(page.locator("#study-list")).to_be_visible()
    expect(page.locator("a.study-link")).to_have_count(12)
    expect(page.locator("#disclaimer")).to_contain_text("not a diagnosis")
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "01-study-list.png"), full_page=True)

    page.locator("a.study-link").first.click()
    expect(page.locator("#diagnosis")).to_be_visible()
    assert page.locator("#diagnosis").inner_text().strip() in set(CLASS_LABELS.values())
    expect(page.locator("#probabilities svg .prob-row")).to_have_count(6)
    p_sum = page.evaluate(
        "[...document.querySelectorAll('#probabilities .prob-row')].reduce((s, g) => s + Number(g.dataset.p), 0)"
    )
    assert p_sum == pytest.approx(1.0, abs=1e-3)
    expect(page.locator("#waterfall svg.waterfall")).to_be_visible()
    assert page.locator("#waterfall .wf-step").count() >= 1
    expect(page.locator("#reasons li").first).to_be_visible()
    expect(page.locator("#guideline")).to_be_visible()
    abnormal = page.locator("td.abn")
    assert abnormal.count() >= 1
    expect(abnormal.first).to_be_visible()
    limits = page.locator("td.lim-col")
    assert limits.count() >= 1
    assert re.search(r"[≤≥] [\d.]+ ", " ".join(limits.all_inner_texts()))
    expect(page.locator("footer")).to_contain_text("version")
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "02-study-page.png"), full_page=True)
    page.emulate_media(media="print")
    expect(page.locator("header.site")).to_be_hidden()
    expect(page.locator("#diagnosis")).to_be_visible()
    page.screenshot(path=str(SHOTS / "03-study-print.png"), full_page=True)
    page.pdf(path=str(SHOTS / "03-study-print.pdf"), format="A4")
    page.emulate_media(media="screen")

    example_study["ncs"][1]["amplitude"] = "7,5"  # decimal comma: not a number
    bad = tmp_path / "bad-study.json"
    bad.write_text(json.dumps(example_study))
    page.goto(f"{live_server.url}/")
    page.set_input_files("#upload-files", str(bad))
    page.click("#upload-go")
    expect(page.locator("#problems")).to_be_visible()
    row = page.locator("#problems tbody tr", has_text="amplitude").first
    expect(row).to_contain_text("7,5")
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "error"
    assert "ncs" in cells[1]
    assert cells[2] == "2"
    assert cells[3] == "amplitude"
    assert cells[7] == "demo-als-001"
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "04-upload-errors.png"), full_page=True)

    log = live_server.log_path.read_text()
    assert "GET /study/" in log  # the access log is there ...
    assert "7,5" not in log  # ... but no patient values
