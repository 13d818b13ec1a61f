"""Deployment settings of the web page and JSON API (no training params live here).

Values come from keyword arguments, then ``EMGDX_*`` environment variables, then the
defaults below. Build the app with ``create_app(Settings(...))`` so tests pass their own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bundle.limits import ReadLimits

#: the registry alias tried first when no model source is configured
DEFAULT_MODEL_URI = "models:/emgdx@champion"
#: the DVC output tried next
DEFAULT_MODEL_DIR = Path("data/model")
#: the validated bundle of ``make run``, listed when no bundle folder is configured
DEFAULT_BUNDLE_DIR = Path("data/validated")


class Settings(BaseSettings):
    """Settings of ``emgdx serve``.

    Attributes
    ----------
    model : str | None
        Model source: an MLflow URI (``models:/emgdx@champion``, ``runs:/...``) or a model
        directory. ``None`` means the registry alias if registered, else ``data/model``.
    bundle : Path | None
        A study-bundle folder (or ``.zip``) listed on the start page. ``None`` means
        ``data/validated`` when it exists, else no bundle (uploads only).
    host : str
        Interface to listen on; loopback by default.
    port : int
        TCP port.
    max_upload_bytes : int
        Largest accepted request body (upload or API call), in bytes.
    max_expanded_bytes : int
        Largest total an uploaded zip may expand to, in bytes (declared and actual sizes are
        checked before and while reading, so a zip bomb is refused with 413).
    max_studies_per_request : int
        Studies one JSON document (API call or uploaded ``.json``) may hold.
    top_k : int
        Number of contributions explained per study.
    prior : str
        Class prevalence the probabilities are stated for: ``training`` (the model's calibrated
        output) or ``general_lab`` (a general EMG lab's referral mix, about 80 % normal).
    max_uploads : int
        Uploaded datasets kept in memory; the oldest is dropped beyond this.
    page_size : int
        Studies shown per page of the study list.
    workers : int
        Server processes (``emgdx serve``); 0 means one per core. Each loads its own model
        and batches only its own requests: one process (the default) batches best, and its
        Python work needs about one core at 200 requests/s (``benchmarks/README.md``).
    model_threads : int
        LightGBM threads per model call in each process; 0 means the cores left once each
        worker has one for its Python thread (at least 1), so the workers' threads never
        exceed the cores.
    predict_concurrency : int
        Uploads predicted at once in each process (a thread pool of that size); the others
        wait in order. One per process uses a core fully: more only adds GIL contention.
    max_batch_requests : int
        Most concurrent ``POST /api/predict`` requests one model call serves in each process
        (``app.batching``); 1 predicts every request on its own.
    database_url : str | None
        The verdicts database (``app.db``): ``sqlite:///FILE`` or
        ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB``; ``None`` means ``emgdx.db`` in the
        current directory (created and migrated at start).
    anonymous_read : bool
        Whether pages may be read without signing in, until an admin sets it on ``/admin``
        (the admin's choice, kept in the database, wins).
    login_max_failures : int
        Failed sign-ins allowed per user name and per client address within
        ``login_window_s`` seconds (then 429 until the window passes).
    login_window_s : float
        The window of ``login_max_failures``, in seconds.
    secure_cookies : bool
        Send the session cookie over HTTPS only (set it behind a TLS proxy).
    """

    model_config = SettingsConfigDict(env_prefix="EMGDX_", extra="ignore")

    model: str | None = None
    prior: Literal["training", "general_lab"] = "training"
    bundle: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    max_expanded_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    max_studies_per_request: int = Field(default=200, ge=1)
    top_k: int = Field(default=8, ge=1, le=50)
    max_uploads: int = Field(default=20, ge=1)
    page_size: int = Field(default=200, ge=1)
    workers: int = Field(default=1, ge=0)
    model_threads: int = Field(default=0, ge=0)
    predict_concurrency: int = Field(default=1, ge=1)
    max_batch_requests: int = Field(default=32, ge=1)
    database_url: str | None = None
    anonymous_read: bool = False
    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: float = Field(default=300.0, gt=0)
    secure_cookies: bool = False

    def worker_count(self) -> int:
        """Server processes to start: ``workers``, or one per core when it is 0."""
        return self.workers or max(os.cpu_count() or 1, 1)

    def threads_per_worker(self) -> int:
        """LightGBM threads per model call: ``model_threads``, or the cores left per worker.

        Each worker keeps one core for its Python thread (HTTP, validation, sentences; LightGBM
        releases the GIL, so both run at once): (cores - workers) / workers, at least 1.
        """
        cores, workers = os.cpu_count() or 1, self.worker_count()
        return self.model_threads or max((cores - workers) // workers, 1)

    def read_limits(self) -> ReadLimits:
        """The readers' limits for one request."""
        return ReadLimits(
            max_expanded_bytes=self.max_expanded_bytes,
            max_json_bytes=self.max_upload_bytes,
            max_json_studies=self.max_studies_per_request,
        )

    def database(self) -> str:
        """The database URL: ``database_url``, else ``sqlite:///<cwd>/emgdx.db``."""
        from app.db.session import default_url

        return self.database_url or default_url()

    def bundle_dir(self) -> Path | None:
        """The bundle folder to list: the configured one, else ``data/validated`` if present."""
        if self.bundle is not None:
            return self.bundle
        return DEFAULT_BUNDLE_DIR if DEFAULT_BUNDLE_DIR.exists() else None
