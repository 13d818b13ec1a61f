"""Hostile uploads and API calls: 4xx with the problems, never 500; a zip bomb refused early."""

from __future__ import annotations

import copy
import io
import json
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.bundle import corrupt


def _post_zip(client: Any, data: bytes, name: str = "bundle.zip") -> Any:
    return client.post("/upload", files=[("files", (name, data, "application/zip"))])


class _PeakRss:
    """Sample this process's RSS every few milliseconds while the block runs."""

    def __enter__(self) -> _PeakRss:
        self._proc = psutil.Process()
        self.baseline = self._proc.memory_info().rss
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(0.002)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 1e6


@pytest.mark.parametrize("declared", ["honest", "lying"])
def test_zip_bomb_is_refused_before_memory_grows(big_client: Any, declared: str) -> None:
    """A 1 MB zip that expands to 1 GiB: 413 (declared size) or 422 (lying), < 100 MB more RSS."""
    bomb = corrupt.zip_bomb(1 << 30, declared=None if declared == "honest" else 100)
    assert len(bomb) < 1_100_000
    with _PeakRss() as rss:
        r = _post_zip(big_client, bomb)
    assert r.status_code in (413, 422), r.status_code
    assert "larger than the limit" not in r.text  # the zip was read, not refused as a body
    assert rss.growth_mb < 100, f"RSS grew by {rss.growth_mb:.0f} MB"
    if declared == "honest":
        assert r.status_code == 413
        assert "would expand to" in r.text
    else:
        assert "corrupt" in r.text or "size limit" in r.text


@pytest.mark.parametrize(
    "op", ["encrypted", "deflate64", "corrupt_deflate", "truncated", "two_bundles", "not_zip"]
)
def test_zip_tricks_are_problems_not_server_errors(
    client: Any, bundle_dir: Path, op: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {p.name: p.read_bytes() for p in sorted(bundle_dir.iterdir())}
    rng = __import__("random").Random(0)
    monkeypatch.setattr(rng, "choice", lambda seq: op if op in seq else seq[0])
    data, _ = corrupt._zip_case(rng, files)
    r = _post_zip(client, data)
    assert r.status_code == 422, r.status_code
    assert "Traceback" not in r.text


def test_api_predicts_the_valid_studies_and_lists_the_rejected(
    client: Any, example_study: dict[str, Any]
) -> None:
    good = copy.deepcopy(example_study)
    bad = copy.deepcopy(example_study)
    bad["study_id"] = "bad-1"
    bad["age_years"] = True  # a boolean is not an age
    anonymous = copy.deepcopy(example_study)
    del anonymous["study_id"]
    r = client.post("/api/predict", json=[good, bad, anonymous])
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["study_id"] for p in body["predictions"]] == [good["study_id"]]
    rejected = {x["study_id"]: x["problems"] for x in body["rejected"]}
    assert set(rejected) == {"bad-1", None}
    (age,) = [p for p in rejected["bad-1"] if p["column"] == "age_years"]
    assert age["kind"] == "bad_number"
    assert any(p["column"] == "study_id" and p["row"] == 3 for p in rejected[None])


def test_api_refuses_too_many_studies_quickly(
    big_client: Any, example_study: dict[str, Any]
) -> None:
    """The issue's case: a 0.4 MB list of 10,000 small studies (it cost 90 s of CPU)."""
    small = {"age_years": 61, "sex": "M", "ncs": [example_study["ncs"][0]]}
    docs = [{"study_id": f"s{i}", **small} for i in range(10_000)]
    body = json.dumps(docs, separators=(",", ":")).encode()
    assert len(body) < 20 * 1024 * 1024
    t0 = time.perf_counter()
    r = big_client.post("/api/predict", content=body, headers={"content-type": "application/json"})
    seconds = time.perf_counter() - t0
    assert r.status_code == 413
    assert "larger than the limit" not in r.text
    assert "at most 200 studies" in r.text
    assert seconds < 10


@pytest.mark.parametrize(
    ("text", "status", "needle"),
    [
        ('{"study_id": "x", "age_years": ' + "9" * 5000 + "}", 422, "bad_number"),
        ('{"study_id": "x", "age_years": 1e400}', 422, "bad_number"),
        ('{"study_id": "x", "age_years": NaN}', 422, "bad_number"),
        ('{"study_id": "x", "deep": ' + "[" * 50_000 + "]" * 50_000 + "}", 413, "levels deep"),
        ('{"study_id": "x", "study_id": "y"}', 422, "given twice"),
        ("\ufeff{", 422, "valid JSON"),
    ],
)
def test_api_hostile_json_is_a_clear_4xx(client: Any, text: str, status: int, needle: str) -> None:
    r = client.post(
        "/api/predict", content=text.encode(), headers={"content-type": "application/json"}
    )
    assert r.status_code == status, r.text[:300]
    assert needle in r.text
    assert len(r.text) < 20_000  # long values are cut in problems


def test_upload_of_a_json_with_bad_types_is_422(big_client: Any) -> None:
    doc = {
        "study_id": "x",
        "age_years": 50,
        "ncs": [],
        "emg": [{"muscle": "deltoid", "side": "R", "psw": True}],
    }
    r = big_client.post(
        "/upload", files=[("files", ("s.json", json.dumps(doc).encode(), "application/json"))]
    )
    assert r.status_code == 422
    assert "psw" in r.text


def test_encrypted_zip_through_the_library_is_a_problem(tmp_path: Path) -> None:
    from bundle.load import load_bundle

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("studies.csv", "study_id,age_years\ns1,50\n")
    data = bytearray(buf.getvalue())
    data[6] |= 1  # local header: encrypted
    data[data.find(b"PK\x01\x02") + 8] |= 1  # central directory: encrypted
    (tmp_path / "b.zip").write_bytes(bytes(data))
    _, report = load_bundle(tmp_path / "b.zip")
    (p,) = report.problems
    assert "encrypted" in p.expected
    assert p.file == "b.zip:studies.csv"
