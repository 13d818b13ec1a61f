"""Micro-batching of ``POST /api/predict``: concurrent requests share one model call.

One thread per server process takes the queued requests, validates their documents together
with exactly each one's own result (:func:`bundle.json_form.load_study_documents`: its
problems, rejects and row numbers stay its own), then predicts the valid studies of all of
them at once (:func:`models.service.predict_many`): under load a request costs a fraction of
a validation and of a model call, and a lone request waits for nobody. The policy is the
service's, unchanged.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from bundle.limits import ReadLimits
from models.service import PredictionResult, PredictsBundles, predict_many

log = logging.getLogger(__name__)


@dataclass
class _Request:
    document: Any
    top_k: int
    limits: ReadLimits
    future: Future[PredictionResult] = field(default_factory=Future)


class PredictionBatcher:
    """Predicts posted documents on one thread, up to ``max_batch`` requests per model call.

    Parameters
    ----------
    predictor : Predictor
        The loaded model.
    source : str
        Name of a posted document in its problems.
    max_batch : int
        Most requests predicted together (1: one model call per request).
    """

    def __init__(self, predictor: PredictsBundles, *, source: str, max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self._predictor, self._source, self._max_batch = predictor, source, max_batch
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="emgdx-batcher", daemon=True)
        self._thread.start()

    def submit(self, document: Any, *, top_k: int, limits: ReadLimits) -> Future[PredictionResult]:
        """Queue one parsed document; the future holds its :class:`PredictionResult`."""
        request = _Request(document, top_k, limits)
        self._queue.put(request)
        return request.future

    def close(self) -> None:
        """Stop the thread once the queued requests are done."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            for key in dict.fromkeys((r.top_k, r.limits) for r in batch):
                self._predict([r for r in batch if (r.top_k, r.limits) == key], *key)
            if stop:
                return

    def _predict(self, batch: list[_Request], top_k: int, limits: ReadLimits) -> None:
        from bundle.json_form import load_study_documents, load_study_json

        waiting = [r for r in batch if r.future.set_running_or_notify_cancel()]
        if not waiting:
            return
        try:  # the documents validated together, each with exactly its own result
            loaded = load_study_documents([r.document for r in waiting], self._source, limits)
        except Exception:  # noqa: BLE001 - find the request that fails, spare the others
            loaded, kept = [], []
            for r in waiting:
                try:
                    loaded.append(load_study_json(r.document, self._source, limits))
                    kept.append(r)
                except Exception as exc:  # noqa: BLE001 - that request's own failure
                    r.future.set_exception(exc)
            waiting = kept
        if not waiting:
            return
        try:
            results = predict_many(self._predictor, loaded, top_k=top_k)
        except Exception as exc:  # noqa: BLE001 - every request of the call learns of it
            log.error("prediction failed for a batch of %d requests", len(waiting))
            for r in waiting:
                r.future.set_exception(exc)
            return
        for r, result in zip(waiting, results, strict=True):
            r.future.set_result(result)
