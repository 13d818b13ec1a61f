"""``emgdx users``, ``emgdx db`` and ``emgdx export-verdicts`` in process (SQLite in tmp)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app import users
from app.db import cli as db_cli
from app.db import export


def _add(url: str, name: str, role: str, password: str, mp: pytest.MonkeyPatch) -> int:
    mp.setattr("sys.stdin", io.StringIO(password + "\n"))
    argv = ["add", "--name", name, "--role", role, "--password-stdin", "--url", url]
    return users.main(argv)


def test_users_add_hashes_the_password_and_refuses_a_second_account_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import select

    from app.db.models import User
    from app.db.session import Database

    url = f"sqlite:///{tmp_path / 'u.db'}"
    assert _add(url, "dr_c", "clinician", "a-long-secret", monkeypatch) == 0
    assert _add(url, "dr_c", "admin", "another-secret", monkeypatch) == 1
    with pytest.raises(SystemExit):  # argparse: the role is not one of the three
        _add(url, "x", "superuser", "a-long-secret", monkeypatch)
    assert _add(url, "dr_d", "viewer", "short", monkeypatch) == 1
    out = capsys.readouterr()
    assert "exists already" in out.err
    assert "at least 8" in out.err
    assert "a-long-secret" not in out.out + out.err
    db = Database(url)
    with db.session() as s:
        rows = list(s.scalars(select(User)))
    db.dispose()
    assert [(u.name, u.role) for u in rows] == [("dr_c", "clinician")]
    assert rows[0].password_hash.startswith("$argon2")


def test_db_upgrade_and_current(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.db.migrate import head

    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert db_cli.main(["current", "--url", url]) == 0
    assert "at revision none" in capsys.readouterr().out
    assert db_cli.main(["upgrade", "--url", url]) == 0
    assert db_cli.main(["current", "--url", url]) == 0
    assert f"at revision {head()}" in capsys.readouterr().out


def test_export_with_no_verdict_exits_1_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    assert export.main(["--out", str(tmp_path / "out"), "--url", url]) == 1
    assert "no study has a verdict" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
