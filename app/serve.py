"""``emgdx serve``: start the clinicians' web page and JSON API (loopback by default)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from features.vocab import PRIORS

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``emgdx serve`` (defaults come from ``EMGDX_*`` settings)."""
    parser = argparse.ArgumentParser(
        prog="emgdx serve",
        description="Serve the study list, study pages and the JSON API (decision support, not a diagnosis).",
    )
    parser.add_argument(
        "--host", default=None, help="interface (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=int, default=None, help="TCP port (default 8000)")
    parser.add_argument(
        "--model",
        default=None,
        help="model directory or MLflow URI (default: models:/emgdx@champion if registered, else data/model)",
    )
    parser.add_argument(
        "--bundle",
        type=Path,
        default=None,
        help="study bundle folder to list (default: data/validated if present)",
    )
    parser.add_argument(
        "--top-k", type=int, default=None, help="findings explained per study (default 8)"
    )
    parser.add_argument(
        "--prior",
        choices=PRIORS,
        default=None,
        help="class prevalence of the probabilities: training (default) or general_lab",
    )
    parser.add_argument(
        "--max-upload-mb", type=float, default=None, help="upload size limit in MB (default 20)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes (default 1; 0: one per core; each loads the model)",
    )
    parser.add_argument(
        "--model-threads",
        type=int,
        default=None,
        help="LightGBM threads per prediction in each process (default: (cores - workers) / workers, at least 1)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, build the app and run uvicorn until interrupted."""
    import uvicorn

    from app.main import create_app, load_predictor
    from app.settings import Settings
    from models.errors import ReportedError

    args = build_parser().parse_args(argv)
    overrides = {
        "host": args.host,
        "port": args.port,
        "model": args.model,
        "bundle": args.bundle,
        "top_k": args.top_k,
        "prior": args.prior,
        "max_upload_bytes": None
        if args.max_upload_mb is None
        else int(args.max_upload_mb * 1024 * 1024),
        "workers": args.workers,
        "model_threads": args.model_threads,
    }
    given = {k: v for k, v in overrides.items() if v is not None}
    settings = Settings(**given)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if settings.host not in {"127.0.0.1", "localhost", "::1"}:
        log.warning(
            "listening on %s: sign-in cookies are plain HTTP unless EMGDX_SECURE_COOKIES is set "
            "behind a TLS proxy; expose it only on a trusted network",
            settings.host,
        )
    workers, threads = settings.worker_count(), settings.threads_per_worker()
    from app.auth import session_secret
    from app.db.migrate import upgrade
    from app.db.session import Database

    # before the workers start: the database exists, is migrated and holds the session key
    upgrade(settings.database())
    db = Database(settings.database())
    session_secret(db)
    db.dispose()
    try:  # before listening: a wrong model or an unreadable registry is one line, exit 2
        loaded = load_predictor(settings)
    except ReportedError as exc:
        sys.stderr.write(f"emgdx serve: {exc}\n")
        return 2
    log.info(
        "serving on http://%s:%d/ with %d worker(s) x %d model thread(s)",
        settings.host,
        settings.port,
        workers,
        threads,
    )
    if workers == 1:
        app: FastAPI | str = create_app(settings, loaded=loaded)
    else:
        # every worker process builds its app (and loads the model) from the environment
        for key, value in given.items():
            os.environ[f"EMGDX_{key.upper()}"] = str(value)
        os.environ["EMGDX_WORKERS"] = str(workers)
        os.environ["EMGDX_MODEL_THREADS"] = str(threads)
        # no library may start more threads than the worker's share of the cores
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, str(threads))
        app = "app.main:create_app"
    uvicorn.run(
        app,
        factory=workers > 1,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level="info",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
