"""The web app's database: studies received, predictions made, clinicians' verdicts, accounts.

SQLAlchemy 2 ORM models (:mod:`app.db.models`), the engine and sessions
(:mod:`app.db.session`), the Alembic migrations shipped in the package (:mod:`app.db.migrate`,
``migrations/``), ``emgdx db`` (:mod:`app.db.cli`) and the verdict export
(:mod:`app.db.export`). An SQLite file in the project by default, PostgreSQL by
``EMGDX_DATABASE_URL``. Pseudonymous: a study is stored as its validated bundle rows, which
hold no names (the data contract has none).
"""
