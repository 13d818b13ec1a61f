"""Verdicts in the database, on SQLite and on PostgreSQL (a server the test starts on loopback).

Covers the issue's "must show": signed out nothing is written (403), a POST without the CSRF
token is refused, a clinician's verdict is stored with user and UTC time and a second one keeps
the first, reading needs an account unless the admin allows it, failed sign-ins are limited,
and the review queue and the export show the latest verdict.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.app.verdict_fixtures import (
    add_user,
    csrf_of,
    make_app,
    postgres_server,  # noqa: F401  (fixture)
    sign_in,
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_client(
    request: pytest.FixtureRequest, tiny_model_dir: Path, bundle_dir: Path, tmp_path_factory: Any
) -> Any:
    """One app per backend for the module (building one costs seconds); accounts made once."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('verdicts') / 'verdicts.db'}"
    else:
        url = request.getfixturevalue("postgres_server").new_database()
    with TestClient(make_app(url, tiny_model_dir, bundle_dir)) as c:
        assert c.app.state.emgdx.bundle_ready.wait(120)
        add_user(c.app, "dr_a", "clinician")
        add_user(c.app, "viewer1", "viewer")
        add_user(c.app, "boss", "admin")
        yield c


@pytest.fixture
def app_client(shared_client: Any) -> Any:
    """The module's app with no study, verdict or setting stored, signed out, no failures."""
    from sqlalchemy import delete

    from app.auth import LoginLimiter
    from app.db.models import Prediction, Setting, Study, Verdict

    state = shared_client.app.state.emgdx
    with state.db.session() as s:
        for table in (Verdict, Prediction, Study):
            s.execute(delete(table))
        s.execute(delete(Setting).where(Setting.key == "anonymous_read"))
    state.limiter = LoginLimiter(state.settings.login_max_failures, state.settings.login_window_s)
    shared_client.cookies.clear()
    return shared_client


def _first_study(c: Any) -> str:
    return c.app.state.emgdx.store.get("bundle").study_ids[0]


def _post(c: Any, study_id: str, verdict: dict[str, Any], token: str | None) -> Any:
    headers = {} if token is None else {"X-CSRF-Token": token}
    return c.post(
        "/api/verdicts",
        json={"dataset": "bundle", "study_id": study_id, "verdict": verdict},
        headers=headers,
    )


def _count(c: Any) -> int:
    from app.db import records

    with c.app.state.emgdx.db.session() as s:
        return records.count_verdicts(s)


def test_signed_out_no_verdict_is_written_and_csrf_is_required(app_client: Any) -> None:
    c, sid = app_client, _first_study(app_client)
    r = _post(c, sid, {"conclusion": "normal"}, csrf_of(c))
    assert r.status_code == 403
    assert "Sign in" in r.text
    assert sign_in(c, "dr_a").status_code == 303
    assert _post(c, sid, {"conclusion": "normal"}, None).status_code == 403  # no CSRF token
    assert _post(c, sid, {"conclusion": "normal"}, "forged").status_code == 403
    form = c.post(f"/study/bundle/{sid}/verdict", data={"conclusion": "normal"})
    assert form.status_code == 403  # the form without its hidden token
    assert _count(c) == 0


