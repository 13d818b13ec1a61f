"""``POST /api/predict`` under load: many concurrent clients against ``emgdx serve`` on loopback.

``python -m benchmarks.bench_load --model DIR [--workers 1] [--model-threads 0]
[--concurrency 50] [--requests 500] [--rounds 3] [--out FILE]``

Starts ``emgdx serve`` on a free loopback port (a small listed bundle, so no background
prediction of a big one competes for the CPU), waits until every worker has loaded the model,
warms up, then per round:

* **burst**: ``concurrency`` requests sent at once (one study each, explanations included;
  each under its own ``study_id``, as from several clinicians, unless ``--same-study``);
* **sustained**: ``requests`` requests with at most ``concurrency`` in flight.

Latency is per request (send to full body read); throughput is requests over the round's wall
time. Figures are the median over rounds (the machine is shared: the 1-minute load average
before and after is recorded). The server is stopped at the end, whatever happens. Prints a
JSON document; exit 0 when the sustained median p95 is at most ``--target-p95-ms`` and the
throughput at least ``--target-rps``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STUDY = ROOT / "docs" / "examples" / "study.json"
SMALL_BUNDLE = ROOT / "docs" / "examples" / "bundle"
#: the verdicts database of the benchmarked server (a throw-away file, never the project's)
BENCH_DB = f"sqlite:///{Path(tempfile.gettempdir()) / 'emgdx-bench.db'}"
TARGET_P95_MS = 1000.0
TARGET_RPS = 40.0
#: a request that takes longer fails the benchmark instead of hanging it
REQUEST_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    model_dir: Path,
    port: int,
    workers: int,
    model_threads: int,
    max_batch: int,
    baseline_root: Path | None = None,
) -> subprocess.Popen[bytes]:
    """``emgdx serve`` on 127.0.0.1:``port`` in its own process group (stopped as a group).

    ``baseline_root``: serve another checkout's code instead (an export of an older commit,
    for a before/after figure in the same run); its own defaults, no worker options.
    """
    cmd = [sys.executable, "-m", "app.serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--model", str(model_dir), "--bundle", str(SMALL_BUNDLE)]
    env = dict(os.environ)
    # the API read anonymously, the verdicts database a temp file (never the project's)
    env["EMGDX_ANONYMOUS_READ"] = "true"
    env.setdefault("EMGDX_DATABASE_URL", BENCH_DB)
    if baseline_root is None:
        cmd += ["--workers", str(workers), "--model-threads", str(model_threads)]
        env["EMGDX_MAX_BATCH_REQUESTS"] = str(max_batch)
    else:
        env["PYTHONPATH"] = str(baseline_root)
    return subprocess.Popen(
        cmd,
        cwd=baseline_root or ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (uvicorn and its workers), then SIGKILL."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class LoopbackClient:
    """A minimal keep-alive HTTP/1.1 client: ``size`` connections, one request each at a time.

    Hand-written on asyncio streams so the client costs a fraction of a millisecond of CPU
    per request (httpx costs about 4 ms, taken from the same two cores as the server).
    """

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port, self.size = host, port, size
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self._opened = 0

    async def post(self, path: str, body: bytes) -> int:
        """POST ``body`` as JSON; the status code once the whole response is read."""
        if self._idle.empty() and self._opened < self.size:
            conn = await asyncio.open_connection(self.host, self.port)
            self._opened += 1
        else:
            conn = await self._idle.get()
        reader, writer = conn
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            writer.write(head.encode() + body)
            status_line = await reader.readline()
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and "close" in value.lower():
                    close = True
            await reader.readexactly(length)
        except Exception:
            writer.close()
            self._opened -= 1
            raise
        if close:
            writer.close()
            self._opened -= 1
        else:
            self._idle.put_nowait(conn)
        return int(status_line.split()[1])

    async def close(self) -> None:
        """Close the idle connections."""
        while not self._idle.empty():
            _, writer = self._idle.get_nowait()
            writer.close()


async def _wait_ready(
    client: LoopbackClient, proc: subprocess.Popen[bytes], bodies: Bodies, timeout_s: float
) -> None:
    """Until a burst of predictions succeeds everywhere (every worker has its model)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("emgdx serve exited during start-up")
        try:
            statuses = await asyncio.gather(*(_post(client, bodies.next()) for _ in range(8)))
            if all(s == 200 for s, _ in statuses):
                return
        except (OSError, TimeoutError):  # not listening yet
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError("emgdx serve did not answer within the start-up time")


class Bodies:
    """Request bodies: the study under a new study_id each time (distinct studies, as from
    several clinicians), or the same body every time (``same=True``)."""

    def __init__(self, doc: dict[str, Any], *, same: bool) -> None:
        self._doc, self._same, self._n = doc, same, 0

    def next(self) -> bytes:
        """The next body."""
        self._n += 1
        if self._same:
            return json.dumps(self._doc).encode()
        return json.dumps({**self._doc, "study_id": f"load-{self._n}"}).encode()


async def _post(client: LoopbackClient, body: bytes) -> tuple[int, float]:
    t0 = time.perf_counter()
    status = await asyncio.wait_for(client.post("/api/predict", body), REQUEST_TIMEOUT_S)
    return status, time.perf_counter() - t0


