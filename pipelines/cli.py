"""The ``emgdx`` command: one entry point, one thin subcommand per stage.

Each subcommand is ``pipelines.<module>.main(argv)`` (or ``app.serve.main``); the module parses
its own arguments, so ``emgdx <stage> ...`` and ``python -m pipelines.<stage> ...`` are the same.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("pipelines.simulate", "write a simulated, labelled cohort as a study bundle"),
    "validate": ("pipelines.validate", "check a study bundle against the data contract"),
    "features": ("pipelines.featurize", "compute the per-study feature table of a bundle"),
    "split": ("pipelines.split", "patient-grouped train/validation/test and held-out-site splits"),
    "train": ("pipelines.train", "train LightGBM and the baselines, calibrate, log to MLflow"),
    "evaluate": ("pipelines.evaluate", "score models on the test and held-out-site splits"),
    "physiology": (
        "pipelines.physiology",
        "held-out physiology: train on part of the ranges, score on another",
    ),
    "clinical": ("pipelines.clinical", "grade the model on the textbook vignettes (clinical/)"),
    "register": ("pipelines.register", "register the model and move @champion if it is better"),
    "predict": ("pipelines.predict", "predict and explain every study of a bundle"),
    "serve": ("app.serve", "start the clinicians' web page and JSON API on 127.0.0.1"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: emgdx <command> [options]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run 'emgdx <command> --help' for the options of one command."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``emgdx <command> ...`` to the command's own ``main``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        sys.stdout.write(_usage() + "\n")
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        sys.stderr.write(f"emgdx: unknown command {name!r}.\n\n{_usage()}\n")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest))


if __name__ == "__main__":
    raise SystemExit(main())
