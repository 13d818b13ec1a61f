"""The verdict loop in a real browser: sign in, record a verdict, see it queued, export, retrain.

``emgdx serve`` runs with its own SQLite database and anonymous reading off; the account is
made with ``emgdx users add --password-stdin``. Playwright (Debian's Chromium) signs in, opens
a study, records a conclusion that disagrees with the model, finds the study in the review
queue with the model version; ``emgdx export-verdicts`` writes the bundle and a tiny retrain
with ``data.extra_bundles`` trains on it and logs it as the MLflow run's input.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.app.verdict_fixtures import PASSWORD, ROOT, clean_env, serve, stop_server

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "reports" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is missing: install Debian's Chromium (`make browser`)",
    ),
]


def _emgdx(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emgdx", *args],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_sign_in_judge_review_export_retrain(
    page: Any, tiny_model_dir: Path, bundle_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    from tests.helpers.verdicts import retrain_with_extra

    url_db = f"sqlite:///{tmp_path / 'verdicts.db'}"
    env = {**clean_env(), "EMGDX_DATABASE_URL": url_db}
    added = _emgdx(
        "users", "add", "--name", "dr_b", "--role", "clinician", "--password-stdin",
        env=env, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert PASSWORD not in added.stdout + added.stderr
    proc, url = serve(tmp_path, env, tiny_model_dir, "--bundle", str(bundle_dir))
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.goto(f"{url}/")
        expect(page.locator("#login-form")).to_be_visible()  # anonymous reading is off
        page.fill("#login-name", "dr_b")
        page.fill("#login-password", PASSWORD)
        page.click("#login-go")
        expect(page.locator("#signed-in")).to_contain_text("dr_b")
        page.locator("a.study-link").first.click()
        study_id = page.locator("#study-id").inner_text().strip()
        model_dx = page.locator("#v-conclusion").input_value()  # preselected: the suggestion
        other = "myopathy" if model_dx != "myopathy" else "normal"
        page.select_option("#v-conclusion", other)
        page.check("#v-disagree")
        page.fill("#v-comment", "myopathic units proximally")
        page.click("#verdict-save")
        expect(page.locator("#verdict-history tr.verdict-row")).to_have_count(1)
        expect(page.locator("#verdict-history")).to_contain_text("dr_b")
        page.screenshot(path=str(SHOTS / "10-verdict.png"), full_page=True)

        page.click("nav >> text=Review")
        row = page.locator(f'#review-table tr.queue-row[data-study="{study_id}"]')
        expect(row).to_be_visible()
        expect(row).to_contain_text("Clinician disagrees")
        expect(row).to_contain_text("tiny-")  # the model version
        page.locator("#review-table a.sort[data-sort='probability']").click()
        expect(page.locator("#review-table a.sort.active")).to_have_attribute(
            "data-sort", "probability"
        )
        page.screenshot(path=str(SHOTS / "11-review-queue.png"), full_page=True)
    finally:
        stop_server(proc)

    export = tmp_path / "export"
    done = _emgdx("export-verdicts", "--out", str(export), env=env)
    assert done.returncode == 0, done.stderr
    exported = pd.read_csv(export / "studies.csv")
    assert exported["study_id"].tolist() == [study_id]
    assert exported["diagnosis"].tolist() == [other]

    out = retrain_with_extra(tmp_path / "project", export, weight=5)
    assert "extra:export" in out.input_datasets
    judged = out.studies[out.studies["study_id"] == study_id]
    assert judged["diagnosis"].tolist() == [other]
    assert judged["sample_weight"].tolist() == [5.0]