async def _round(
    client: LoopbackClient, bodies: Bodies, n: int, concurrency: int
) -> dict[str, float]:
    """``n`` requests with at most ``concurrency`` in flight: latency percentiles, throughput."""
    gate = asyncio.Semaphore(concurrency)

    async def one(body: bytes) -> tuple[int, float]:
        async with gate:
            return await _post(client, body)

    t0 = time.perf_counter()
    results = await asyncio.gather(*(one(bodies.next()) for _ in range(n)))
    wall = time.perf_counter() - t0
    ms = np.array([t for _, t in results]) * 1000.0
    failed = sum(1 for s, _ in results if s != 200)
    return {
        "n": n,
        "failed": failed,
        "p50_ms": float(np.median(ms)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(ms.max()),
        "requests_per_s": n / wall,
    }


def _median(rounds: list[dict[str, float]]) -> dict[str, float]:
    keys = ("p50_ms", "p95_ms", "max_ms", "requests_per_s")
    out = {k: round(float(np.median([r[k] for r in rounds])), 1) for k in keys}
    out["failed"] = int(sum(r["failed"] for r in rounds))
    out["rounds"] = len(rounds)
    return out


def server_cpu_s(proc: subprocess.Popen[bytes]) -> float:
    """CPU seconds (user + system) used so far by the server and its worker processes."""
    import psutil

    total = 0.0
    try:
        root = psutil.Process(proc.pid)
        for p in [root, *root.children(recursive=True)]:
            t = p.cpu_times()
            total += t.user + t.system
    except psutil.Error:
        pass
    return total


async def _measure(
    port: int,
    proc: subprocess.Popen[bytes],
    bodies: Bodies,
    *,
    concurrency: int,
    requests: int,
    rounds: int,
) -> dict[str, Any]:
    client = LoopbackClient("127.0.0.1", port, concurrency)
    try:
        await _wait_ready(client, proc, bodies, timeout_s=120)
        await _round(client, bodies, 2 * concurrency, concurrency)  # warm-up: connections
        burst, sustained = [], []
        cpu0, server0, n = time.process_time(), server_cpu_s(proc), 0
        for _ in range(rounds):
            burst.append(await _round(client, bodies, concurrency, concurrency))
            sustained.append(await _round(client, bodies, requests, concurrency))
            n += concurrency + requests
        server_ms = (server_cpu_s(proc) - server0) * 1000.0 / n
    finally:
        await client.close()
    client_ms = (time.process_time() - cpu0) * 1000.0 / n
    return {
        "burst": _median(burst),
        "sustained": _median(sustained),
        "client_cpu_ms_per_request": round(client_ms, 2),
        "server_cpu_ms_per_request": round(server_ms, 2),
    }


def run_benchmark(
    model_dir: Path,
    doc: dict[str, Any],
    *,
    workers: int,
    model_threads: int,
    max_batch: int = 32,
    concurrency: int = 50,
    requests: int = 500,
    rounds: int = 3,
    baseline_root: Path | None = None,
    same_study: bool = False,
) -> dict[str, Any]:
    """Start the server, measure burst and sustained load, stop the server."""
    port = _free_port()
    load0 = os.getloadavg()[0]
    proc = start_server(model_dir, port, workers, model_threads, max_batch, baseline_root)
    bodies = Bodies(doc, same=same_study)
    try:
        figures = asyncio.run(
            _measure(
                port,
                proc,
                bodies,
                concurrency=concurrency,
                requests=requests,
                rounds=rounds,
            )
        )
    finally:
        stop_server(proc)
    return {
        "endpoint": "POST /api/predict (one study, explanations included), loopback",
        "model_dir": str(model_dir),
        "cpu_count": os.cpu_count(),
        "server": {"baseline": str(baseline_root)}
        if baseline_root
        else {"workers": workers, "model_threads": model_threads, "max_batch_requests": max_batch},
        "client": {
            "concurrency": concurrency,
            "sustained_requests": requests,
            "rounds": rounds,
            "bodies": "the same study every time" if same_study else "a new study_id each",
        },
        "load_average_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
        **figures,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the load benchmark and print (and optionally write) its JSON figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_load", description=__doc__)
    parser.add_argument("--model", type=Path, default=None, help="model dir (default: tiny)")
    parser.add_argument("--study", type=Path, default=DEFAULT_STUDY, help="study JSON to post")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument(
        "--model-threads", type=int, default=0, help="LightGBM threads (0: cores / workers)"
    )
    parser.add_argument("--max-batch", type=int, default=32, help="requests per model call")
    parser.add_argument(
        "--baseline-root",
        type=Path,
        default=None,
        help="serve this checkout's code instead (e.g. `git archive` of an older commit)",
    )
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight")
    parser.add_argument("--requests", type=int, default=500, help="requests per sustained round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--same-study",
        action="store_true",
        help="post the identical document every time (default: a new study_id per request)",
    )
    parser.add_argument("--target-p95-ms", type=float, default=TARGET_P95_MS)
    parser.add_argument("--target-rps", type=float, default=TARGET_RPS)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    doc = json.loads(args.study.read_text())
    model_dir = args.model
    if model_dir is None:
        import tempfile

        from tests.helpers.tiny import make_tiny_model

        model_dir = make_tiny_model(Path(tempfile.mkdtemp(prefix="emgdx-load-")) / "model")
    result = run_benchmark(
        model_dir,
        doc,
        workers=args.workers,
        model_threads=args.model_threads,
        max_batch=args.max_batch,
        baseline_root=args.baseline_root,
        same_study=args.same_study,
        concurrency=args.concurrency,
        requests=args.requests,
        rounds=args.rounds,
    )
    s = result["sustained"]
    result["target"] = {"p95_ms": args.target_p95_ms, "requests_per_s": args.target_rps}
    result["meets_target"] = bool(
        s["failed"] == 0
        and s["p95_ms"] <= args.target_p95_ms
        and s["requests_per_s"] >= args.target_rps
        and result["burst"]["p95_ms"] <= args.target_p95_ms
    )
    text = json.dumps(result, indent=2)
    sys.stdout.write(text + "\n")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
