"""Write benchmark results: ``results.json``, ``results.md`` and ``cost_vs_size.png``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _get(d: dict[str, Any] | None, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def markdown(results: dict[str, Any]) -> str:
    """The summary tables as Markdown."""
    m = results["machine"]
    lines = [
        "# emgdx benchmarks",
        "",
        f"{m['date_utc']}, git {m['git_commit']}, {m['platform']}, Python {m['python']}, "
        f"{m['cpu_count']} cores, {m['memory_gb']} GB; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + f". Model: {results.get('model')}.",
        "",
        "Wall-clock timings, one run each, on a machine shared with other jobs: the 1-minute "
        "load average before/after each stage is listed; above the core count the figures are "
        "contended (slower than on an idle machine).",
        "",
    ]
    lines += [f"* {note}" for note in results.get("notes", [])]
    if results.get("notes"):
        lines.append("")
    if results.get("scale"):
        lines += [
            "## Scale: simulate -> validate -> features -> predict, Parquet in and out, chunks of whole studies",
            "",
            "| studies | NCS rows | EMG rows | simulate studies/s | simulate peak MB | validate s | features s | predict s | chunked total s | chunked studies/s | chunked peak MB | load |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in results["scale"]:
            s, c = r["simulate"], r["chunked"]
            sec = c.get("seconds", {})
            lines.append(
                f"| {r['n_studies']:,} | {c.get('ncs_rows', '')} | {c.get('emg_rows', '')} | "
                f"{s.get('studies_per_s')} | {s.get('peak_rss_mb')} | {sec.get('validate')} | "
                f"{sec.get('features')} | {sec.get('predict')} | {sec.get('total')} | "
                f"{_get(c, 'studies_per_s', 'total')} | {c.get('peak_rss_mb')} | "
                f"{s.get('load_average_1min')} / {c.get('load_average_1min')} |"
            )
        lines.append("")
    if results.get("features"):
        lines += [
            "## Features (in memory, `features.build.build_features`)",
            "",
            "| studies | NCS rows | EMG rows | features | seconds | studies/s | peak MB | load |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in results["features"]:
            lines.append(
                f"| {r.get('n_studies', '')} | {r.get('ncs_rows', '')} | {r.get('emg_rows', '')} | "
                f"{r.get('n_features', '')} | {r.get('seconds', '')} | {r.get('studies_per_s', '')} | "
                f"{r.get('peak_rss_mb', '')} | {r.get('load_average_1min', '')} |"
            )
        peer = _get(results["features"][0], "peer")
        if peer:
            lines += [
                "",
                f"Per-study pandas peer (`groupby('study_id').apply`, {peer['features_compared']} "
                f"of the features, agrees with build_features: {peer['agrees_with_build_features']}) on "
                f"the same {peer['n_studies']:,} studies: peer {peer['peer_studies_per_s']} studies/s "
                f"for {peer['features_compared']} features vs build_features "
                f"{peer['engine_studies_per_s']} studies/s for all features: "
                f"**{peer['ratio_engine_vs_peer']}x**.",
            ]
        lines.append("")
    if results.get("train"):
        lines += [
            "## Training: LightGBM vs scikit-learn HistGradientBoosting (same features, same 80/20 split)",
            "",
            "| studies | features | rounds | LightGBM s | LightGBM macro-F1 | HGB s | HGB macro-F1 | HGB/LightGBM time | peak MB | load |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in results["train"]:
            lg, hg = r.get("lightgbm", {}), r.get("sklearn_hist_gradient_boosting", {})
            note = f" ({r['note']})" if r.get("note") else ""
            lines.append(
                f"| {r.get('n_studies', '')}{note} | {r.get('n_features', '')} | {r.get('rounds', '')} | "
                f"{lg.get('fit_seconds')} | {lg.get('macro_f1')} | {hg.get('fit_seconds')} | "
                f"{hg.get('macro_f1')} | {r.get('ratio_hgb_vs_lightgbm_time')} | "
                f"{r.get('peak_rss_mb')} | {r.get('load_average_1min')} |"
            )
        lines.append("")
    for key, title in (
        ("predict", "Explained prediction (library)"),
        ("api", "Explained prediction (API)"),
        ("load", "POST /api/predict under load (50 in flight, loopback)"),
    ):
        if results.get(key):
            lines += [f"## {title}", "", "```json", json.dumps(results[key], indent=1), "```", ""]
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    """Seconds and peak memory against cohort size (log-log)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    scale = results.get("scale") or []
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    n = [r["n_studies"] for r in scale]
    series = {
        "simulate": [_get(r, "simulate", "seconds") for r in scale],
        "validate (chunked)": [_get(r, "chunked", "seconds", "validate") for r in scale],
        "features (chunked)": [_get(r, "chunked", "seconds", "features") for r in scale],
        "predict (chunked)": [_get(r, "chunked", "seconds", "predict") for r in scale],
    }
    for label, ys in series.items():
        pts = [(x, y) for x, y in zip(n, ys, strict=True) if y]
        if pts:
            ax1.plot(*zip(*pts, strict=True), marker="o", label=label)
    # one point per size: a re-run replaces a run marked as contended
    train = sorted(
        (r for r in results.get("train") or [] if "contended" not in str(r.get("note", ""))),
        key=lambda r: r.get("n_studies", 0),
    )
    for key, label in (
        ("lightgbm", "train LightGBM"),
        ("sklearn_hist_gradient_boosting", "train HGB"),
    ):
        pts = [
            (r["n_studies"], _get(r, key, "fit_seconds"))
            for r in train
            if _get(r, key, "fit_seconds")
        ]
        if pts:
            ax1.plot(*zip(*pts, strict=True), marker="s", linestyle="--", label=label)
    ax1.set(xscale="log", yscale="log", xlabel="studies", ylabel="seconds", title="Time")
    ax1.legend(fontsize=7)
    for key, label in (("simulate", "simulate"), ("chunked", "validate+features+predict")):
        pts = [
            (r["n_studies"], _get(r, key, "peak_rss_mb"))
            for r in scale
            if _get(r, key, "peak_rss_mb")
        ]
        if pts:
            ax2.plot(*zip(*pts, strict=True), marker="o", label=label)
    ax2.axhline(8192, color="red", linestyle=":", label="8 GB budget")
    ax2.set(xscale="log", xlabel="studies", ylabel="peak RSS (MB)", title="Peak memory")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(results: dict[str, Any], out: Path) -> None:
    """Write the JSON, the Markdown summary and the plot into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(markdown(results))
    plot(results, out / "cost_vs_size.png")
