"""Session-wide test settings: no telemetry, no display, nothing written outside tmp dirs."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

# the web app's database (app/db): one throw-away SQLite file per test session, never the
# project's emgdx.db; tests written before accounts existed read pages anonymously (the tests of
# tests/app/test_verdicts*.py pass their own settings)
_DB_DIR = tempfile.mkdtemp(prefix="emgdx-test-db-")
os.environ.setdefault("EMGDX_DATABASE_URL", f"sqlite:///{_DB_DIR}/emgdx.db")
os.environ.setdefault("EMGDX_ANONYMOUS_READ", "true")
