"""Server-rendered pages: list, study page, upload (zip, CSVs, JSON), escaping, 413, 404."""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from pathlib import Path
from typing import Any

from bundle.load import load_bundle
from bundle.writers import write_bundle
from features.vocab import CLASS_LABELS


def _study_links(html: str) -> list[str]:
    return re.findall(r'class="study-link" href="([^"]+)"', html)


def test_list_shows_bundle_studies_with_predictions(client: Any) -> None:
    r = client.get("/")
    assert r.status_code == 200
    links = [u for u in _study_links(r.text) if u.startswith("/study/bundle/")]
    assert len(links) == 12
    assert "Decision support, not a diagnosis" in r.text
    assert sum(r.text.count(label) for label in CLASS_LABELS.values()) >= 12


def test_list_filter_by_diagnosis(client: Any) -> None:
    all_rows = client.get("/").text
    shown = re.findall(r'<td class="dx">([^<]+)</td>', all_rows)
    label = shown[0]
    code = next(c for c, lab in CLASS_LABELS.items() if lab == label)
    filtered = client.get("/", params={"diagnosis": code}).text
    dx = re.findall(r'<td class="dx">([^<]+)</td>', filtered)
    assert dx
    assert set(dx) == {label}
    assert len(dx) == shown.count(label)


def test_study_page_shows_prediction_tables_and_highlights(client: Any) -> None:
    url = _study_links(client.get("/").text)[0]
    html = client.get(url).text
    assert 'id="diagnosis"' in html
    assert 'id="pattern"' in html
    assert html.count("class='prob-row'") == 6
    assert "class='chart waterfall'" in html
    assert 'id="guideline"' in html
    assert "Guideline check" in html
    assert 'id="ncs-motor"' in html
    assert 'id="emg-table"' in html
    # data first, model after (issue 11 item 5)
    assert html.index('id="ncs"') < html.index('id="impression"') < html.index('id="prediction"')
    assert re.search(
        r"Model <strong>emgdx</strong>, version <strong>unregistered \(model tiny-", html
    )
    assert "not a diagnosis" in html


def test_study_page_marks_abnormal_values_with_their_limit(
    client: Any, example_study: dict[str, Any]
) -> None:
    # median motor distal amplitude 2.1 mV is below any adult LLN; FDI fibs 2 is abnormal
    r = client.post(
        "/upload", files={"files": ("study.json", json.dumps(example_study), "application/json")}
    )
    assert r.status_code == 200, r.text
    url = re.search(r'href="(/study/u\d+/demo-als-001)"', r.text).group(1)
    html = client.get(url).text
    # every value is followed by its printed limit (not a tooltip)
    amp = re.search(
        r'<td class="num abn">2\.1 mV</td><td class="num lim-col">≥ ([\d.]+) mV</td>', html
    )
    assert amp
    assert float(amp.group(1)) > 2.1
    assert '<td class="num abn">2+</td>' in html  # fibrillations written "2+"
    # a normal value is not highlighted: ulnar motor amplitude 7.8 mV
    assert re.search(r'<td class="num">7\.8 mV</td><td class="num lim-col">≥ [\d.]+ mV</td>', html)
    assert "title=" not in html.split('id="ncs"')[1].split("</section>")[0]


def test_upload_errors_shown_row_by_row(client: Any, example_study: dict[str, Any]) -> None:
    example_study["ncs"][3]["latency_ms"] = "thirty"
    r = client.post(
        "/upload", files={"files": ("bad.json", json.dumps(example_study), "application/json")}
    )
    assert r.status_code == 422
    rows = re.findall(r"<tr class=\"sev-error\">(.*?)</tr>", r.text, flags=re.S)
    assert rows
    cells = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[0], flags=re.S)
    ]
    assert cells[0] == "error"
    assert "ncs" in cells[1]
    assert cells[2] == "4"
    assert cells[3] == "latency_ms"
    assert cells[4] == "thirty"
    assert cells[7] == "demo-als-001"


def test_everything_is_escaped(client: Any, example_study: dict[str, Any], caplog: Any) -> None:
    evil = "<script>alert(1)</script>"
    evil_name = "<b onmouseover=alert(3)>x.json"
    example_study["notes"] = f"{evil} patient note"
    example_study["site_id"] = "<img src=x onerror=alert(2)>"
    caplog.set_level(logging.DEBUG)
    r = client.post(
        "/upload", files={"files": (evil_name, json.dumps(example_study), "application/json")}
    )
    assert r.status_code == 200
    assert "<b onmouseover" not in r.text
    assert "&lt;b onmouseover=alert(3)&gt;x.json" in r.text
    url = re.search(r'href="(/study/u\d+/demo-als-001)"', r.text).group(1)
    html = client.get(url).text
    assert evil not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; patient note" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    listing = client.get("/").text
    assert "<b onmouseover" not in listing
    assert "patient note" not in caplog.text
    assert "onerror" not in caplog.text
    assert "onmouseover" not in caplog.text  # nor the client's file name


