"""Exit codes of ``emgdx``: 0 valid, 1 invalid input, 2 usage or internal error (``--debug``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emgdx import cli
from tests.bundle import corrupt

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"


def _bundle(tmp_path: Path, **files: bytes) -> Path:
    out = tmp_path / "b"
    out.mkdir()
    for p in (EXAMPLES / "bundle").iterdir():
        (out / p.name).write_bytes(files.get(p.stem, p.read_bytes()))
    return out


@pytest.mark.parametrize(
    "make",
    [
        lambda t: _bundle(
            t, studies=(EXAMPLES / "bundle" / "studies.csv").read_bytes().replace(b",", b";")
        ),
        lambda t: _bundle(t, ncs=b"\xff\xfe" + "x".encode("utf-16-le")),
        lambda t: (
            (t / "bomb.zip").write_bytes(corrupt.zip_bomb(1 << 20, declared=3 << 30))
            and t / "bomb.zip"
        ),
        lambda t: (t / "deep.json").write_text("[" * 50_000 + "]" * 50_000) and t / "deep.json",
        lambda t: (
            (t / "big.json").write_text('{"study_id": "a", "age_years": ' + "9" * 5000 + "}")
            and t / "big.json"
        ),
    ],
)
def test_invalid_input_exits_1_without_a_traceback(tmp_path: Path, make) -> None:  # noqa: ANN001
    path = make(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "emgdx", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr[-500:]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stdout.startswith("INVALID")


def test_valid_input_exits_0() -> None:
    assert cli.main(["validate", str(EXAMPLES / "bundle")]) == 0


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as err:
        cli.main(["validate", "--no-such-option"])
    assert err.value.code == 2
    assert cli.main(["no-such-command"]) == 2


def test_internal_error_exits_2_and_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pipelines.validate

    def broken(argv):  # noqa: ANN001, ANN202
        raise KeyError("a value from a patient row")

    monkeypatch.setattr(pipelines.validate, "main", broken)
    assert cli.main(["validate", str(EXAMPLES / "bundle")]) == 2
    err = capsys.readouterr().err
    assert "internal error (KeyError)" in err
    assert "patient row" not in err  # an exception's text may quote values: not shown
    with pytest.raises(KeyError):
        cli.main(["--debug", "validate", str(EXAMPLES / "bundle")])