def test_a_clinicians_verdict_is_kept_with_user_and_time_and_a_second_keeps_the_first(
    app_client: Any,
) -> None:
    c, sid = app_client, _first_study(app_client)
    sign_in(c, "dr_a")
    token = csrf_of(c)
    before = datetime.now(UTC)
    first = _post(c, sid, {"conclusion": "als", "agrees_with_model": False}, token)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["user"] == "dr_a"
    assert body["conclusion"] == "als"
    at = datetime.strptime(body["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before - timedelta(seconds=2) <= at <= datetime.now(UTC) + timedelta(seconds=2)
    form = c.post(
        f"/study/bundle/{sid}/verdict",
        data={
            "conclusion": "radiculopathy",
            "root_level": "l5",
            "side": "left",
            "confidence": "high",
            "comment": "paraspinals active",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert form.status_code == 303
    history = c.get(f"/api/verdicts/{sid}").json()
    assert [v["conclusion"] for v in history["verdicts"]] == ["als", "radiculopathy"]
    assert history["current"]["root_level"] == "L5"
    assert history["current"]["side"] == "left"
    assert history["verdicts"][0]["model_version"]  # the prediction it judged is stored
    page = c.get(f"/study/bundle/{sid}")
    assert page.text.count('class="verdict-row') == 2
    assert _count(c) == 2


def test_bad_verdicts_are_refused_with_the_reason(app_client: Any) -> None:
    c, sid = app_client, _first_study(app_client)
    sign_in(c, "dr_a")
    token = csrf_of(c)
    assert _post(c, sid, {"conclusion": "flu"}, token).status_code == 422
    assert _post(c, sid, {"conclusion": "out_of_scope"}, token).status_code == 422
    r = _post(c, sid, {"conclusion": "normal", "root_level": "L5"}, token)
    assert r.status_code == 422
    r = c.post(
        f"/study/bundle/{sid}/verdict",
        data={"conclusion": "radiculopathy", "root_level": "Z9", "csrf_token": token},
    )
    assert r.status_code == 422
    assert "spinal root" in r.text
    assert (
        _post(c, sid, {"conclusion": "out_of_scope", "out_of_scope_code": "nmj"}, token).status_code
        == 201
    )
    assert _count(c) == 1


def test_a_viewer_reads_but_cannot_write(app_client: Any) -> None:
    c, sid = app_client, _first_study(app_client)
    sign_in(c, "viewer1")
    assert c.get(f"/study/bundle/{sid}").status_code == 200
    r = _post(c, sid, {"conclusion": "normal"}, csrf_of(c))
    assert r.status_code == 403
    assert "viewer" in r.text


def test_reading_needs_an_account_until_the_admin_allows_it(app_client: Any) -> None:
    c = app_client
    r = c.get("/", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")
    assert c.get("/review", follow_redirects=False).status_code == 303
    assert c.post("/api/predict", json={}).status_code == 401
    assert c.get("/api/health").status_code == 200
    sign_in(c, "dr_a")
    assert c.get("/admin").status_code == 403  # a clinician is no admin
    c.post("/logout", data={"csrf_token": csrf_of(c)})
    sign_in(c, "boss")
    assert (
        c.post(
            "/admin",
            data={"anonymous_read": "on", "csrf_token": csrf_of(c)},
            follow_redirects=False,
        ).status_code
        == 303
    )
    c.post("/logout", data={"csrf_token": csrf_of(c)})
    assert c.get("/", follow_redirects=False).status_code == 200


def test_failed_sign_ins_are_rate_limited(app_client: Any) -> None:
    c = app_client
    for _ in range(5):
        assert sign_in(c, "dr_a", "wrong-password").status_code == 401
    assert sign_in(c, "dr_a").status_code == 429  # the right password, but too many failures
    assert sign_in(c, "boss").status_code == 429  # the same address is limited too


def test_the_limiter_counts_per_user_and_per_address() -> None:
    from app.auth import LoginLimiter

    lim = LoginLimiter(max_failures=2, window_s=60)
    for ip in ("10.0.0.1", "10.0.0.2"):
        lim.failed("alice", ip)
    assert lim.retry_after_s("alice", "10.0.0.3") > 0  # per user, whatever the address
    assert lim.retry_after_s("bob", "10.0.0.3") == 0
    lim.failed("bob", "10.0.0.9")
    lim.failed("carol", "10.0.0.9")
    assert lim.retry_after_s("dave", "10.0.0.9") > 0  # per address, whatever the user
    lim.succeeded("alice")
    assert lim.retry_after_s("alice", "10.0.0.3") == 0


def test_the_review_queue_lists_disagreements_with_the_model_version(app_client: Any) -> None:
    c = app_client
    ds = c.app.state.emgdx.store.get("bundle")
    sid = ds.study_ids[0]
    pred = ds.predictions[sid]
    other = next(k for k in ("normal", "als", "myopathy") if k != pred.diagnosis)
    sign_in(c, "dr_a")
    token = csrf_of(c)
    assert _post(c, sid, {"conclusion": other}, token).json()["agrees_with_model"] is False
    page = c.get("/review?reason=disagreement")
    assert page.status_code == 200
    assert f'data-study="{sid}"' in page.text
    assert pred.model_version in page.text
    assert page.text.count('class="queue-row"') == 1
    # the clinician changes their mind: the latest verdict agrees, the study leaves the queue
    _post(c, sid, {"conclusion": pred.diagnosis}, token)
    assert f'data-study="{sid}"' not in c.get("/review?reason=disagreement").text
    # every flagged study is queued; sorted by probability, highest first when asked
    flagged = [p for p in ds.predictions.values() if p.low_confidence or p.unlike_training_data]
    text = c.get("/review?sort=probability&order=desc").text
    probs = [
        float(x) for x in re.findall(r'class="queue-row" data-study="[^"]+" data-p="([^"]+)"', text)
    ]
    assert len(probs) == len(flagged)  # the agreed study left; the flagged ones stay
    assert probs == sorted(probs, reverse=True)
    text = c.get("/review?sort=probability&order=asc").text
    asc = [float(x) for x in re.findall(r'data-p="([^"]+)"', text)]
    assert asc == sorted(probs)


def test_export_writes_the_latest_verdict_as_diagnosis(app_client: Any, tmp_path: Path) -> None:
    from app.db.export import export_verdicts
    from bundle.load import load_bundle

    c = app_client
    ids = c.app.state.emgdx.store.get("bundle").study_ids
    sign_in(c, "dr_a")
    token = csrf_of(c)
    _post(c, ids[0], {"conclusion": "als"}, token)
    _post(c, ids[0], {"conclusion": "myopathy"}, token)
    _post(c, ids[1], {"conclusion": "insufficient"}, token)
    _post(c, ids[2], {"conclusion": "demyelinating_pn"}, token)
    summary = export_verdicts(c.app.state.emgdx.db, tmp_path / "export")
    assert summary.n_studies == 2
    assert summary.left_out == {"insufficient": 1}
    bundle, report = load_bundle(tmp_path / "export")
    assert report.ok, report.format()
    got = dict(zip(bundle.studies["study_id"], bundle.studies["diagnosis"], strict=True))
    assert got == {ids[0]: "myopathy", ids[2]: "demyelinating_pn"}
    assert bundle.studies["site_id"].notna().all()
    source = c.app.state.emgdx.store.get("bundle").bundle
    assert len(bundle.ncs) == int(source.ncs["study_id"].isin([ids[0], ids[2]]).sum())


def test_a_signed_in_upload_needs_the_csrf_token(app_client: Any, example_study: Any) -> None:
    import json

    c = app_client
    sign_in(c, "dr_a")
    files = {"files": ("one.json", json.dumps(example_study), "application/json")}
    assert c.post("/upload", files=files).status_code == 403
    ok = c.post("/upload", files=files, data={"csrf_token": csrf_of(c)})
    assert ok.status_code == 200