def test_zip_and_csv_uploads(client: Any, bundle_dir: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in ("studies", "ncs", "emg"):
            zf.write(bundle_dir / f"{name}.csv", f"{name}.csv")
    r = client.post("/upload", files={"files": ("bundle.zip", buf.getvalue(), "application/zip")})
    assert r.status_code == 200, r.text
    assert "12 studies read" in re.sub(r"\s+", " ", r.text)
    files = [
        ("files", (f"{n}.csv", (bundle_dir / f"{n}.csv").read_bytes(), "text/csv"))
        for n in ("studies", "ncs", "emg")
    ]
    r = client.post("/upload", files=files)
    assert r.status_code == 200, r.text
    pq = bundle_dir.parent / "parquet"
    write_bundle(load_bundle(bundle_dir)[0], pq, fmt="parquet")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in ("studies", "ncs", "emg"):
            zf.write(pq / f"{name}.parquet", f"{name}.parquet")
    r = client.post(
        "/upload", files={"files": ("bundle-parquet.zip", buf.getvalue(), "application/zip")}
    )
    assert r.status_code == 200, r.text
    assert "12 valid and predicted" in re.sub(r"\s+|</?strong>", " ", r.text).replace("  ", " ")
    r = client.post("/upload", files={"files": ("notes.txt", b"hello", "text/plain")})
    assert r.status_code == 422
    assert "Unsupported file name or type" in r.text


def test_upload_too_large_is_413(client: Any, app_settings: Any) -> None:
    big = b"x" * (app_settings.max_upload_bytes + 1)
    r = client.post("/upload", files={"files": ("big.json", big, "application/json")})
    assert r.status_code == 413
    assert "larger than the limit" in r.text


def test_streamed_upload_without_length_is_413(client: Any, app_settings: Any) -> None:
    boundary = "bnd"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="s.json"\r\n'
        "Content-Type: application/json\r\n\r\n"
    ).encode()

    def chunks() -> Any:
        yield head
        for _ in range(app_settings.max_upload_bytes // 10_000 + 2):
            yield b"x" * 10_000
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post(
        "/upload",
        content=chunks(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413
    assert "larger than the limit" in r.text
    r = client.post(
        "/api/predict",
        content=(b"x" * 10_000 for _ in range(30)),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["errors"][0]["expected"] == f"at most {app_settings.max_upload_bytes} bytes"


def test_unknown_study_is_404_page(client: Any) -> None:
    r = client.get("/study/bundle/no-such-study")
    assert r.status_code == 404
    assert "not loaded" in r.text
    assert "<html" in r.text


def test_unknown_paths_answer_in_their_own_form(client: Any) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    api = client.get("/api/no-such-endpoint")
    assert api.status_code == 404
    assert api.json()["errors"][0]["cause"] == "Not Found"
    form = client.get("/upload")
    assert form.status_code == 200
    assert 'id="upload-form"' in form.text


def test_partly_invalid_upload_predicts_the_valid_study(
    client: Any, example_study: dict[str, Any]
) -> None:
    bad = json.loads(json.dumps(example_study))
    bad["study_id"] = "demo-bad"
    bad["emg"][0]["fibs"] = 7  # grades are 0-4
    r = client.post(
        "/upload",
        files={"files": ("two.json", json.dumps([example_study, bad]), "application/json")},
    )
    assert r.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", r.text))
    assert "2 studies read, 1 valid and predicted, 1 with errors" in text
    key = re.search(r'href="/study/(u\d+)/demo-bad"', r.text).group(1)
    good = client.get(f"/study/{key}/demo-als-001").text
    assert 'id="diagnosis"' in good
    page = client.get(f"/study/{key}/demo-bad").text
    assert "was not predicted" in page
    assert 'id="diagnosis"' not in page
    row = re.search(r'<tr class="sev-error">(.*?)</tr>', page, flags=re.S).group(1)
    assert "fibs" in row
    assert "<code>7</code>" in row
    listing = client.get("/", params={"flag": "invalid"}).text
    assert "demo-bad" in listing
    assert "not predicted: validation errors" in listing


def test_footer_states_which_class_mix_the_probabilities_assume(client):
    page = client.get("/").text
    assert "Probabilities assume the class mix the model was trained on." in page


def test_general_lab_prior_is_stated_and_moves_probabilities_towards_normal(
    app_settings, client, example_study
):
    from fastapi.testclient import TestClient

    from app.main import create_app

    settings = app_settings.model_copy(update={"prior": "general_lab", "bundle": None})
    with TestClient(create_app(settings)) as general:
        assert "restated for a general EMG lab" in general.get("/").text
        p_general = general.post("/api/predict", json=example_study).json()["predictions"][0]
    p_train = client.post("/api/predict", json=example_study).json()["predictions"][0]
    assert p_general["probabilities"]["normal"] > p_train["probabilities"]["normal"]
